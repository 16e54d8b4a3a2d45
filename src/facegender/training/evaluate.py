"""Metrics for a binary gender classifier, with bootstrap confidence intervals.

Pure functions on label and probability arrays. ``y`` holds 0 (female) or
1 (male); ``p_male`` the predicted probability of class 1. End-to-end
evaluation, where a photo with no face found counts as wrong, passes
``p_male = NaN`` for those photos: they count as misclassified.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import (
    balanced_accuracy_score,
    cohen_kappa_score,
    confusion_matrix,
    precision_recall_fscore_support,
    roc_auc_score,
    roc_curve,
)

from ..types import GENDERS


def _hard(y: np.ndarray, p_male: np.ndarray) -> np.ndarray:
    """Predicted labels; a missing prediction (NaN) becomes the wrong label."""
    pred = (p_male >= 0.5).astype(np.int64)
    missing = np.isnan(p_male)
    pred[missing] = 1 - y[missing]
    return pred


def bootstrap_ci(
    y: np.ndarray, pred: np.ndarray, metric: Any, *, n: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """95% percentile bootstrap interval of ``metric(y, pred)``."""
    rng = np.random.default_rng(seed)
    stats = []
    for _ in range(n):
        idx = rng.integers(0, len(y), len(y))
        if len(np.unique(y[idx])) < 2:
            continue
        stats.append(metric(y[idx], pred[idx]))
    if not stats:
        return (float("nan"), float("nan"))
    lo, hi = np.percentile(stats, [2.5, 97.5])
    return (float(lo), float(hi))


def expected_calibration_error(
    y: np.ndarray, p_male: np.ndarray, n_bins: int = 10
) -> tuple[float, list[dict[str, float]]]:
    """ECE over confidence bins, and the bins (for the reliability diagram).

    Confidence is the probability of the predicted class; a bin's gap is
    |accuracy - mean confidence|, weighted by its share of samples.
    """
    conf = np.maximum(p_male, 1 - p_male)
    correct = ((p_male >= 0.5).astype(int) == y).astype(float)
    edges = np.linspace(0.5, 1.0, n_bins + 1)
    bins = []
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        mask = (conf >= lo) & ((conf < hi) if hi < 1.0 else (conf <= hi))
        if not mask.any():
            continue
        acc, mean_conf = float(correct[mask].mean()), float(conf[mask].mean())
        ece += mask.mean() * abs(acc - mean_conf)
        bins.append({"lo": float(lo), "hi": float(hi), "n": int(mask.sum()),
                     "accuracy": acc, "confidence": mean_conf})
    return float(ece), bins


def classification_metrics(
    y: np.ndarray, p_male: np.ndarray, *, n_boot: int = 1000, seed: int = 0
) -> dict[str, Any]:
    """Accuracy and balanced accuracy with 95% CIs, per-class P/R/F1, AUC, kappa, ECE.

    Parameters
    ----------
    y : ndarray of shape (n,), int, 0 female / 1 male
    p_male : ndarray of shape (n,), float, NaN where no face was found

    Returns
    -------
    dict of JSON-ready numbers; curve data under ``roc`` and ``reliability``.
    """
    y = np.asarray(y, dtype=np.int64)
    p_male = np.asarray(p_male, dtype=np.float64)
    pred = _hard(y, p_male)
    found = ~np.isnan(p_male)
    prec, rec, f1, sup = precision_recall_fscore_support(y, pred, labels=[0, 1], zero_division=0)
    out: dict[str, Any] = {
        "n": int(len(y)),
        "n_with_face": int(found.sum()),
        "face_found_rate": float(found.mean()) if len(y) else float("nan"),
        "accuracy": float((pred == y).mean()),
        "accuracy_ci95": bootstrap_ci(y, pred, lambda a, b: float((a == b).mean()),
                                      n=n_boot, seed=seed),
        "balanced_accuracy": float(balanced_accuracy_score(y, pred)),
        "balanced_accuracy_ci95": bootstrap_ci(y, pred, balanced_accuracy_score,
                                               n=n_boot, seed=seed),
        "cohen_kappa": float(cohen_kappa_score(y, pred)),
        "per_class": {
            g: {"precision": float(prec[i]), "recall": float(rec[i]), "f1": float(f1[i]),
                "support": int(sup[i])}
            for i, g in enumerate(GENDERS)
        },
        "confusion_matrix": confusion_matrix(y, pred, labels=[0, 1]).tolist(),
    }
    if found.sum() and len(np.unique(y[found])) == 2:
        yf, pf = y[found], p_male[found]
        fpr, tpr, _ = roc_curve(yf, pf)
        ece, bins = expected_calibration_error(yf, pf)
        out.update({
            "roc_auc": float(roc_auc_score(yf, pf)),
            "ece": ece,
            "accuracy_on_found": float(((pf >= 0.5).astype(int) == yf).mean()),
            "balanced_accuracy_on_found": float(
                balanced_accuracy_score(yf, (pf >= 0.5).astype(int))),
            "roc": {"fpr": fpr.tolist(), "tpr": tpr.tolist()},
            "reliability": bins,
        })
    return out


def choose_threshold(
    y: np.ndarray, p_male: np.ndarray, target_accuracy: float = 0.97
) -> tuple[float, float]:
    """Lowest confidence threshold whose confident answers reach ``target_accuracy``.

    Chosen on validation data. Returns ``(threshold, share_left_uncertain)``;
    when no threshold reaches the target, the one with the best accuracy
    among those keeping at least 20% of answers.
    """
    conf = np.maximum(p_male, 1 - p_male)
    correct = (p_male >= 0.5).astype(int) == y
    best = (0.99, 1.0, -1.0)
    for t in np.round(np.arange(0.5, 1.0, 0.01), 2):
        keep = conf >= t
        if keep.mean() < 0.2:
            break
        acc = float(correct[keep].mean())
        if acc >= target_accuracy:
            return float(t), float(1 - keep.mean())
        if acc > best[2]:
            best = (float(t), float(1 - keep.mean()), acc)
    return best[0], best[1]


def confident_answers(y: np.ndarray, p_male: np.ndarray, threshold: float | np.ndarray
                      ) -> dict[str, float]:
    """Share left uncertain under ``threshold`` (one for all, or one per face) and the
    accuracy of the confident rest."""
    confident = np.maximum(p_male, 1 - p_male) >= threshold
    accuracy = float(((p_male[confident] >= 0.5).astype(int) == y[confident]).mean()) \
        if confident.any() else float("nan")
    return {"uncertain_share": float(1 - confident.mean()), "accuracy_confident": accuracy}
