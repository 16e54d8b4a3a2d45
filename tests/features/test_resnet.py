"""The onnxruntime ResNet gives dlib's own face embeddings; a file that is not it is refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from facegender.detection.dlib_chain import DlibDetector
from facegender.detection.landmarks import models_dir
from facegender.errors import ModelError
from facegender.features.embedding import RESNET_FILE, Embedder
from facegender.features.resnet import parse_weights
from facegender.features.resnet_onnx import OnnxResNet
from facegender.images import read_image

dlib = pytest.importorskip("dlib")


@pytest.fixture(scope="module")
def weight_bytes() -> bytes:
    return (models_dir() / RESNET_FILE).read_bytes()


@pytest.fixture(scope="module")
def group_chips(shared_data: Path, astronaut: np.ndarray) -> np.ndarray:
    """Aligned chips of real faces: the astronaut and every face dlib finds in a group photo."""
    embedder = Embedder()
    group = read_image(shared_data / "detection" / "group" / "bald_guys.jpg")
    chips = [embedder.chips(astronaut, DlibDetector().detect(astronaut)),
             embedder.chips(group, DlibDetector().detect(group)[:9])]
    return np.concatenate(chips)


def test_same_vectors_as_dlib(weight_bytes: bytes, group_chips: np.ndarray) -> None:
    """The graph is built from the same weights: dlib's vectors within 1e-4, a batch is its
    rows, and the faces differ from each other by far more than the two runtimes do."""
    assert len(group_chips) >= 6  # the astronaut and several bald guys
    net = dlib.face_recognition_model_v1(str(models_dir() / RESNET_FILE))
    onnx = OnnxResNet(parse_weights(weight_bytes), threads=1)
    ours = onnx.embed(group_chips)
    theirs = np.array([np.asarray(net.compute_face_descriptor(c)) for c in group_chips])
    assert ours.shape == (len(group_chips), 128) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, theirs, atol=1e-4)
    assert np.linalg.norm(theirs[0] - theirs[1]) > 0.3
    one_by_one = np.vstack([onnx.embed(c[None]) for c in group_chips])
    np.testing.assert_allclose(ours, one_by_one, atol=1e-5)
    np.testing.assert_allclose(Embedder().embed_chips(group_chips), theirs, atol=1e-4)
    assert Embedder().embed_chips(group_chips[:0]).shape == (0, 128)


def test_embedder_matches_dlib_on_a_photo(astronaut: np.ndarray) -> None:
    boxes = DlibDetector().detect(astronaut)
    rgb = np.ascontiguousarray(astronaut[:, :, ::-1])
    sp = dlib.shape_predictor(str(models_dir() / "shape_predictor_5_face_landmarks.dat"))
    net = dlib.face_recognition_model_v1(str(models_dir() / RESNET_FILE))
    b = boxes[0]
    shape = sp(rgb, dlib.rectangle(b.x, b.y, b.x + b.w - 1, b.y + b.h - 1))
    theirs = np.asarray(net.compute_face_descriptor(rgb, shape, 0, 0.25))
    np.testing.assert_allclose(Embedder().embed(astronaut, boxes[:1])[0], theirs, atol=1e-4)


@pytest.mark.parametrize("damage", ["truncated", "other_file", "empty"])
def test_damaged_weight_file_is_a_model_error(weight_bytes: bytes, damage: str) -> None:
    data = {
        "truncated": weight_bytes[: len(weight_bytes) // 2],
        "other_file": (models_dir() / "shape_predictor_5_face_landmarks.dat").read_bytes(),
        "empty": b"",
    }[damage]
    with pytest.raises(ModelError):
        parse_weights(data)


def test_wrong_chip_shape_is_refused(weight_bytes: bytes) -> None:
    with pytest.raises(ValueError, match="150"):
        OnnxResNet(parse_weights(weight_bytes), threads=1).embed(
            np.zeros((1, 100, 100, 3), np.uint8))


def test_inner_layers_come_from_the_same_pass(weight_bytes: bytes, group_chips: np.ndarray
                                              ) -> None:
    """The pooled inner layers a classifier may read: their widths, side by side in the
    order asked, means of ReLU outputs (never negative), unlike between faces, and the
    embedding unchanged beside them."""
    from facegender.features.resnet_onnx import OUTPUTS, width

    onnx = OnnxResNet(parse_weights(weight_bytes), threads=1)
    both = onnx.run(group_chips, ("level3_mean", "level2_grid2x2"))
    assert both.shape == (len(group_chips), OUTPUTS["level3_mean"] + OUTPUTS["level2_grid2x2"])
    np.testing.assert_array_equal(both[:, :256], onnx.run(group_chips, ("level3_mean",)))
    np.testing.assert_array_equal(both[:, 256:], onnx.run(group_chips, ("level2_grid2x2",)))
    np.testing.assert_array_equal(onnx.run(group_chips, ("embedding",)), onnx.embed(group_chips))
    assert (both >= 0).all() and np.abs(both[0] - both[1]).max() > 0.1
    assert width(("embedding", "level3_mean")) == 384
    with pytest.raises(ValueError, match="unknown network outputs"):
        onnx.run(group_chips, ("pool5",))
    assert Embedder().embed_chips(group_chips[:0], ("level2_grid2x2",)).shape == (0, 512)
