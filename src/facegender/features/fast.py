"""The fitted pipelines' arithmetic as a few numpy operations, for speed on few faces.

Why: scikit-learn checks and wraps inputs at every step (FeatureUnion runs its
parts through joblib, CalibratedClassifierCV and SVC validate again), which
costs several milliseconds per call whatever the number of rows, while the
arithmetic for one face takes well under one. A photo has one to a few faces,
so the overhead is most of the classification time.

:func:`compile_pipeline` reads the fitted parameters of the two pipelines
facegender builds (:func:`~facegender.model.build_pipeline` and
:func:`~facegender.model.build_embedding_pipeline`) and returns a function
giving the same probabilities (equal to 1e-7; tests compare them on real
faces). Any other pipeline gets ``None`` and is used through scikit-learn as
before, so a model saved by an older or newer version never gets a wrong
shortcut.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.special import expit
from sklearn.calibration import CalibratedClassifierCV
from sklearn.decomposition import PCA
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from .hog import HogFeatures
from .lbp import LbpFeatures

Transform = Callable[[np.ndarray], np.ndarray]


def pca_transform(pca: PCA) -> Transform:
    """``PCA.transform``: centre, project, and whiten when the PCA was fitted so."""
    components = np.asarray(pca.components_, dtype=np.float64).T
    shift = np.asarray(pca.mean_, dtype=np.float64) @ components
    scale = np.sqrt(pca.explained_variance_) if pca.whiten else None

    def transform(x: np.ndarray) -> np.ndarray:
        out = x @ components - shift
        return out / scale if scale is not None else out

    return transform


def _feature_step(step: Any) -> Transform | None:
    """A transform for one supported feature step, else None."""
    if isinstance(step, PCA):
        return pca_transform(step)
    if isinstance(step, StandardScaler):
        mean = step.mean_ if step.with_mean else 0.0
        scale = step.scale_ if step.with_std else 1.0
        return lambda x: (x - mean) / scale
    if isinstance(step, (HogFeatures, LbpFeatures)):
        return step.transform
    if isinstance(step, Pipeline):
        parts = [_feature_step(s) for _, s in step.steps]
        if any(p is None for p in parts):
            return None

        def chain(x: np.ndarray) -> np.ndarray:
            for part in parts:
                x = part(x)  # type: ignore[misc]
            return x

        return chain
    if isinstance(step, FeatureUnion) and not step.transformer_weights:
        branches = [_feature_step(s) for _, s in step.transformer_list if s != "drop"]
        if any(b is None for b in branches):
            return None
        return lambda x: np.hstack([b(x) for b in branches])  # type: ignore[misc]
    return None


def _calibrated_svm(clf: Any) -> Transform | None:
    """Probabilities ``[p0, p1]`` of a binary, sigmoid-calibrated RBF SVM (``ensemble=False``)."""
    if not isinstance(clf, CalibratedClassifierCV) or len(clf.calibrated_classifiers_) != 1:
        return None
    cal = clf.calibrated_classifiers_[0]
    svc, calibrators = cal.estimator, cal.calibrators
    if type(svc).__name__ == "FrozenEstimator":  # calibrated on held-out faces after fitting
        svc = svc.estimator
    if (not isinstance(svc, SVC) or svc.kernel != "rbf" or len(svc.classes_) != 2
            or cal.method != "sigmoid" or len(calibrators) != 1
            or list(clf.classes_) != list(svc.classes_)):
        return None
    sv = np.asarray(svc.support_vectors_, dtype=np.float64)
    sv_sq = np.einsum("ij,ij->i", sv, sv)
    coef, intercept, gamma = svc.dual_coef_[0], float(svc.intercept_[0]), float(svc._gamma)
    a, b = float(calibrators[0].a_), float(calibrators[0].b_)

    def proba(x: np.ndarray) -> np.ndarray:
        sq = np.einsum("ij,ij->i", x, x)[:, None] + sv_sq[None, :] - 2.0 * (x @ sv.T)
        decision = np.exp(-gamma * np.maximum(sq, 0.0)) @ coef + intercept
        p1 = expit(-(a * decision + b))
        return np.column_stack([1.0 - p1, p1])

    return proba


def compile_pipeline(pipeline: Any) -> Transform | None:
    """A fast ``predict_proba`` for facegender's own fitted pipelines, else None."""
    if not isinstance(pipeline, Pipeline) or len(pipeline.steps) < 2:
        return None
    features = _feature_step(Pipeline(pipeline.steps[:-1])) if len(pipeline.steps) > 2 else \
        _feature_step(pipeline.steps[0][1])
    head = _calibrated_svm(pipeline.steps[-1][1])
    if features is None or head is None:
        return None

    def predict_proba(rows: np.ndarray) -> np.ndarray:
        return head(np.asarray(features(np.asarray(rows, dtype=np.float64)), dtype=np.float64))

    return predict_proba


