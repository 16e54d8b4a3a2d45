"""Per-group recall with intervals: the numbers the model card's fairness tables rest on."""

from __future__ import annotations

import numpy as np
import pytest

from facegender.training.fairness import (
    age_band,
    breakdown,
    correct,
    group_metrics,
    mean_ci,
    weakest,
)


@pytest.mark.parametrize(("age", "band"), [(0, "0-2"), (2, "0-2"), (3, "3-9"), (9, "3-9"),
                                           (10, "10-19"), (29, "20-29"), (69, "60-69"),
                                           (70, "70+"), (116, "70+")])
def test_age_band_edges(age: int, band: str) -> None:
    assert age_band(age) == band


def test_age_band_rejects_negative() -> None:
    with pytest.raises(ValueError, match="-1"):
        age_band(-1)


def test_missing_prediction_is_wrong_for_either_gender() -> None:
    y = np.array([0, 1, 0, 1])
    p = np.array([np.nan, np.nan, 0.2, 0.9])
    assert correct(y, p).tolist() == [False, False, True, True]


def test_mean_ci_brackets_the_mean_and_narrows_with_n() -> None:
    rng = np.random.default_rng(1)
    small, large = rng.random(40) < 0.7, rng.random(4000) < 0.7
    lo_s, hi_s = mean_ci(small)
    lo_l, hi_l = mean_ci(large)
    assert lo_s <= small.mean() <= hi_s
    assert lo_l <= large.mean() <= hi_l
    assert hi_l - lo_l < (hi_s - lo_s) / 3


def test_group_metrics_recall_per_gender() -> None:
    # 4 women: 3 right; 2 men: 1 right, 1 without a face.
    y = np.array([0, 0, 0, 0, 1, 1])
    p = np.array([0.1, 0.3, 0.4, 0.8, 0.9, np.nan])
    m = group_metrics(y, p, n_boot=200)
    assert m["recall"]["female"]["value"] == pytest.approx(0.75)
    assert m["recall"]["male"]["value"] == pytest.approx(0.5)
    assert m["balanced_accuracy"] == pytest.approx(0.625)
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["face_found_rate"] == pytest.approx(5 / 6)
    assert m["recall"]["male"]["n"] == 2


def test_breakdown_orders_groups_and_skips_empty_ones() -> None:
    y = np.array([0, 1, 0, 1, 1])
    p = np.array([0.2, 0.8, 0.7, 0.3, 0.6])
    table = breakdown(y, p, ["b", "a", "b", "c", "a"], order=["c", "x", "b"], n_boot=100)
    assert list(table) == ["c", "b", "a"]
    assert table["a"]["recall"]["male"]["value"] == 1.0
    assert table["b"]["recall"]["female"]["value"] == 0.5
    assert np.isnan(table["c"]["balanced_accuracy"])  # no woman in group c


def test_breakdown_rejects_mismatched_labels() -> None:
    with pytest.raises(ValueError, match="2 group labels for 3"):
        breakdown(np.zeros(3), np.zeros(3), ["a", "b"])


def test_weakest_skips_small_cells() -> None:
    y = np.array([0] * 40 + [1] * 40 + [0] * 5)
    p = np.concatenate([np.full(30, 0.1), np.full(10, 0.9),   # group g: women 0.75
                        np.full(40, 0.9),                      # group g: men 1.0
                        np.full(5, 0.9)])                      # group tiny: women 0.0
    table = breakdown(y, p, ["g"] * 80 + ["tiny"] * 5, n_boot=100)
    worst = weakest(table, min_n=30, k=1)
    assert worst[0][:3] == ("g", "female", 0.75)
