"""The compiled inference path gives scikit-learn's probabilities, only for pipelines it knows."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from facegender import load_model
from facegender.analyze import analyze_image
from facegender.features.fast import compile_pipeline
from facegender.features.preprocess import preprocess_batch
from facegender.model import FAST_MAX_ROWS


@pytest.fixture(scope="module")
def face_rows(shared_data: Path) -> np.ndarray:
    """Preprocessed crops of the real faces in a few pixabay portraits and a group photo."""
    model = load_model("eigenface")
    crops = []
    paths = sorted((shared_data / "pixabay-external" / "female").iterdir())[:4] + sorted(
        (shared_data / "pixabay-external" / "male").iterdir())[:4] + [
        shared_data / "detection/portraits/obama_and_biden.jpg"]
    for p in paths:
        image = cv2.imread(str(p))
        for face in analyze_image(image, model).faces:
            b = face.box
            crops.append(image[b.y:b.y + b.h, b.x:b.x + b.w])
    assert len(crops) >= 8
    return preprocess_batch(crops)


def test_model_calibrated_on_held_out_faces_compiles_too(tiny_model, face_rows) -> None:
    """Models trained since 2026-12-03 wrap their SVM (fitted first, then calibrated on the
    validation part) in a FrozenEstimator: the compiled path unwraps it, same answers."""
    cal = tiny_model.pipeline.named_steps["svm"].calibrated_classifiers_[0]
    assert type(cal.estimator).__name__ == "FrozenEstimator"
    fast = compile_pipeline(tiny_model.pipeline)
    assert fast is not None
    np.testing.assert_allclose(fast(face_rows), tiny_model.pipeline.predict_proba(face_rows),
                               atol=1e-6)


def test_eigenface_compiled_equals_sklearn(face_rows) -> None:
    model = load_model("eigenface")
    fast = compile_pipeline(model.pipeline)
    assert fast is not None
    want = model.pipeline.predict_proba(face_rows)
    got = fast(face_rows)
    assert got.shape == want.shape == (len(face_rows), 2)
    np.testing.assert_allclose(got, want, atol=1e-6)
    np.testing.assert_allclose(got.sum(axis=1), 1.0)
    # The answers differ between faces: a constant would also "match" a constant pipeline.
    assert np.ptp(got[:, 1]) > 0.3


def test_model_uses_it_for_small_batches_only(face_rows, tiny_model) -> None:
    for model in (load_model("eigenface"), tiny_model):
        many = np.tile(face_rows, (FAST_MAX_ROWS // len(face_rows) + 1, 1))
        assert len(many) > FAST_MAX_ROWS
        np.testing.assert_allclose(model.predict_proba(face_rows),
                                   model.pipeline.predict_proba(face_rows), atol=1e-6)
        np.testing.assert_allclose(model.predict_proba(many)[: len(face_rows)],
                                   model.predict_proba(face_rows), atol=1e-6)
        assert model._fast  # compiled once, kept


def test_embedding_head_compiled_equals_sklearn(shared_data) -> None:
    """On the rows of real faces (a group photo's), whatever the network outputs it reads."""
    pytest.importorskip("dlib")
    from facegender.detection import face_finder
    from facegender.features import default_embedder
    from facegender.images import read_image

    model = load_model("embedding")
    group = read_image(shared_data / "detection" / "group" / "bald_guys.jpg")
    rows = default_embedder().embed(group, face_finder().detect(group)[:16],
                                    model.network_outputs)
    assert rows.shape == (16, model.pipeline.n_features_in_)
    fast = compile_pipeline(model.pipeline)
    assert fast is not None
    np.testing.assert_allclose(fast(rows), model.pipeline.predict_proba(rows), atol=1e-7)
    # the age groups that set each face's uncertain threshold: the same classes as sklearn
    from facegender.features import compile_groups

    groups = compile_groups(model.age_groups)
    assert groups is not None
    np.testing.assert_array_equal(groups(rows), model.age_groups.predict(rows))
    assert compile_groups(model.pipeline) is None  # not a scaler + logistic regression
    from facegender.features import guess_groups  # and with the young groups' bar

    young = compile_groups(model.age_groups, 0.8)
    assert young is not None
    np.testing.assert_array_equal(young(rows),
                                  guess_groups(model.age_groups.predict_proba(rows), 0.8))


def test_a_face_is_young_only_when_the_young_groups_are_likely_together() -> None:
    """Classes 0-2 are children and teenagers, 3-4 adults: a face whose likeliest class
    is a teenager's but whose young classes sum to under the bar is the likeliest adult."""
    from facegender.features import guess_groups

    proba = np.array([[0.05, 0.05, 0.45, 0.40, 0.05],   # teen 0.45, young 0.55: an adult
                      [0.30, 0.30, 0.25, 0.10, 0.05],   # young 0.85: the likeliest young one
                      [0.00, 0.00, 0.10, 0.30, 0.60]])  # 60+
    assert guess_groups(proba, None).tolist() == [2, 0, 4]
    assert guess_groups(proba, 0.8).tolist() == [3, 0, 4]
    assert guess_groups(proba, 0.5).tolist() == [2, 0, 4]


def test_unknown_pipelines_are_left_to_sklearn(face_rows) -> None:
    y = np.arange(len(face_rows)) % 2
    other = Pipeline([("scale", StandardScaler()), ("lr", LogisticRegression())]).fit(
        face_rows, y)
    assert compile_pipeline(other) is None
    assert compile_pipeline(LogisticRegression().fit(face_rows, y)) is None
