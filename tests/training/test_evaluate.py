"""Metrics: known answers on hand-made label arrays."""

from __future__ import annotations

import numpy as np

from facegender.training.evaluate import (
    choose_threshold,
    classification_metrics,
    expected_calibration_error,
)


def test_perfect_classifier() -> None:
    y = np.array([0, 0, 1, 1] * 25)
    m = classification_metrics(y, np.where(y == 1, 0.9, 0.1), n_boot=200)
    assert m["accuracy"] == 1.0 and m["balanced_accuracy"] == 1.0 and m["roc_auc"] == 1.0
    assert m["ece"] == np.float64(0.1).item() or abs(m["ece"] - 0.1) < 1e-9


def test_missing_face_counts_as_wrong() -> None:
    y = np.array([0, 1, 0, 1])
    p = np.array([0.1, 0.9, np.nan, np.nan])
    m = classification_metrics(y, p, n_boot=50)
    assert m["accuracy"] == 0.5 and m["n_with_face"] == 2 and m["face_found_rate"] == 0.5
    assert m["accuracy_on_found"] == 1.0


def test_bootstrap_interval_contains_estimate() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 400)
    p = np.clip(y * 0.6 + rng.normal(0.2, 0.25, 400), 0, 1)
    m = classification_metrics(y, p, n_boot=300)
    lo, hi = m["balanced_accuracy_ci95"]
    assert lo < m["balanced_accuracy"] < hi and hi - lo < 0.15


def test_ece_of_calibrated_scores_is_small() -> None:
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 1, 20000)
    y = (rng.uniform(0, 1, 20000) < p).astype(int)
    ece, bins = expected_calibration_error(y, p)
    assert ece < 0.02 and len(bins) == 10


def test_threshold_reaches_target() -> None:
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 1, 5000)
    y = (rng.uniform(0, 1, 5000) < p).astype(int)
    t, share = choose_threshold(y, p, 0.9)
    conf = np.maximum(p, 1 - p)
    keep = conf >= t
    assert ((p[keep] >= 0.5) == y[keep]).mean() >= 0.9
    assert 0 < share < 1
