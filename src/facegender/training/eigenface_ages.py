"""The eigen-face model's age groups: its uncertain bar per guessed age group, as the
embedding model's (:mod:`.uncertainty`), guessed from its own features.

Why: with one bar (0.90) the eigen-face model's sure answers on UTKFace's test part were
0.78 right for babies (18 answers) and 0.93 for ages 10-19 (42), against 0.99 for adults
(2026-12-05): a child's gender is hard to tell from a face, and the model must say so.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from sklearn.pipeline import Pipeline

from ..features import guess_groups
from ..model import GenderModel
from .crop import crop_name
from .data import LabeledSet
from .uncertainty import YOUNG_MIN_PROBABILITY, ages_of, fit_age_groups, thresholds_by_group

log = logging.getLogger(__name__)


def crop_ages(raw: LabeledSet, crops: LabeledSet) -> np.ndarray | None:
    """Age in years of each crop of ``crops`` (cut from the photos of ``raw``), from the
    photos' ``labels.csv`` (:func:`.uncertainty.ages_of`; -1 unknown); None when the photos
    have no ages or ``raw`` is not a folder of photos."""
    ages = ages_of(raw)
    if ages is None or raw.kind != "raw":
        return None
    by_crop = {crop_name(raw.root, p): int(a) for p, a in zip(raw.paths, ages, strict=True)}
    return np.array([by_crop.get(p.name, -1) for p in crops.paths], dtype=np.int64)


def eigenface_age_groups(model: GenderModel, X: np.ndarray, ages: np.ndarray,
                         X_va: np.ndarray, y_va: np.ndarray, p_val: np.ndarray, seed: int
                         ) -> dict[str, dict[str, Any]] | None:
    """Fit ``model.age_groups`` on the training faces ``X`` (pixel rows) with known
    ``ages`` and choose each guessed group's bar on the validation faces; None when the
    ages do not cover every group.

    The age model reads the gender pipeline's own fitted feature steps (eigen faces, HOG,
    LBP: one object in the saved file), so it needs nothing but the pixel rows.
    """
    features = model.pipeline[:-1]  # the fitted steps before the SVM, shared
    try:
        fitted = fit_age_groups(features.transform(X), ages, seed)
    except ValueError as exc:
        log.warning("no age groups: %s", exc)
        return None
    model.age_groups = Pipeline([("features", features), *fitted.steps])
    guessed = guess_groups(model.age_groups.predict_proba(X_va), YOUNG_MIN_PROBABILITY)
    return thresholds_by_group(y_va, p_val, guessed)
