"""Results per group (age band, race group, gender), each with a 95% bootstrap interval.

A model's overall accuracy can hide a group it fails; the model card and the
accuracy benchmark report every group's recall per gender so that such a
group shows, with an interval wide enough to say when a group is too small to
conclude anything. Pure functions on arrays: ``y`` holds 0 (female) or
1 (male), ``p_male`` the predicted probability of male, NaN where no face was
found (counted as wrong, as in :mod:`facegender.training.evaluate`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..types import GENDERS

#: Age bands for UTKFace's ages (1-116): childhood split finer, where models fail most.
AGE_BANDS: tuple[tuple[int, int, str], ...] = (
    (0, 2, "0-2"), (3, 9, "3-9"), (10, 19, "10-19"), (20, 29, "20-29"), (30, 39, "30-39"),
    (40, 49, "40-49"), (50, 59, "50-59"), (60, 69, "60-69"), (70, 200, "70+"),
)
#: UTKFace's race codes, as its authors name them.
UTK_RACES: dict[int, str] = {0: "white", 1: "black", 2: "asian", 3: "indian", 4: "other"}


def age_band(age: int) -> str:
    """The :data:`AGE_BANDS` label of an age in years; ValueError outside 0-200."""
    for lo, hi, label in AGE_BANDS:
        if lo <= age <= hi:
            return label
    raise ValueError(f"age {age} is outside 0-200")


def correct(y: np.ndarray, p_male: np.ndarray) -> np.ndarray:
    """Boolean per sample: right answer; a missing prediction (NaN) is wrong."""
    y = np.asarray(y)
    p = np.asarray(p_male, dtype=np.float64)
    return ~np.isnan(p) & ((p >= 0.5) == (y == 1))


def mean_ci(hits: np.ndarray, *, n_boot: int = 1000, seed: int = 0) -> tuple[float, float]:
    """95% percentile bootstrap interval of the mean of a 0/1 array; NaNs when empty."""
    hits = np.asarray(hits, dtype=np.float64)
    if len(hits) == 0:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    means = rng.choice(hits, size=(n_boot, len(hits)), replace=True).mean(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return (float(lo), float(hi))


def group_metrics(
    y: np.ndarray, p_male: np.ndarray, *, n_boot: int = 1000, seed: int = 0
) -> dict[str, Any]:
    """Size, accuracy and recall per gender of one group, each with a 95% interval.

    Balanced accuracy is the mean of the two recalls, given only when both
    genders are present.
    """
    y = np.asarray(y, dtype=np.int64)
    hits = correct(y, p_male)
    out: dict[str, Any] = {
        "n": int(len(y)),
        "face_found_rate": float((~np.isnan(np.asarray(p_male, float))).mean()) if len(y)
        else float("nan"),
        "accuracy": float(hits.mean()) if len(y) else float("nan"),
        "accuracy_ci95": mean_ci(hits, n_boot=n_boot, seed=seed),
        "recall": {},
    }
    for c, gender in enumerate(GENDERS):
        mine = hits[y == c]
        out["recall"][gender] = {
            "n": int(len(mine)),
            "value": float(mine.mean()) if len(mine) else float("nan"),
            "ci95": mean_ci(mine, n_boot=n_boot, seed=seed),
        }
    recalls = [out["recall"][g]["value"] for g in GENDERS]
    out["balanced_accuracy"] = (float(np.mean(recalls))
                                if all(out["recall"][g]["n"] for g in GENDERS) else float("nan"))
    return out


def breakdown(
    y: np.ndarray, p_male: np.ndarray, groups: Sequence[str], *, order: Sequence[str] = (),
    n_boot: int = 1000, seed: int = 0,
) -> dict[str, dict[str, Any]]:
    """:func:`group_metrics` for every group label in ``groups`` (one label per sample).

    Groups come out in ``order`` first, then the others sorted; empty groups
    are left out.
    """
    labels = np.asarray(groups, dtype=object)
    if len(labels) != len(y):
        raise ValueError(f"{len(labels)} group labels for {len(y)} samples")
    present = set(labels.tolist())
    names = [g for g in order if g in present] + sorted(present - set(order))
    y, p = np.asarray(y), np.asarray(p_male, dtype=np.float64)
    return {g: group_metrics(y[labels == g], p[labels == g], n_boot=n_boot, seed=seed)
            for g in names}


def weakest(
    table: dict[str, dict[str, Any]], *, min_n: int = 30, k: int = 3
) -> list[tuple[str, str, float, tuple[float, float]]]:
    """The ``k`` lowest recalls (group, gender, value, interval) among cells of ``min_n``+ faces.

    Small cells are skipped: their intervals are too wide to call a weakness.
    """
    cells = [(group, gender, r["value"], tuple(r["ci95"]))
             for group, m in table.items() for gender, r in m["recall"].items()
             if r["n"] >= min_n]
    return sorted(cells, key=lambda c: c[2])[:k]  # type: ignore[return-value]
