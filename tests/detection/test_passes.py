"""The finder's tiling: the fewest tiles that cover a photo with the overlap asked for."""

from __future__ import annotations

import pytest

from facegender.detection.passes import tile_corners


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
