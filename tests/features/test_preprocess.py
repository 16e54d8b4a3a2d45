"""Cropping and preprocessing: one function, fixed shape and range, square crops in bounds."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from facegender.features.preprocess import (
    ALIGN_PADDING,
    FACE_SIZE,
    crop_face,
    face_images,
    preprocess,
    preprocess_batch,
    square_box,
)
from facegender.types import Box


def test_preprocess_shape_range(astronaut: np.ndarray) -> None:
    out = preprocess(astronaut[60:190, 165:290])
    assert out.shape == (100, 100) and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0 and out.std() > 0.1


def test_preprocess_is_deterministic_and_color_free(astronaut: np.ndarray) -> None:
    import cv2

    face = astronaut[60:190, 165:290]
    gray = cv2.cvtColor(face, cv2.COLOR_BGR2GRAY)
    np.testing.assert_array_equal(preprocess(face), preprocess(gray))


def test_illumination_normalised(astronaut: np.ndarray) -> None:
    face = astronaut[60:190, 165:290]
    dark = (face * 0.4).astype(np.uint8)
    diff = np.abs(preprocess(face) - preprocess(dark)).mean()
    raw_diff = np.abs(face.mean() - dark.mean()) / 255
    assert diff < raw_diff / 2


@pytest.mark.parametrize("box", [Box(0, 0, 40, 60), Box(480, 480, 32, 32), Box(100, 200, 80, 50)])
def test_square_box_fits(box: Box) -> None:
    sq = square_box(box, 512, 512)
    assert sq.w == sq.h
    assert sq.x >= 0 and sq.x + sq.w <= 512 and sq.y >= 0 and sq.y + sq.h <= 512
    assert sq.w >= max(box.w, box.h)


def test_crop_face_square(astronaut: np.ndarray) -> None:
    crop = crop_face(astronaut, Box(176, 65, 97, 97))
    assert crop.shape[0] == crop.shape[1] and crop.shape[2] == 3


def test_batch_empty() -> None:
    assert preprocess_batch([]).shape == (0, 10000)


def test_aligned_chip_undoes_a_tilt(astronaut: np.ndarray) -> None:
    """Landmark alignment puts the eyes level: a face turned 20 degrees gives nearly the
    same chip, where the square crop of the same box changes a lot."""
    from facegender.detection.dlib_chain import DlibDetector

    (box,) = DlibDetector().detect(astronaut)
    h, w = astronaut.shape[:2]
    turn = cv2.getRotationMatrix2D((box.x + box.w / 2, box.y + box.h / 2), 20, 1.0)
    tilted = cv2.warpAffine(astronaut, turn, (w, h), borderMode=cv2.BORDER_REPLICATE)

    def diff(align: float | None) -> float:
        a, b = (preprocess(face_images(img, [box], align)[0]) for img in (astronaut, tilted))
        return float(np.abs(a - b).mean())

    chip = face_images(astronaut, [box], ALIGN_PADDING)[0]
    assert chip.shape == (FACE_SIZE, FACE_SIZE, 3) and chip.dtype == np.uint8
    assert diff(ALIGN_PADDING) < 0.5 * diff(None)
