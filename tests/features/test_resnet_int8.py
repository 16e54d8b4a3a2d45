"""The face network in 8-bit integers: close to the float one on real faces, rebuilt from a
model's calibration record, refused when the record does not fit."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from facegender.detection import face_finder
from facegender.errors import ModelError
from facegender.features.embedding import Embedder, resnet_weights
from facegender.features.resnet_int8 import calibrate, quantize, record_sha256
from facegender.features.resnet_onnx import OUTPUTS, OnnxResNet, build_model
from facegender.images import read_image

pytest.importorskip("dlib")


@pytest.fixture(scope="module")
def chips(shared_data: Path) -> np.ndarray:
    """Aligned chips of 40 IMDB-WIKI photos' largest faces (a seeded sample)."""
    paths = sorted((shared_data / "imdbwiki").glob("*/*.jpg"))
    embedder, out = Embedder(), []
    for path in random.Random(3).sample(paths, 44):
        image = read_image(path)
        boxes = face_finder().detect(image)
        if boxes:
            out.append(embedder.chips(image, boxes[:1])[0])
    assert len(out) >= 40
    return np.asarray(out[:40])


@pytest.fixture(scope="module")
def record(chips: np.ndarray) -> dict[str, Any]:
    return calibrate(build_model(resnet_weights()), chips[:30])


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def test_int8_rows_stay_close_to_the_float_rows_on_faces_it_was_not_calibrated_on(
        chips: np.ndarray, record: dict[str, Any]) -> None:
    weights = resnet_weights()
    exact, int8 = OnnxResNet(weights), OnnxResNet(weights, int8=record)
    others = chips[30:]
    for output in OUTPUTS:
        a, b = exact.run(others, (output,)), int8.run(others, (output,))
        assert a.shape == b.shape == (len(others), OUTPUTS[output])
        assert not np.array_equal(a, b)  # it is another graph
        assert _cosines(a, b).min() > (0.998 if output != "embedding" else 0.99), output
    # deterministic: the same record gives the same graph and rows
    again = OnnxResNet(weights, int8=record).run(others, ("level4_mean",))
    np.testing.assert_array_equal(again, int8.run(others, ("level4_mean",)))


def test_a_record_that_does_not_fit_is_a_clear_model_error(record: dict[str, Any]) -> None:
    graph = build_model(resnet_weights())
    with pytest.raises(ModelError, match="calibration record"):
        quantize(graph, {"data": {}})
    assert record_sha256(record) == record_sha256(dict(reversed(list(record.items()))))


def test_the_embedder_keeps_one_session_per_precision(chips: np.ndarray,
                                                      record: dict[str, Any]) -> None:
    embedder = Embedder()
    assert embedder._onnx(record) is embedder._onnx(dict(record))
    assert embedder._onnx() is not embedder._onnx(record)
    a = embedder.embed_chips(chips[:3], ("level4_mean",))
    b = embedder.embed_chips(chips[:3], ("level4_mean",), record)
    assert _cosines(a, b).min() > 0.998 and not np.array_equal(a, b)
