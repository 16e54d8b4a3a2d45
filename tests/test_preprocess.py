"""Cropping and preprocessing: one function, fixed shape and range, square crops in bounds."""

from __future__ import annotations

import numpy as np
import pytest

from facegender.preprocess import crop_face, preprocess, preprocess_batch, square_box
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
