"""BlazeFace's full-range graph at a larger input: same network, one run instead of tiles."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import facegender
from facegender.detection.blazeface import BlazeFace, _letterbox
from facegender.detection.passes import box_iou, work_copy
from facegender.detection.ssd import ssd_anchors
from facegender.detection.tflite_graph import resized_graph
from facegender.detection.tflite_runners import LiteRTRunner, model_dir
from facegender.errors import ModelError

FULL = "face_detection_full_range.tflite"


def test_at_its_own_size_the_rewritten_graph_is_the_file(shared_data: Path) -> None:
    """Only shapes are rewritten, never a weight: at 192x192 the outputs are the file's."""
    image = facegender.read_image(shared_data / "detection/group/bald_guys.jpg")
    tensor, _, _ = _letterbox(image, (192, 192), 0.0)
    path = model_dir() / FULL
    a = LiteRTRunner(path, 1)(tensor)
    b = LiteRTRunner(path, 1, (192, 192))(tensor)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_a_larger_input_gives_one_anchor_per_four_pixels(shared_data: Path) -> None:
    image = facegender.read_image(shared_data / "detection/group/2008_007676.jpg")
    tensor, _, _ = _letterbox(image, (288, 384), 0.0)
    boxes, scores = LiteRTRunner(model_dir() / FULL, 1, (288, 384))(tensor)
    assert boxes.shape == (72 * 96, 16) and scores.shape == (72 * 96, 1)
    assert len(ssd_anchors((288, 384), (4,), 0.0)) == 72 * 96


def test_anchors_of_a_wide_input_run_row_by_row() -> None:
    """MediaPipe's order: rows top to bottom, each left to right; a square's as before."""
    anchors = ssd_anchors((64, 128), (4,), 0.0)
    assert anchors.shape == (16 * 32, 2)
    np.testing.assert_allclose(anchors[0], [0.5 / 32, 0.5 / 16])
    np.testing.assert_allclose(anchors[31], [31.5 / 32, 0.5 / 16])
    np.testing.assert_allclose(anchors[32], [0.5 / 32, 1.5 / 16])
    np.testing.assert_array_equal(ssd_anchors(192, (4,), 0.0), ssd_anchors((192, 192), (4,), 0.0))


def test_one_wide_run_finds_the_small_faces_tiles_find(shared_data: Path) -> None:
    """bald_guys.jpg's 640x498 copy in one run at 384x320 (the scale a 320 px tile is seen
    at): its 24 faces, where the 192 px model on the whole photo finds 19; the boxes land
    on the same faces."""
    image = facegender.read_image(shared_data / "detection/group/bald_guys.jpg")
    big, _ = work_copy(image, 640)
    wide = BlazeFace("full", min_score=0.5, input_shape=(320, 384)).detect(big)
    whole = BlazeFace("full", min_score=0.5).detect(big)
    assert len(wide.scores) >= 23 > len(whole.scores) + 3
    for box in whole.boxes:  # what the small run finds, the wide one finds at the same place
        assert max(box_iou(box, b) for b in wide.boxes) > 0.5


def test_both_runtimes_read_the_rewritten_graph(shared_data: Path) -> None:
    image = facegender.read_image(shared_data / "detection/group/2008_007676.jpg")
    lite = BlazeFace("full", "litert", 0.5, input_shape=(288, 384)).detect(image)
    cv = BlazeFace("full", "opencv", 0.5, input_shape=(288, 384)).detect(image)
    assert len(lite.scores) == len(cv.scores) > 0
    assert np.abs(lite.boxes - cv.boxes).max() < 0.5


def test_shapes_it_cannot_take_are_refused() -> None:
    with pytest.raises(ValueError, match="multiples of 32"):
        resized_graph(model_dir() / FULL, 300, 384)
    with pytest.raises(ModelError, match="full-range"):
        resized_graph(model_dir() / "face_detection_short_range.tflite", 256, 256)
    with pytest.raises(ValueError, match="full-range"):
        BlazeFace("short", input_shape=(256, 256))
