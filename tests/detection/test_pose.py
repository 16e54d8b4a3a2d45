"""The head's pose from the 5 landmarks: near zero facing the camera, the same however
the photo is turned, opposite signs in a mirror, large for a turned head."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from facegender.detection import default_aligner, face_finder, head_pose
from facegender.images import read_image


def pose_of(image: np.ndarray) -> np.ndarray:
    boxes = face_finder().detect(image)[:1]
    assert boxes
    return head_pose(default_aligner().landmarks(image, boxes))[0]


def test_frontal_face_turned_and_mirrored(astronaut: np.ndarray) -> None:
    yaw, pitch = pose_of(astronaut)
    assert abs(yaw) < 0.12 and 0.4 < pitch < 1.2
    turned_yaw, turned_pitch = pose_of(cv2.rotate(astronaut, cv2.ROTATE_90_CLOCKWISE))
    assert abs(turned_yaw - yaw) < 0.05 and abs(turned_pitch - pitch) < 0.1
    mirrored_yaw, _ = pose_of(astronaut[:, ::-1].copy())
    assert abs(mirrored_yaw + yaw) < 0.05


def test_a_head_turned_away_has_a_large_yaw(shared_data: Path) -> None:
    """Two UTKFace faces turned well away from the camera (looked at), against frontal
    portraits."""
    frontal = [abs(pose_of(read_image(shared_data / "detection/portraits/obama.jpg"))[0]),
               abs(pose_of(read_image(shared_data / "detection/portraits/biden.jpg"))[0])]
    turned = [abs(pose_of(read_image(shared_data / "utkface" / f))[0]) for f in (
        "male/49_0_0_20170109001612820.jpg.chip.jpg",
        "female/29_1_0_20170103181157688.jpg.chip.jpg")]
    assert max(frontal) < 0.15 and min(turned) > 0.3, (frontal, turned)


def test_no_points_no_pose() -> None:
    assert head_pose(np.zeros((0, 5, 2))).shape == (0, 2)
    assert np.isnan(head_pose(np.zeros((1, 5, 2)))).all()
