"""The drawn labels: whole and readable wherever the face is."""

from __future__ import annotations

import cv2
import numpy as np
from skimage import data

from facegender.draw import COLORS_BGR, draw_faces, label_of
from facegender.types import Box, Face, Prediction


def _label_band(photo: np.ndarray, face: Face) -> tuple[slice, int]:
    """The rows of ``face``'s label (drawn above its box) and the label's width in pixels,
    measured as :func:`draw_faces` sizes them."""
    h, w = photo.shape[:2]
    thick, scale = max(1, round(max(h, w) / 400)), max(0.4, max(h, w) / 1200)
    (tw, th), base = cv2.getTextSize(label_of(face), cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
    ty = face.box.y - 4
    return slice(ty - th - base, ty + base // 2 + 1), tw + 5


def _covered(before: np.ndarray, after: np.ndarray, rows: slice) -> np.ndarray:
    """Columns where the drawing changed any pixel of ``rows``."""
    return np.flatnonzero((before[rows] != after[rows]).any(axis=(0, 2)))


def test_a_face_at_the_right_edge_keeps_its_whole_label() -> None:
    photo = np.ascontiguousarray(data.astronaut()[:, :, ::-1])  # a real photo, BGR
    w = photo.shape[1]
    face = Face(Box(w - 40, 200, 40, 40), Prediction("female", 0.98, 0.02, False))
    rows, width = _label_band(photo, face)
    drawn = draw_faces(photo, [face])
    cols = _covered(photo, drawn, rows)
    assert width > 40 + 20  # the label is wider than the room right of the box's left side
    assert cols.min() <= w - width and cols.max() == w - 1  # moved left, ends at the edge
    band = drawn[rows, w - width:w]
    assert (band == COLORS_BGR["female"]).all(axis=2).mean() > 0.5  # filled, the text inside


def test_a_label_with_room_starts_at_its_box() -> None:
    photo = np.ascontiguousarray(data.astronaut()[:, :, ::-1])
    face = Face(Box(100, 200, 80, 80), Prediction("male", 0.1, 0.9, False))
    rows, width = _label_band(photo, face)
    cols = _covered(photo, draw_faces(photo, [face]), rows)
    assert cols.min() == 100 and cols.max() == 100 + width - 1
