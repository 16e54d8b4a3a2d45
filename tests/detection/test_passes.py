"""The finder's work copies (shrunk fast, places kept) and its tiling: the fewest tiles that
cover a photo with the overlap asked for."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from facegender.detection.choice import recorded_settings
from facegender.detection.finder_settings import FinderSettings
from facegender.detection.passes import tile_corners, work_copy
from facegender.errors import BadRequest


def _covered(corners: list[tuple[int, int]], w: int, h: int, tile: int) -> bool:
    xs = {x for x, _ in corners}
    ys = {y for _, y in corners}
    return (min(xs) == 0 and max(xs) + min(tile, w) >= w
            and min(ys) == 0 and max(ys) + min(tile, h) >= h)


def _least_overlap(starts: list[int], tile: int) -> int:
    return min((a + tile - b for a, b in zip(starts, starts[1:], strict=False)), default=tile)


@pytest.mark.parametrize(("w", "h", "quarter", "half"), [
    (500, 375, 4, 6),    # a VOC group photo: 2x2 tiles instead of 3x2
    (640, 480, 6, 6),    # the 640 px copy: 3x2 either way
    (320, 240, 1, 1),    # one tile holds it
    (1280, 320, 5, 7),
])
def test_tile_counts(w: int, h: int, quarter: int, half: int) -> None:
    for overlap, count in ((0.25, quarter), (0.5, half)):
        corners = tile_corners(w, h, 320, overlap)
        assert len(corners) == count
        assert _covered(corners, w, h, 320)
        xs = sorted({x for x, _ in corners})
        ys = sorted({y for _, y in corners})
        assert min(_least_overlap(xs, 320), _least_overlap(ys, 320)) >= overlap * 320


@pytest.mark.parametrize(("h", "w"),
                         [(853, 1280), (476, 474), (3000, 4000), (641, 333), (1000, 321)])
def test_fast_work_copy_keeps_every_place_where_the_area_copy_has_it(h: int, w: int) -> None:
    """A bright dot anywhere in the photo is at ``factor`` times its place in the fast copy,
    as in the one-step area copy, and the two copies differ little on a real photo."""
    rng = np.random.default_rng(h * w)
    for y, x in rng.integers(0, (h - 20, w - 20), (5, 2)):
        image = np.zeros((h, w, 3), np.uint8)
        image[y:y + 12, x:x + 12] = 255
        for shrink in ("fast", "area"):
            work, factor = work_copy(image, 320, shrink)
            assert max(work.shape[:2]) == 320
            gray = work[..., 0].astype(float)
            cy, cx = (np.indices(gray.shape) * gray).reshape(2, -1).sum(1) / gray.sum()
            assert abs(cx - (x + 6) * factor + 0.5) <= 1.0
            assert abs(cy - (y + 6) * factor + 0.5) <= 1.0
    photo = cv2.resize(cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR), (w, h))
    fast, f1 = work_copy(photo, 320, "fast")
    area, f2 = work_copy(photo, 320, "area")
    assert fast.shape == area.shape and abs(f1 - f2) <= 0.01 * f2
    assert np.abs(fast.astype(int) - area).mean() < 6


def test_shrink_is_a_setting_older_records_rebuild_with_the_area_copy() -> None:
    small = np.zeros((200, 300, 3), np.uint8)
    assert work_copy(small, 320, "fast")[0] is small  # never enlarged, not copied
    for h, w in ((1, 30000), (30000, 1), (7, 5000)):  # strips: no side shrunk to nothing
        strip, _ = work_copy(np.zeros((h, w, 3), np.uint8), 320, "fast")
        assert max(strip.shape[:2]) == 320 and min(strip.shape[:2]) >= 1
    with pytest.raises(BadRequest, match="shrink"):
        FinderSettings(shrink="cubic").validate()
    recorded = FinderSettings().to_manifest()
    del recorded["shrink"]
    rebuilt = recorded_settings(recorded)
    assert isinstance(rebuilt, FinderSettings) and rebuilt.shrink == "area"
