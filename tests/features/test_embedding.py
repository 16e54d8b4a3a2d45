"""The embedding model: dlib detection, embeddings, training, the shipped model by name."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from facegender.analyze import analyze_image, detector_for
from facegender.detection import FaceFinder
from facegender.detection.dlib_chain import DlibDetector, DlibSettings
from facegender.errors import BadRequest
from facegender.features.embedding import Embedder
from facegender.images import read_image
from facegender.persist import load_model
from facegender.types import Box

pytest.importorskip("dlib")


@pytest.fixture(scope="module")
def embedding_model():
    return load_model("embedding")


def test_dlib_detector_finds_the_astronaut(astronaut: np.ndarray) -> None:
    boxes = DlibDetector(DlibSettings(haar_fallback=False)).detect(astronaut)
    assert len(boxes) == 1
    b = boxes[0]
    assert b.x >= 0 and b.x + b.w <= astronaut.shape[1] and b.y + b.h <= astronaut.shape[0]
    assert 60 < b.w < 250


def test_dlib_detector_finds_no_face_in_coins(shared_data: Path) -> None:
    coins = read_image(shared_data / "detection" / "no_face" / "coins.png")
    assert DlibDetector(DlibSettings(haar_fallback=False)).detect(coins) == []


def test_bad_setting_is_named() -> None:
    with pytest.raises(BadRequest, match="work_size"):
        DlibSettings(work_size=10).validate()


def test_embed_shape_and_determinism(astronaut: np.ndarray) -> None:
    embedder = Embedder()
    boxes = DlibDetector().detect(astronaut)
    a, b = embedder.embed(astronaut, boxes), embedder.embed(astronaut, boxes)
    assert a.shape == (1, 128) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert embedder.embed(astronaut, []).shape == (0, 128)


def test_haar_and_dlib_boxes_give_close_embeddings(astronaut: np.ndarray) -> None:
    from facegender.detection import default_detector

    embedder = Embedder()
    hog = embedder.embed(astronaut, DlibDetector().detect(astronaut)[:1])
    haar = embedder.embed(astronaut, default_detector().detect(astronaut)[:1])
    assert np.linalg.norm(hog - haar) < 0.4  # dlib's "same person" distance is 0.6


def test_shipped_model_loads_by_name(embedding_model) -> None:
    assert embedding_model.features == "embedding"
    assert embedding_model.name == "embedding"
    assert isinstance(detector_for(embedding_model), FaceFinder)
    assert embedding_model.manifest["detector"]["kind"] == "blazeface"  # cut its training faces


@pytest.mark.parametrize(("image", "gender"), [("astronaut", "female"), ("obama", "male")])
def test_shipped_model_classifies(image: str, gender: str, embedding_model, astronaut,
                                  shared_data: Path) -> None:
    bgr = astronaut if image == "astronaut" else read_image(
        shared_data / "detection" / "portraits" / "obama.jpg")
    analysis = analyze_image(bgr, embedding_model, reconstruct=True)
    assert len(analysis.faces) == 1
    face = analysis.faces[0]
    assert face.gender == gender and face.confidence > 0.8
    assert face.crop is not None and face.crop.shape == (100, 100)
    assert face.reconstruction is None


def test_classify_crops_with_embedding_model(embedding_model, astronaut) -> None:
    box = DlibDetector().detect(astronaut)[0]
    from facegender.features.preprocess import crop_face

    pred = embedding_model.classify_crops([crop_face(astronaut, box, margin=0.0)])
    assert pred[0].gender == "female"


def test_load_unknown_name_says_what_exists() -> None:
    from facegender.errors import ModelError

    with pytest.raises(ModelError, match="embedding"):
        load_model("no_such_model")


@pytest.fixture(scope="module")
def tiny_embedding_raw(labeled_subset: Callable[[str, int, str], Path]) -> Path:
    """The first 100 IMDB-WIKI photos of each class."""
    return labeled_subset("imdbwiki", 100, "tiny-emb")


@pytest.mark.slow
def test_train_embedding_writes_model_and_manifest(
    tiny_embedding_raw: Path, aged_utk: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    astronaut,
) -> None:
    from facegender.training.train_embedding import TINY_GRID, train_embedding

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    out = tmp_path / "model"
    model = train_embedding(tiny_embedding_raw, out, grid=TINY_GRID, workers=2, progress=False,
                            extra=[aged_utk])
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["features"] == "embedding" and manifest["name"] == "embedding"
    assert manifest["training_data"]["per_source"][tiny_embedding_raw.name]["photos"] == 200
    assert manifest["metrics"]["test"]["balanced_accuracy"] > 0.7
    assert manifest["embedding"]["outputs"] == ["level4_mean"]
    assert manifest["embedding"]["size"] == 256 == model.pipeline.n_features_in_
    # an uncertain threshold per age group, learned from the one source with ages
    assert manifest["age_groups"]["labels"] == ["0-2", "3-12", "13-19", "20-59", "60+"]
    assert set(manifest["uncertain_thresholds"]) == set(manifest["age_groups"]["labels"])
    assert manifest["age_groups"]["trained_on"] == [aged_utk.name]
    assert manifest["age_groups"]["target"]["confidence"] == 0.95
    assert manifest["age_groups"]["young_min_probability"] == 0.8
    assert manifest["uncertain_threshold"] == manifest["uncertain_thresholds"]["20-59"]
    assert "Uncertain threshold per guessed age group" in (out / "report" / "report.md").read_text()
    assert list((tmp_path / "cache" / "facegender" / "embeddings").glob("*.npy"))
    loaded = load_model(out)
    assert loaded.features == "embedding" and loaded.age_groups is not None
    faces = analyze_image(astronaut, loaded)
    # the network runs in 8-bit integers, calibrated on the main folder's faces first
    assert manifest["embedding"]["precision"] == "int8" and loaded.int8 is not None
    assert manifest["embedding"]["int8_calibrated_on"]["faces"] >= 10
    rows = Embedder().embed(astronaut, [faces.faces[0].box], loaded.network_outputs,
                            loaded.int8)
    assert faces.faces and faces.faces[0].prediction == model.predict(rows)[0]
    group = int(loaded.age_groups.predict(rows)[0])
    label = manifest["age_groups"]["labels"][group]
    assert loaded.thresholds(rows)[0] == manifest["uncertain_thresholds"][label]
    assert isinstance(faces.faces[0].box, Box)
    # the manifest names the weights; a model of other weights is refused at load
    from facegender.features import weights_sha256

    assert manifest["embedding"]["weights_sha256"] == weights_sha256()
    manifest["embedding"]["weights_sha256"] = "0" * 64
    (out / "manifest.json").write_text(json.dumps(manifest))
    from facegender.errors import ModelError

    with pytest.raises(ModelError, match="other face network weights"):
        load_model(out)


def test_embedding_cache_is_keyed_by_the_weights(labeled_subset, monkeypatch) -> None:
    """Cached vectors of other weights or another precision are never read: the weights'
    sha256 and the int8 record are in the key."""
    import importlib

    from facegender.detection import FinderSettings
    from facegender.training.data import scan_labeled

    te = importlib.import_module("facegender.training.embed_cache")

    labeled = scan_labeled(labeled_subset("imdbwiki", 3, "cache-key"))
    settings = FinderSettings()
    now = te.embeddings_cache(labeled, settings)
    assert now == te.embeddings_cache(labeled, settings)  # stable between runs
    # rows of the network in 8-bit integers are cached apart, per calibration record
    int8 = te.embeddings_cache(labeled, settings, {"data": {"x": [0, 1]}})
    assert int8 != now and int8 != te.embeddings_cache(labeled, settings, {"data": {"x": [0, 2]}})
    monkeypatch.setattr(te, "weights_sha256", lambda: "f" * 64)
    assert te.embeddings_cache(labeled, settings) != now


def test_one_landmark_pass_gives_both_chips(shared_data: Path) -> None:
    """embed_and_cut is embed plus face_images with the landmarks found once: the same
    vectors and the same 100x100 chips, upright and turned faces alike."""
    import cv2

    from facegender.detection import face_finder
    from facegender.features import ALIGN_PADDING, face_images

    photo = read_image(shared_data / "detection/portraits/obama_and_biden.jpg")
    for image in (photo, cv2.rotate(photo, cv2.ROTATE_90_CLOCKWISE)):
        boxes = face_finder().detect(image)
        assert len(boxes) >= 2
        rows, faces = Embedder().embed_and_cut(image, boxes, ALIGN_PADDING)
        np.testing.assert_array_equal(rows, Embedder().embed(image, boxes))
        for got, want in zip(faces, face_images(image, boxes, ALIGN_PADDING), strict=True):
            np.testing.assert_array_equal(got, want)
    assert any(b.angle for b in boxes)  # the turned photo's faces went the turned way