def compile_groups(pipeline: Any, young_min: float | None = None
                   ) -> Callable[[np.ndarray], np.ndarray] | None:
    """A fast ``predict`` (class indices) for a fitted StandardScaler -> LogisticRegression
    pipeline (the embedding model's age groups), else None: 0.05 instead of ~0.4 ms a face.
    With ``young_min``, the classes are :func:`guess_groups`' from the same probabilities."""
    from sklearn.linear_model import LogisticRegression

    if (not isinstance(pipeline, Pipeline) or len(pipeline.steps) < 2
            or not isinstance(pipeline.steps[-1][1], LogisticRegression)):
        return None
    # the scaler, after the eigen-face model's own feature steps when it reads pixels
    scale = _feature_step(Pipeline(pipeline.steps[:-1]))
    clf = pipeline.steps[-1][1]
    if scale is None or len(clf.classes_) < 3:  # multinomial: one row of weights per class
        return None
    coef, intercept = np.asarray(clf.coef_, np.float64).T, np.asarray(clf.intercept_, np.float64)
    classes = np.asarray(clf.classes_)

    def predict(rows: np.ndarray) -> np.ndarray:
        scores = scale(np.asarray(rows, dtype=np.float64)) @ coef + intercept
        if young_min is None:
            return classes[np.argmax(scores, axis=1)]
        proba = np.exp(scores - scores.max(axis=1, keepdims=True))
        return classes[guess_groups(proba / proba.sum(axis=1, keepdims=True), young_min)]

    return predict


def compile_shared(pipeline: Any, age_groups: Any, young_min: float | None = None
                   ) -> tuple[Transform, Transform, Callable[[np.ndarray], np.ndarray]] | None:
    """The features once, then both heads, when the age model reads the gender pipeline's
    own fitted feature steps (the eigen-face model's, since 2026-12-05): ``(features,
    predict_proba on features, age groups on features)``; None otherwise.

    Why: each head compiled on its own ran the eigen faces, HOG and LBP of the same rows
    twice a photo (:func:`compile_pipeline`, :func:`compile_groups`).
    """
    if (not isinstance(pipeline, Pipeline) or not isinstance(age_groups, Pipeline)
            or len(age_groups.steps) < 2 or not isinstance(age_groups.steps[0][1], Pipeline)):
        return None
    shared = age_groups.steps[0][1]
    if [id(s) for _, s in shared.steps] != [id(s) for _, s in pipeline.steps[:-1]]:
        return None
    features = _feature_step(shared)
    head = _calibrated_svm(pipeline.steps[-1][1])
    groups = compile_groups(Pipeline(age_groups.steps[1:]), young_min)
    if features is None or head is None or groups is None:
        return None
    return features, head, groups


YOUNG_GROUPS = 3
"""The age-group model's first classes that are children and teenagers (0-2, 3-12, 13-19)."""


def guess_groups(proba: np.ndarray, young_min: float | None) -> np.ndarray:
    """Each row's age group from the age-group model's probabilities (classes in order):
    one of the :data:`YOUNG_GROUPS` young ones only when their summed probability reaches
    ``young_min`` (the likeliest of them then), else the likeliest adult one; plain argmax
    when ``young_min`` is None (models before 2026-12-04 night).

    Why: with argmax, young-looking adults were taken for teenagers and never answered
    surely (50 of pixabay-external's 300 portraits, 18 of them named woman or man); on
    the validation halves 0.8 left the 20-29 band 7% uncertain instead of 13% with every
    band's sure answers as right or more (reports/experiments.md).
    """
    proba = np.asarray(proba, dtype=np.float64)
    if young_min is None:
        return np.argmax(proba, axis=1)
    young = proba[:, :YOUNG_GROUPS].sum(axis=1) >= young_min
    return np.where(young, np.argmax(proba[:, :YOUNG_GROUPS], axis=1),
                    YOUNG_GROUPS + np.argmax(proba[:, YOUNG_GROUPS:], axis=1))
