"""Honest uncertainty: a stricter threshold where answers are known to be less reliable.

Two such cases, both measured on the validation part. Children and the old: a child's
gender is far harder to tell from a face, and past 70 it gets harder again.
On the UTKFace validation part one confidence threshold for every face left the
model's confident answers 0.72-0.87 accurate for children under 10 while adults' were
0.99 (reports/experiments.md). So the embedding model also guesses an age group from
the same network features (a logistic regression trained on the faces whose age is
known: UTKFace's ``labels.csv``) and each group gets its own uncertain threshold,
chosen on the validation part: the lowest at which we are 95% sure (a one-sided
Clopper-Pearson bound) that the group's sure answers are at least 95% right. Why a bound
and not the observed accuracy: groups differ in size (a few dozen teenagers' faces, a
thousand adults'), and the observed accuracy of a small group's sure answers at its
luckiest threshold promised more than held on other faces (teenagers 0.942, people over
70 0.922 on the other half of the validation faces, 2026-12-04, reports/experiments.md).
The guess is never shown as an answer; it only decides how sure the gender answer must be
before it is given.
Small faces: faces under :data:`SMALL_FACE_PX` wide (low-resolution photos, faces far
away) had sure answers 0.93 right on validation against 0.98 for the others, so they get
their own threshold, which a face's age-group threshold never undercuts.
Pure functions on arrays, plus the ``labels.csv`` reader.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from ..types import NEVER_SURE  # a group sure at no threshold on validation gets it
from .data import LabeledSet

GROUPS: tuple[tuple[str, int, int], ...] = (("0-2", 0, 2), ("3-12", 3, 12), ("13-19", 13, 19),
                                           ("20-59", 20, 59), ("60+", 60, 200))
"""Label, first and last age of each group, youngest first (the classes' order). Babies
apart: with children up to 12 in one group their sure answers on the UTKFace test part
were 0.76 right for babies, 0.92 for ages 3-9. The old apart (since 2026-12-04): with one
adults' group the sure answers of people over 70 were 0.92-0.93 right on validation."""
ADULTS = "20-59"
"""The group whose threshold is the model's single one (``uncertain_threshold``)."""
TARGET = 0.95
"""Issue 18's bar for sure answers, from age 10 up and in every race group."""
CONFIDENCE = 0.95
"""How sure the validation faces must make us that a group's sure answers reach
:data:`TARGET` (the one-sided Clopper-Pearson lower bound at this level)."""
SMALL_FACE_PX = 80
"""Faces narrower than this (box width in original pixels) count as small."""
FLOOR = 0.75
"""No threshold is lower: a calibrated answer under 0.75 is wrong one time in four or more,
so it is uncertain whatever its group's record on validation (which alone chose 0.50 for
adults' normal-sized faces, leaving no adult answer uncertain)."""
YOUNG_MIN_PROBABILITY = 0.8
"""A face counts as a child's or a teenager's only when the age-group model gives those
groups together at least this probability (:func:`..features.guess_groups`; chosen on the
validation halves, 2026-12-04 night: 0.85 let babies' answers be sure and wrong)."""
MIN_SURE_FACES = 10
"""A threshold must leave at least this many sure validation answers to count as reaching
the target (fewer prove nothing)."""
MIN_VALIDATION_FACES = 30
"""A group with fewer validation faces than this gets the strictest of the others'
thresholds: too few to choose its own."""


def ages_of(labeled: LabeledSet) -> np.ndarray | None:
    """Age in years per photo from ``labels.csv`` beside the class folders (``path`` and
    ``age`` columns, paths relative to the folder); None when the folder has no ages.
    A photo missing from the file gets -1."""
    table = labeled.root / "labels.csv"
    if not table.is_file():
        return None
    with table.open(newline="") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or not {"path", "age"} <= set(reader.fieldnames):
            return None
        known = {row["path"]: row["age"] for row in reader}
    ages = [known.get(Path(p).relative_to(labeled.root).as_posix(), "") for p in labeled.paths]
    return np.array([int(a) if a.strip().isdigit() else -1 for a in ages], dtype=np.int64)


def group_of(ages: np.ndarray) -> np.ndarray:
    """Index into :data:`GROUPS` of each age (ages outside every group: -1)."""
    out = np.full(len(ages), -1, dtype=np.int64)
    for i, (_, lo, hi) in enumerate(GROUPS):
        out[(ages >= lo) & (ages <= hi)] = i
    return out


def fit_age_groups(X: np.ndarray, ages: np.ndarray, seed: int = 0) -> Pipeline:
    """A scaled multinomial logistic regression from feature rows to :data:`GROUPS`.

    Strongly regularised (C=0.05): on the UTKFace validation part it flagged 93% of the
    children under 13 and 1.6% of older faces as children.
    """
    groups = group_of(ages)
    keep = groups >= 0
    if len(np.unique(groups[keep])) < len(GROUPS):
        raise ValueError(f"age groups need faces of every group {[g[0] for g in GROUPS]}")
    clf = LogisticRegression(C=0.05, max_iter=3000, random_state=seed)
    return Pipeline([("scale", StandardScaler()), ("age", clf)]).fit(X[keep], groups[keep])


def thresholds_by_group(
    y: np.ndarray, p_male: np.ndarray, predicted: np.ndarray, target_accuracy: float = TARGET,
    confidence: float = CONFIDENCE,
) -> dict[str, dict[str, Any]]:
    """Each predicted group's uncertain threshold, chosen on validation faces.

    Within the group, the lowest threshold (:data:`FLOOR`, +0.01, ...) whose sure answers, at
    least :data:`MIN_SURE_FACES` of them, reach ``target_accuracy`` with ``confidence``
    (:func:`lower_bound`); :data:`NEVER_SURE` when none
    does (unlike the single threshold, which then keeps the best fifth of the answers: a
    group where the model cannot be trusted is told so). A group with fewer than
    :data:`MIN_VALIDATION_FACES` faces takes the strictest threshold of the others.
    """
    out: dict[str, dict[str, Any]] = {}
    for i, (label, _, _) in enumerate(GROUPS):
        mine = predicted == i
        entry: dict[str, Any] = {"validation_faces": int(mine.sum())}
        if mine.sum() >= MIN_VALIDATION_FACES:
            t = _lowest_reaching(y[mine], p_male[mine], target_accuracy, confidence)
            sure = np.maximum(p_male[mine], 1 - p_male[mine]) >= t
            entry.update(threshold=t, uncertain_share_validation=float(1 - sure.mean()))
        out[label] = entry
    chosen = [e["threshold"] for e in out.values() if "threshold" in e]
    strictest = max(chosen) if chosen else 0.99
    for entry in out.values():
        entry.setdefault("threshold", strictest)
    return out


def age_groups_manifest(by_group: dict[str, dict[str, Any]], trained_on: list[str]
                        ) -> dict[str, Any]:
    """A model's manifest entries for its age groups' bars (:func:`thresholds_by_group`):
    ``uncertain_thresholds`` and ``age_groups``, what :meth:`..model.GenderModel.thresholds`
    reads, the same for both kinds of model."""
    return {
        "uncertain_thresholds": {k: v["threshold"] for k, v in by_group.items()},
        "age_groups": {
            "labels": [label for label, _, _ in GROUPS],  # a list: the manifest's keys are sorted
            "ages": {label: [lo, hi] for label, lo, hi in GROUPS}, "per_group": by_group,
            "trained_on": trained_on, "young_min_probability": YOUNG_MIN_PROBABILITY,
            "target": {"accuracy": TARGET, "confidence": CONFIDENCE,
                       "rule": "the lowest bar whose sure validation answers' one-sided "
                               "Clopper-Pearson lower bound reaches the accuracy"},
            "note": "a guessed age group only sets how sure an answer must be; it is never "
                    "shown. The single threshold is the adults' (20-59)."}}


def lower_bound(right: int, answers: int, confidence: float) -> float:
    """The one-sided Clopper-Pearson lower bound of an accuracy of ``right`` of ``answers``:
    the true accuracy is at least this with ``confidence`` (exact for any count)."""
    from scipy.stats import beta

    if right == 0:
        return 0.0
    return float(beta.ppf(1 - confidence, right, answers - right + 1))


def _lowest_reaching(y: np.ndarray, p_male: np.ndarray, target: float,
                     confidence: float | None = None) -> float:
    """The lowest threshold from :data:`FLOOR` up whose sure answers (>= :data:`MIN_SURE_FACES`)
    reach ``target``: their accuracy's :func:`lower_bound` at ``confidence``, or when None
    their observed accuracy."""
    conf = np.maximum(p_male, 1 - p_male)
    right = (p_male >= 0.5) == (y == 1)
    for t in np.round(np.arange(FLOOR, 1.0, 0.01), 2):
        sure = conf >= t
        n = int(sure.sum())
        if n < MIN_SURE_FACES:
            break
        k = int(right[sure].sum())
        if (k / n if confidence is None else lower_bound(k, n, confidence)) >= target:
            return float(t)
    return NEVER_SURE


def small_face_threshold(y: np.ndarray, p_male: np.ndarray, widths: np.ndarray,
                         target_accuracy: float = 0.97) -> dict[str, Any] | None:
    """The small faces' threshold, chosen on the validation faces under
    :data:`SMALL_FACE_PX` wide; None when there are fewer than :data:`MIN_VALIDATION_FACES`.

    By their observed accuracy (0.97), not a bound: they are nearly all IMDB-WIKI's, whose
    labels are about 1 in 15 wrong, so a bound at 0.95 left 29% of that source's answers
    uncertain instead of 18% on validation, for no gain where the labels are right.
    """
    small = widths < SMALL_FACE_PX
    if small.sum() < MIN_VALIDATION_FACES:
        return None
    t = _lowest_reaching(y[small], p_male[small], target_accuracy)
    sure = np.maximum(p_male[small], 1 - p_male[small]) >= t
    return {"below_px": SMALL_FACE_PX, "threshold": t, "validation_faces": int(small.sum()),
            "uncertain_share_validation": float(1 - sure.mean())}
