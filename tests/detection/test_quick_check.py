"""The later passes' face check: decided at 128 px, placed at 192 px (issue 17's slowest photos)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

import facegender
from facegender.detection import FaceFinder, FinderSettings, face_finder
from facegender.detection.blazeface import BlazeFace
from facegender.detection.choice import recorded_settings
from facegender.detection.face_check import check_face, quick_check
from facegender.detection.passes import work_copy

TORSOS = [  # benchmarks/torsos.csv: cut below the only face; the 192 px check boxed these
    ("imdbwiki/male/male_000408.jpg", 0, 229, 500, 192),
    ("imdbwiki/male/male_004732.jpg", 0, 185, 378, 315),
    ("imdbwiki/female/female_003152.jpg", 0, 118, 500, 132),
]


@pytest.fixture(scope="module")
def models() -> tuple[BlazeFace, BlazeFace]:
    return (BlazeFace("full", min_score=0.01, input_shape=(128, 128)),
            BlazeFace("full", min_score=0.01))


@pytest.fixture(scope="module")
def obama(shared_data: Path) -> tuple[np.ndarray, np.ndarray]:
    """A 320 px copy of a two-face portrait and its larger face's box (x0, y0, x1, y1)."""
    image = facegender.read_image(shared_data / "detection/portraits/obama_and_biden.jpg")
    work, _ = work_copy(image, 320)
    return work, BlazeFace("full").detect(work).boxes[0]


def test_a_face_seen_upright_and_sure_costs_one_192_run(obama, models) -> None:
    quick, checker = models
    work, box = obama
    usual = check_face(checker, work, box, margin=1.0, turns=(0,))
    got = quick_check(quick, checker, work, box, margin=1.0, bar=0.6, sure=0.75,
                      upright_prior=0.9)
    assert usual.score >= 0.75
    assert got.runs == 1 and got.score == usual.score
    assert np.array_equal(got.box, usual.box)


@pytest.mark.parametrize("degrees,code", [(90, cv2.ROTATE_90_COUNTERCLOCKWISE),
                                          (180, cv2.ROTATE_180)])
def test_a_turned_face_is_kept_and_placed_as_the_192_check_places_it(obama, models, degrees,
                                                                     code) -> None:
    quick, checker = models
    work, box = obama
    h, w = work.shape[:2]
    turned = np.ascontiguousarray(cv2.rotate(work, code))
    corners = box.reshape(2, 2)
    if degrees == 90:  # (x, y) -> (y, w - x) for a counter-clockwise turn
        moved = np.stack([corners[:, 1], w - corners[:, 0]], axis=1)
    else:
        moved = np.stack([w - corners[:, 0], h - corners[:, 1]], axis=1)
    tbox = np.concatenate([moved.min(axis=0), moved.max(axis=0)]).astype(np.float32)
    got = quick_check(quick, checker, turned, tbox, margin=1.0, bar=0.6, sure=0.75,
                      turn_margin=0.15)
    assert got.score >= 0.6
    turn = int(-90 * round(got.angle / 90)) % 360
    placed = check_face(checker, turned, tbox, margin=1.0, turns=(turn,))
    assert np.array_equal(got.box, placed.box) and got.angle == placed.angle
    # the face lies on its side (or upside down): its eye line says so
    assert abs((got.angle - (-degrees if degrees == 90 else 180) + 180) % 360 - 180) < 30
    assert got.runs >= 2  # the 128 px views, then the 192 px one that placed it


def test_what_the_quick_check_refuses_costs_only_128_runs(shared_data: Path, models) -> None:
    quick, checker = models
    image = facegender.read_image(shared_data / "detection/group/2009_004587.jpg")
    shirt = np.array([35, 281, 119, 365], np.float32)  # folds of a white shirt
    calls: list[tuple[int, int]] = []
    original = checker.detect

    def counted(crop: np.ndarray, *a, **k):  # type: ignore[no-untyped-def]
        calls.append(crop.shape[:2])
        return original(crop, *a, **k)

    checker.detect = counted  # type: ignore[method-assign]
    try:
        got = quick_check(quick, checker, image, shirt, margin=1.0, bar=0.6, sure=0.75)
    finally:
        del checker.detect
    assert got.score < 0.6 and got.runs == 4 and not calls


@pytest.mark.parametrize("path,x,y,w,h", TORSOS)
def test_torsos_the_192_check_boxed_get_no_box(shared_data: Path, path: str, x: int, y: int,
                                               w: int, h: int) -> None:
    image = np.ascontiguousarray(facegender.read_image(shared_data / "imdbwiki" /
                                                       Path(path).relative_to("imdbwiki")
                                                       )[y:y + h, x:x + w])
    assert face_finder().detect(image) == []
    before = FaceFinder(replace(FinderSettings(), later_check_size=192))
    assert len(before.detect(image)) == 1  # what it fixed: a box on a shirt or jersey


def test_records_before_the_quick_check_rebuild_with_the_192_check() -> None:
    recorded = FinderSettings().to_manifest()
    del recorded["later_check_size"], recorded["later_check_score"]
    rebuilt = recorded_settings(recorded)
    assert isinstance(rebuilt, FinderSettings) and rebuilt.later_check_size == 192
    assert FaceFinder(rebuilt)._quick is None


def test_the_192_view_confirms_what_the_128_check_keeps(shared_data: Path) -> None:
    """The central half of coffee.png: at 128 px the check scores a turned view 0.64, at
    192 px that view scores 0.50 (a texture, not a face)."""
    image = facegender.read_image(shared_data / "detection/no_face/coffee.png")
    h, w = image.shape[:2]
    centre = np.ascontiguousarray(image[h // 4:3 * h // 4, w // 4:3 * w // 4])
    assert face_finder().detect(centre) == []
    assert len(FaceFinder(replace(FinderSettings(), later_confirm=0.0)).detect(centre)) == 1
