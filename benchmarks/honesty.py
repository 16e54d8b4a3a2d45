"""Are a model's sure answers right for every group, pose, size and sharpness?

Run from the project root::

    .venv/bin/python benchmarks/honesty.py [--model eigenface] [--limit 300] \\
        [--out benchmarks/results]

For each face: the served path (the finder's largest face, the model's rows, its
probability and its own uncertain threshold: per guessed age group for models that set
them), plus the head's pose from the 5 landmarks (:func:`facegender.detection.head_pose`),
the face's width in pixels and the aligned chip's sharpness (variance of its Laplacian).
Reported, each with a 95% bootstrap interval: on the UTKFace held-out test part, per age
band and race group, the share left uncertain and the accuracy of the answers not marked
uncertain (issue 18: >= 0.95 from age 10 up and in every race group, >= 0.90 under 10);
on every set, the same per pose, size and sharpness bin; and the sure-but-wrong answers on
pixabay-external with what they look like. Writes ``honesty.{md,json}``.
"""

from __future__ import annotations

import argparse
import csv
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from common import DATA, RESULTS, ci, machine, machine_line, write_results
from heldout import eigenface_test, embedding_test

from facegender.analyze import detector_for, face_features
from facegender.detection import default_aligner, head_pose
from facegender.errors import FaceGenderError
from facegender.images import read_image
from facegender.model import GenderModel
from facegender.persist import load_model, resolve_model_dir
from facegender.training.data import scan_labeled
from facegender.training.fairness import AGE_BANDS, UTK_RACES, age_band, mean_ci

KEYS = ("p_male", "threshold", "yaw", "pitch", "width", "sharpness")
BINS: dict[str, list[tuple[str, float, float]]] = {
    "|yaw| (turned left or right)": [("< 0.1 (facing)", 0, 0.1), ("0.1-0.2", 0.1, 0.2),
                                     ("0.2-0.3", 0.2, 0.3), (">= 0.3 (far turned)", 0.3, 9)],
    "pitch (nose below the eyes)": [("< 0.5 (tipped back or far turned)", 0, 0.5),
                                    ("0.5-0.8", 0.5, 0.8), (">= 0.8", 0.8, 9)],
    "face width px": [("< 80", 0, 80), ("80-200", 80, 200), (">= 200", 200, 1e9)],
    "sharpness": [("< 50 (blurred)", 0, 50), ("50-200", 50, 200), (">= 200", 200, 1e12)],
}


