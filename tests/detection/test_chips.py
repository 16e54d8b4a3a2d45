"""Aligned chips cut from each face's surroundings (issue 17: a group photo's chips)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import facegender
from facegender.detection import default_aligner, face_finder
from facegender.detection.landmarks import _rectangle, _shape, face_chip, load_dlib, to_rgb

PHOTOS = [
    "detection/group/bald_guys.jpg",  # 24 faces, 94-294 px, on a 1986 px photo
    "detection/portraits/obama.jpg",  # one large face
]


@pytest.mark.parametrize("path", PHOTOS)
def test_a_chip_cut_from_its_surroundings_is_dlibs_chip_to_the_last_bit(
        shared_data: Path, path: str) -> None:
    dlib = load_dlib()
    image = facegender.read_image(shared_data / path)
    boxes = [b for b in face_finder().detect(image) if not b.angle]
    assert boxes
    rgb, predictor = to_rgb(image), default_aligner()._predictor()
    for box in boxes:
        shape = predictor(rgb, _rectangle(dlib, box))
        for size, padding in [(150, 0.25), (100, 0.4)]:
            whole = np.asarray(dlib.get_face_chip(rgb, shape, size, padding))
            np.testing.assert_array_equal(face_chip(dlib, rgb, shape, size, padding), whole)


def test_a_faces_chip_does_not_depend_on_the_other_faces(shared_data: Path) -> None:
    """dlib's ``get_face_chips`` shrinks every face of a photo through one pyramid; one of
    bald_guys' faces came out up to 10 grey levels different with the others than alone."""
    image = facegender.read_image(shared_data / "detection/group/bald_guys.jpg")
    boxes = face_finder().detect(image)
    together = default_aligner().chips(image, boxes, 150, 0.25)
    for i in (0, len(boxes) // 2, len(boxes) - 1):
        alone = default_aligner().chips(image, [boxes[i]], 150, 0.25)
        np.testing.assert_array_equal(together[i], alone[0])


def test_a_turned_faces_chip_is_dlibs_chip_of_its_upright_patch(shared_data: Path) -> None:
    import cv2

    dlib = load_dlib()
    image = cv2.rotate(facegender.read_image(shared_data / "detection/portraits/obama.jpg"),
                       cv2.ROTATE_90_CLOCKWISE)
    boxes = face_finder().detect(image)
    assert len(boxes) == 1 and boxes[0].angle
    patch, shape = _shape(dlib, default_aligner()._predictor(), to_rgb(image), boxes[0])
    np.testing.assert_array_equal(default_aligner().chips(image, boxes, 150, 0.25)[0],
                                  np.asarray(dlib.get_face_chip(patch, shape, 150, 0.25)))
