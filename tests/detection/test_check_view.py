"""The face check's view: cut at the network's size from a block average, in the same place
and with nearly the same pixels and scores as the full-size crop shrunk by area."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

import facegender
from facegender.detection.blazeface import BlazeFace
from facegender.detection.face_check import check_face, view
from facegender.detection.passes import block_average, work_copy


def _centre(gray: np.ndarray) -> np.ndarray:
    g = gray.astype(float)
    return (np.indices(g.shape) * g).reshape(2, -1).sum(1) / g.sum()


@pytest.mark.parametrize(("cx", "cy", "half"), [(160.0, 120.0, 150.0), (40.5, 200.25, 90.0),
                                                (300.0, 10.0, 400.0), (100.0, 100.0, 47.0)])
def test_the_fast_view_shows_the_same_place(cx: float, cy: float, half: float) -> None:
    image = np.zeros((240, 320, 3), np.uint8)
    rng = np.random.default_rng(int(cx + cy))
    size = max(1, round(2 * half))
    side = min(size, 192)
    for y, x in rng.integers((0, 0), (232, 312), (4, 2)):
        if not (abs(x + 4 - cx) < half - 8 and abs(y + 4 - cy) < half - 8):
            continue  # a dot the square holds
        image[:] = 0
        image[y:y + 8, x:x + 8] = 255
        fast = view(image, cx, cy, half, size, side, "fast")[..., 0]
        area = view(image, cx, cy, half, size, side, "area")[..., 0]
        assert fast.shape == area.shape == (side, side)
        assert np.abs(_centre(fast) - _centre(area)).max() < 0.35


def test_block_average_is_the_mean_of_each_block() -> None:
    image = np.random.default_rng(0).integers(0, 256, (7, 10, 3)).astype(np.uint8)
    small, kx, ky = block_average(image, 3)
    assert (kx, ky) == (3, 3) and small.shape == (2, 3, 3)
    expected = image[3:6, 6:9].reshape(-1, 3).mean(axis=0)
    assert np.abs(small[1, 2].astype(float) - expected).max() <= 0.5
    assert block_average(image, 1)[0] is image
    photo = np.random.default_rng(1).integers(0, 256, (250, 370, 3)).astype(np.uint8)
    for k in (2, 3, 4, 6, 8, 12):  # halvings first, then the rest: a rounding at each step
        small, _, _ = block_average(photo, k)
        h, w = 250 // k, 370 // k
        means = photo[:h * k, :w * k].reshape(h, k, w, k, 3).mean(axis=(1, 3))
        assert small.shape == (h, w, 3) and np.abs(small - means).max() <= 1.5


def test_a_close_up_is_judged_the_same_either_way(shared_data: Path) -> None:
    """A face filling the photo: its square is three times the photo, mostly black."""
    photo = facegender.read_image(sorted((shared_data / "utkface").rglob("*.jpg"))[1])
    work, _ = work_copy(photo, 320, "fast")
    checker = BlazeFace("full", min_score=0.01)
    found = BlazeFace("full").detect(work, 0.25)
    assert len(found.scores)
    box = found.boxes[0]
    area = check_face(checker, work, box, margin=1.0, shrink="area")
    fast = check_face(checker, work, box, margin=1.0, shrink="fast")
    assert area.score > 0.55 and abs(fast.score - area.score) < 0.05
    assert abs(fast.angle - area.angle) < 5
    assert np.abs(fast.box - area.box).max() < 0.05 * (box[2] - box[0])
    turned = np.ascontiguousarray(cv2.rotate(work, cv2.ROTATE_180))
    h, w = work.shape[:2]
    tbox = np.array([w - box[2], h - box[3], w - box[0], h - box[1]], np.float32)
    for shrink in ("fast", "area"):  # found upside down, by its turns
        upside = check_face(checker, turned, tbox, margin=1.0, shrink=shrink, turn_margin=0.15)
        assert upside.score > 0.55 and abs(abs(upside.angle) - 180) < 30
