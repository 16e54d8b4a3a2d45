"""Detection on real photos: faces found where they are, none where there are none."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from facegender.detect import DetectorSettings, HaarDetector
from facegender.errors import BadRequest
from facegender.images import read_image
from facegender.types import Box


def test_finds_the_astronaut(astronaut: np.ndarray) -> None:
    boxes = HaarDetector().detect(astronaut)
    assert len(boxes) == 1
    # Eileen Collins' face is around x 170-280, y 60-180 in skimage's 512x512 image.
    assert boxes[0].iou(Box(175, 65, 100, 100)) > 0.5


def test_boxes_inside_image_and_in_original_pixels(astronaut: np.ndarray) -> None:
    big = cv2.resize(astronaut, (2048, 2048))
    boxes = HaarDetector().detect(big)
    assert len(boxes) == 1
    b = boxes[0]
    assert b.x >= 0 and b.y >= 0 and b.x + b.w <= 2048 and b.y + b.h <= 2048
    small = HaarDetector().detect(astronaut)[0]
    assert b.iou(Box(small.x * 4, small.y * 4, small.w * 4, small.h * 4)) > 0.7


def test_tight_crop_found_thanks_to_padding(astronaut: np.ndarray) -> None:
    face = astronaut[60:190, 165:290]  # the face fills the frame
    plain = HaarDetector(DetectorSettings(pad_fraction=0.0)).detect(face)
    padded = HaarDetector().detect(face)
    assert len(padded) == 1
    assert len(plain) <= len(padded)


def test_two_faces(group_photo) -> None:
    boxes = HaarDetector().detect(read_image(group_photo))
    assert len(boxes) >= 2
    assert boxes[0].area >= boxes[1].area


@pytest.mark.parametrize("name", ["coins.png", "page.png", "chelsea.png", "rocket.jpg"])
def test_no_face_photos(shared_data, name: str) -> None:
    image = read_image(shared_data / "detection" / "no_face" / name)
    assert HaarDetector().detect(image) == []


def test_blank_and_grayscale_inputs(astronaut: np.ndarray) -> None:
    det = HaarDetector()
    assert det.detect(np.zeros((50, 80, 3), np.uint8)) == []
    gray = cv2.cvtColor(astronaut, cv2.COLOR_BGR2GRAY)
    assert len(det.detect(gray)) == 1


def test_min_face_size_filters(astronaut: np.ndarray) -> None:
    assert HaarDetector().detect(astronaut, min_face_size=300) == []


def test_settings_validated() -> None:
    with pytest.raises(BadRequest, match="scale_factor=0.9"):
        HaarDetector(DetectorSettings(scale_factor=0.9))


def test_tilted_heads_found_by_the_turned_search(shared_data: Path) -> None:
    upright_only = HaarDetector(DetectorSettings(rotations=()))
    tuned = HaarDetector()
    chips = sorted((shared_data / "utkface" / "female").glob("*.jpg"))[:5]
    missed_upright = found = 0
    for path in chips:
        chip = read_image(path)
        h, w = chip.shape[:2]
        m = cv2.getRotationMatrix2D((w / 2, h / 2), 28, 1.0)
        tilted = cv2.warpAffine(chip, m, (w, h), borderMode=cv2.BORDER_REPLICATE)
        missed_upright += not upright_only.detect(tilted)
        boxes = tuned.detect(tilted)
        if boxes:
            cx, cy = boxes[0].x + boxes[0].w / 2, boxes[0].y + boxes[0].h / 2
            found += abs(cx - w / 2) < w / 4 and abs(cy - h / 2) < h / 4
    assert missed_upright >= 4  # the cascade alone misses a head tilted by 28 degrees
    assert found == 5
