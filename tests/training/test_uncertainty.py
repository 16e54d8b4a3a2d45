"""Honest uncertainty: ages from labels.csv, age groups, per-group and small-face thresholds."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from facegender.training.data import scan_labeled
from facegender.training.uncertainty import (
    FLOOR,
    GROUPS,
    MIN_VALIDATION_FACES,
    NEVER_SURE,
    ages_of,
    group_of,
    lower_bound,
    thresholds_by_group,
)


def test_ages_come_from_the_labels_file(shared_data: Path) -> None:
    """UTKFace's labels.csv gives every photo its age; IMDB-WIKI's has none."""
    utk = scan_labeled(shared_data / "utkface")
    ages = ages_of(utk)
    assert ages is not None and len(ages) == len(utk) and (ages >= 1).all()
    with (shared_data / "utkface" / "labels.csv").open(newline="") as fh:
        first = next(csv.DictReader(fh))
    i = [p.relative_to(utk.root).as_posix() for p in utk.paths].index(first["path"])
    assert ages[i] == int(first["age"])
    assert ages_of(scan_labeled(shared_data / "imdbwiki")) is None


def test_groups_cover_every_age() -> None:
    ages = np.array([0, 2, 3, 12, 13, 19, 20, 59, 60, 116, -1])
    assert group_of(ages).tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, -1]
    assert [g[0] for g in GROUPS] == ["0-2", "3-12", "13-19", "20-59", "60+"]


def test_each_group_gets_the_threshold_its_answers_need() -> None:
    """Adults answered right when sure get a low threshold; children whose sure answers
    are often wrong get a high one; babies answered at random are never sure; a group
    with too few faces takes the strictest threshold of the others."""
    rng = np.random.default_rng(0)
    n = 400
    p = rng.uniform(0.5, 1.0, 4 * n)
    p_male = np.where(rng.random(4 * n) < 0.5, p, 1 - p)
    y = (p_male >= 0.5).astype(int)
    predicted = np.repeat([3, 1, 0, 2], n)
    conf = np.maximum(p_male, 1 - p_male)
    wrong = (predicted == 1) & (conf < 0.9) & (rng.random(4 * n) < 0.5)
    y[wrong] = 1 - y[wrong]  # children: half the answers under 0.9 confidence are wrong
    babies = predicted == 0
    y[babies] = rng.integers(0, 2, babies.sum())  # babies: the answers are coin flips
    predicted[3 * n + MIN_VALIDATION_FACES - 1:] = 3  # teens: too few to choose their own
    table = thresholds_by_group(y, p_male, predicted)
    assert table["20-59"]["threshold"] == FLOOR  # right when sure, yet never under the floor
    assert 0.4 < table["20-59"]["uncertain_share_validation"] < 0.6
    assert 0.85 <= table["3-12"]["threshold"] < 1
    assert table["0-2"]["threshold"] == NEVER_SURE > 1
    assert table["0-2"]["uncertain_share_validation"] == 1
    assert table["13-19"]["validation_faces"] == MIN_VALIDATION_FACES - 1
    assert table["13-19"]["threshold"] == NEVER_SURE
    assert table["60+"]["validation_faces"] == 0 and table["60+"]["threshold"] == NEVER_SURE


def test_a_few_lucky_answers_do_not_make_a_group_sure() -> None:
    """A group whose sure answers are all right but few (20 of 40 faces over 0.9) is not
    trusted on so little: 20 of 20 leaves a true accuracy of 0.86 possible at 95%. With 80
    such answers the bound passes 0.95 and the group gets its threshold."""
    for sure_faces, expected in ((20, NEVER_SURE), (80, 0.86)):
        conf = np.r_[np.full(sure_faces, 0.95), np.full(sure_faces, 0.85)]
        y = np.r_[np.ones(sure_faces, int), np.arange(sure_faces) % 2]  # under 0.9: coin flips
        table = thresholds_by_group(y, conf, np.full(2 * sure_faces, 3))
        assert table["20-59"]["threshold"] == pytest.approx(expected)
    assert lower_bound(20, 20, 0.95) == pytest.approx(0.05 ** (1 / 20))
    assert lower_bound(0, 10, 0.95) == 0.0
    assert 0.95 < lower_bound(990, 1000, 0.95) < 0.99


def test_small_faces_get_their_own_threshold() -> None:
    """Small faces whose sure answers are often wrong need more confidence than the rest;
    too few small faces choose nothing."""
    from facegender.training.uncertainty import SMALL_FACE_PX, small_face_threshold

    rng = np.random.default_rng(1)
    n = 400
    p = rng.uniform(0.5, 1.0, n)
    p_male = np.where(rng.random(n) < 0.5, p, 1 - p)
    y = (p_male >= 0.5).astype(int)
    widths = np.where(np.arange(n) < n // 2, SMALL_FACE_PX - 30, SMALL_FACE_PX + 100)
    wrong = (widths < SMALL_FACE_PX) & (np.maximum(p_male, 1 - p_male) < 0.85) & (
        rng.random(n) < 0.4)
    y[wrong] = 1 - y[wrong]
    small = small_face_threshold(y, p_male, widths)
    assert small is not None and small["below_px"] == SMALL_FACE_PX
    assert 0.8 <= small["threshold"] < 1 and small["validation_faces"] == n // 2
    assert small_face_threshold(y, p_male, np.full(n, SMALL_FACE_PX)) is None


def test_the_shipped_model_asks_more_of_small_faces(astronaut: np.ndarray) -> None:
    """The same face's rows: its age group's threshold when large, the small faces' one
    (never lower) when its box is under the manifest's width."""
    from facegender.detection import face_finder
    from facegender.features import default_embedder
    from facegender.persist import load_model

    model = load_model("embedding")
    small = model.manifest["small_faces"]
    rows = default_embedder().embed(astronaut, face_finder().detect(astronaut)[:1],
                                    model.network_outputs)
    large = model.thresholds(rows, np.array([small["below_px"] + 100]))[0]
    assert large == model.thresholds(rows)[0]
    narrow = model.thresholds(rows, np.array([small["below_px"] - 1]))[0]
    assert narrow == max(large, small["threshold"]) > model.threshold
