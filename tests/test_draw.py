"""The drawn labels: whole, readable and numbered wherever the faces are."""

from __future__ import annotations

import itertools

import cv2
import numpy as np
import pytest
from skimage import data

from facegender.draw import (
    COLORS_BGR,
    default_labels,
    draw_faces,
    label_extent,
    label_of,
    place_labels,
    text_style,
)
from facegender.types import Box, Face, Prediction


def _face(box: Box, gender: str = "male") -> Face:
    p_male = 0.9 if gender == "male" else 0.1
    return Face(box, Prediction(gender, 1 - p_male, p_male, False))


def _astronaut() -> np.ndarray:
    return np.ascontiguousarray(data.astronaut()[:, :, ::-1])  # a real photo, BGR


def _rects(spots: list[tuple[int, int]], sizes: list[tuple[int, int]]) -> list[tuple]:
    return [(x, y, x + lw, y + lh) for (x, y), (lw, lh) in zip(spots, sizes, strict=True)]


def _overlap(a: tuple, b: tuple) -> int:
    return max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))


def test_a_face_at_the_right_edge_keeps_its_whole_label() -> None:
    photo = _astronaut()
    w = photo.shape[1]
    face = _face(Box(w - 40, 200, 40, 40), "female")
    (tw, _), _ = cv2.getTextSize(label_of(face), cv2.FONT_HERSHEY_SIMPLEX, *text_style(w, w))
    drawn = draw_faces(photo, [face])
    rows = slice(170, 199)  # above the box, where its label goes
    cols = np.flatnonzero((drawn[rows] != photo[rows]).any(axis=(0, 2)))
    assert tw > 40 + 20  # wider than the room right of the box's left side
    assert cols.min() <= w - tw - 4 and cols.max() == w - 1  # moved left, ends at the edge
    filled = (drawn[rows, w - tw - 4:] == COLORS_BGR["female"]).all(axis=2)
    assert filled.any(axis=1).sum() >= 10  # a filled band, the white text inside it


def test_a_label_with_room_sits_above_its_box_from_its_left_edge() -> None:
    box = Box(100, 200, 80, 80)
    [(x, y)] = place_labels([box], [(90, 20)], 512, 512)
    assert x == 100 and y + 20 <= 200 and y >= 200 - 25


def test_labels_go_below_or_inside_rather_than_off_the_photo() -> None:
    [(x, y)] = place_labels([Box(10, 3, 60, 60)], [(90, 20)], 512, 512)
    assert y >= 63  # no room above: below the box
    [(x, y)] = place_labels([Box(10, 3, 60, 500)], [(90, 20)], 100, 512)
    assert 0 <= y <= 512 - 20 and x + 90 <= 100  # neither above nor below: inside, whole


def test_labels_of_a_crowded_group_photo_do_not_cover_each_other(group_faces) -> None:
    image, boxes = group_faces
    h, w = image.shape[:2]
    faces = [_face(b) for b in boxes]
    sizes = [label_extent(cv2.getTextSize(t, cv2.FONT_HERSHEY_SIMPLEX, *text_style(w, h)))
             for t in default_labels(faces)]
    rects = _rects(place_labels(boxes, sizes, w, h), sizes)
    assert all(min(r[0], r[1]) >= 0 and r[2] <= w and r[3] <= h for r in rects)
    assert all(_overlap(a, b) == 0 for a, b in itertools.combinations(rects, 2))
    # the old rule (always above, else below) did: what this test exists for
    old = [(max(0, min(b.x, w - lw)), b.y - 2 - lh if b.y - 2 - lh >= 0 else b.y + b.h + 2)
           for b, (lw, lh) in zip(boxes, sizes, strict=True)]
    assert any(_overlap(a, b) for a, b in itertools.combinations(_rects(old, sizes), 2))


def test_several_faces_are_numbered_as_in_the_table() -> None:
    one = [_face(Box(0, 0, 50, 50))]
    two = [*one, _face(Box(60, 0, 50, 50), "female")]
    assert default_labels(one) == ["male 90%"]
    assert default_labels(two) == ["#1 male 90%", "#2 female 90%"]


@pytest.fixture(scope="module")
def group_faces(shared_data):
    """bald_guys.jpg and its 24 faces as the shipped finder boxes them."""
    from facegender.detection import face_finder
    from facegender.images import read_image

    image = read_image(shared_data / "detection" / "group" / "bald_guys.jpg")
    return image, face_finder().detect(image)