def describe(model: GenderModel, image: np.ndarray) -> list[float]:
    """:data:`KEYS` of the largest face of one photo; NaNs when none is found."""
    boxes = detector_for(model).detect(image)[:1]
    if not boxes:
        return [float("nan")] * len(KEYS)
    rows = face_features(image, boxes, model)
    (yaw, pitch), = head_pose(default_aligner().landmarks(image, boxes))
    chip = default_aligner().chips(image, boxes, 150, 0.25)[0]
    sharp = cv2.Laplacian(cv2.cvtColor(chip, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var()
    widths = np.array([boxes[0].w])
    return [float(model.predict_proba(rows)[0, 1]), float(model.thresholds(rows, widths)[0]),
            float(yaw), float(pitch), float(boxes[0].w), float(sharp)]


def over(model: GenderModel, photos: list[Path]) -> np.ndarray:
    """``(n, len(KEYS))`` for the photos, in two threads."""
    def one(path: Path) -> list[float]:
        try:
            return describe(model, read_image(path))
        except FaceGenderError:
            return [float("nan")] * len(KEYS)

    with ThreadPoolExecutor(2) as pool:
        return np.array(list(pool.map(one, photos)), dtype=np.float64)


def cell(y: np.ndarray, d: np.ndarray, mask: np.ndarray) -> dict[str, Any]:
    """Size, accuracy, share uncertain and the sure answers' accuracy of one group."""
    p, t = d[:, 0], d[:, 1]
    found = mask & ~np.isnan(p)
    right = (p >= 0.5) == (y == 1)
    sure = found & (np.maximum(p, 1 - p) >= t)
    return {"n": int(mask.sum()), "found": int(found.sum()),
            "accuracy": float(right[found].mean()) if found.any() else float("nan"),
            "uncertain_share": float(1 - sure.sum() / found.sum()) if found.any()
            else float("nan"),
            "sure": int(sure.sum()),
            "sure_accuracy": float(right[sure].mean()) if sure.any() else float("nan"),
            "sure_accuracy_ci95": mean_ci(right[sure]) if sure.any() else (float("nan"),) * 2}


def table(title: str, rows: dict[str, dict[str, Any]], goal: str = "") -> list[str]:
    lines = ["", f"#### {title}", "", *( [goal, ""] if goal else []),
             "| group | faces | accuracy | left uncertain | sure answers | sure answers right |",
             "|---|---|---|---|---|---|"]
    for name, c in rows.items():
        sure = f"{c['sure_accuracy']:.3f} {ci(c['sure_accuracy_ci95'], 2)}" if c["sure"] else "—"
        lines.append(f"| {name} | {c['found']} | {c['accuracy']:.3f} | "
                     f"{c['uncertain_share']:.1%} | {c['sure']} | {sure} |")
    return lines


def bins(y: np.ndarray, d: np.ndarray) -> dict[str, dict[str, dict[str, Any]]]:
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for i, (kind, edges) in enumerate(BINS.items()):
        v = np.abs(d[:, 2 + i])
        out[kind] = {label: cell(y, d, (v >= lo) & (v < hi)) for label, lo, hi in edges}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=None, help="at most N photos per set (quick)")
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--model", default=None,
                    help="a shipped model's name or a model folder (default: the default "
                         "model); results go to honesty-NAME.* for a model not the default")
    args = ap.parse_args()
    m = machine()
    model = load_model(args.model)
    default = resolve_model_dir(args.model).resolve() == resolve_model_dir(None).resolve()
    held_out = embedding_test if model.features == "embedding" else eigenface_test
    sets: dict[str, tuple[list[Path], np.ndarray]] = {}
    for name in ("utkface", "imdbwiki"):
        held = held_out(model, DATA / name)
        sets[f"{name} held-out test part"] = (list(held.photos), held.labels)
    pix = scan_labeled(DATA / "pixabay-external")
    sets["pixabay-external (never trained or tuned on)"] = (list(pix.paths), pix.labels)
    results: dict[str, Any] = {"machine": m, "model": model.manifest.get("name"),
                               "thresholds": model.manifest.get("uncertain_thresholds")
                               or model.threshold, "sets": {}}
    md = ["# Honest answers by group, pose, size and sharpness", "", machine_line(m), "",
          f"`benchmarks/honesty.py`, {'default ' if default else ''}model `{model.name}` "
          f"({model.manifest.get('created', '')}); uncertain thresholds "
          f"{results['thresholds']}. A face's answer is *sure* when its confidence reaches "
          "its threshold; intervals are 95% bootstrap intervals of the sure answers' "
          "accuracy. Pose from dlib's 5 landmarks: |yaw| is the nose's offset from the eyes' "
          "midpoint along the eye line and pitch its drop below the eye line, both in "
          "inter-eye distances.", ""]
    for title, (photos, y) in sets.items():
        if args.limit and len(photos) > args.limit:
            keep = np.sort(np.random.default_rng(0).choice(len(photos), args.limit, False))
            photos, y = [photos[i] for i in keep], y[keep]
        d = over(model, photos)
        entry: dict[str, Any] = {"all": cell(y, d, np.ones(len(y), bool)), "bins": bins(y, d)}
        md += [f"## {title}"]
        md += table("all faces", {"all": entry["all"]})
        if title.startswith("utkface"):
            with open(DATA / "utkface" / "labels.csv", newline="") as fh:
                meta = {r["path"]: r for r in csv.DictReader(fh)}
            rel = [meta[p.relative_to(DATA / "utkface").as_posix()] for p in photos]
            bands = np.array([age_band(int(r["age"])) for r in rel])
            races = np.array([r["race"] for r in rel])
            entry["age band"] = {b[2]: cell(y, d, bands == b[2]) for b in AGE_BANDS}
            entry["race"] = {r: cell(y, d, races == r) for r in UTK_RACES.values()}
            md += table("by age band", entry["age band"],
                        "Goal: sure answers >= 0.95 right from 10 up, >= 0.90 under 10.")
            md += table("by race group", entry["race"], "Goal: sure answers >= 0.95 right.")
        for kind, rows in entry["bins"].items():
            md += table(f"by {kind}", rows)
        if title.startswith("pixabay"):
            p = d[:, 0]
            wrong = ~np.isnan(p) & ((p >= 0.5) != (y == 1)) & (np.maximum(p, 1 - p) >= d[:, 1])
            entry["sure_wrong"] = [{"photo": photos[i].name, "label": int(y[i]),
                                    **dict(zip(KEYS, d[i].round(3).tolist(), strict=True))}
                                   for i in np.flatnonzero(wrong)]
            md += ["", f"#### The {int(wrong.sum())} sure but wrong answers", "",
                   "| photo | truth | p(male) | threshold | yaw | pitch | width | sharpness |",
                   "|---|---|---|---|---|---|---|---|",
                   *(f"| {w['photo']} | {'male' if w['label'] else 'female'} | {w['p_male']:.2f} "
                     f"| {w['threshold']:.2f} | {w['yaw']:+.2f} | {w['pitch']:.2f} | "
                     f"{w['width']:.0f} | {w['sharpness']:.0f} |" for w in entry["sure_wrong"])]
        md += [""]
        results["sets"][title] = entry
        print(title, entry["all"], flush=True)
    name = "honesty" if default else f"honesty-{model.name}"
    write_results(args.out, name if args.limit is None else f"{name}_quick", results,
                  "\n".join(md) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
