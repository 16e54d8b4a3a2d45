"""Experiment: does landmark alignment help the eigen-face model? (reports/experiments.md)

For every photo of a labeled folder, two 100x100-ready face images of the
largest face are cut in one pass:

* ``haar``: the shipped eigen-face crop (Haar on a padded copy, square with a
  10% margin), what the model is trained on today;
* ``aligned``: the embedding model's detector (dlib HOG, then Haar with side
  views; measured before the CNN step existed, so without it), dlib's 5
  landmarks and ``get_face_chip`` (eyes level, same place in every chip),
  stored grey at 160 px with padding 0.4 so that tighter paddings are centre
  cuts of it.

Both go through the same preprocessing and the same pipeline (pixel PCA + HOG
PCA + RBF SVM, mirrored training copies) and are compared on the validation
part of one seeded photo-level split (seed 0), on the photos both found a face
in, and each on all its own found photos. The test part is not used here.

With ``--extra FOLDER`` (e.g. utkface) it instead asks whether a second
source helps: aligned chips (padding 0.1) trained on the main folder's
training part alone, then with the extra folder's training part added, each
measured on both folders' validation parts (each folder split with seed 0).

Run: ``python benchmarks/eigenface_alignment.py --data ../shared/data/imdbwiki
[--extra ../shared/data/utkface]``
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import DATA, RESULTS, machine, machine_line  # noqa: E402

STORE, STORE_PAD = 160, 0.4
CACHE = Path.home() / ".cache" / "facegender" / "experiments"


def _cut(paths: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Haar crops and aligned chips (grey, uint8) of the largest face of each photo."""
    import cv2

    from facegender.detection import haar_detector
    from facegender.detection.dlib_chain import DlibDetector, DlibSettings
    from facegender.detection.haar import DetectorSettings
    from facegender.detection.landmarks import default_aligner
    from facegender.errors import FaceGenderError
    from facegender.features.preprocess import crop_face
    from facegender.images import read_image

    haar, hog = haar_detector(DetectorSettings()), DlibDetector(DlibSettings(cnn_work_size=0))
    crops = np.zeros((len(paths), 100, 100), np.uint8)
    chips = np.zeros((len(paths), STORE, STORE), np.uint8)
    for i, p in enumerate(paths):
        try:
            image = read_image(p)
        except FaceGenderError:
            continue
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        boxes = haar.detect(image)
        if boxes:
            face = crop_face(gray, boxes[0])
            crops[i] = cv2.resize(face, (100, 100), interpolation=cv2.INTER_AREA
                                  if min(face.shape) >= 100 else cv2.INTER_LINEAR)
        boxes = hog.detect(image)
        if boxes:
            chip = default_aligner().chips(image, boxes[:1], STORE, STORE_PAD)[0]
            chips[i] = cv2.cvtColor(chip, cv2.COLOR_RGB2GRAY)
    return crops, chips


def cut_folder(root: Path, workers: int = 2) -> dict[str, np.ndarray]:
    """Cached :func:`_cut` over a labeled folder, in spawned worker processes."""
    from facegender.threads import process_pool
    from facegender.training.data import scan_labeled

    labeled = scan_labeled(root)
    cache = CACHE / f"align-{root.name}-{labeled.files_hash()[:12]}.npz"
    if cache.is_file():
        return dict(np.load(cache))
    paths = [str(p) for p in labeled.paths]
    chunks = [paths[i:i + 64] for i in range(0, len(paths), 64)]
    with process_pool(workers) as pool:
        parts = list(pool.map(_cut, chunks))
    out = {"crops": np.concatenate([c for c, _ in parts]),
           "chips": np.concatenate([c for _, c in parts]), "labels": labeled.labels}
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, **out)
    return out


def aligned_view(chips: np.ndarray, padding: float) -> np.ndarray:
    """Centre cut of the stored chips for a smaller ``padding``, as (n, 100, 100) uint8."""
    import cv2

    side = round(STORE * (1 + 2 * padding) / (1 + 2 * STORE_PAD))
    o = (STORE - side) // 2
    return np.stack([cv2.resize(c[o:o + side, o:o + side], (100, 100),
                                interpolation=cv2.INTER_AREA) for c in chips])


def rows(faces: np.ndarray) -> np.ndarray:
    from facegender.features.preprocess import preprocess_batch

    return preprocess_batch(list(faces))


def fit_score(X: np.ndarray, y: np.ndarray, tr: np.ndarray, va: np.ndarray,
              params: dict[str, Any]) -> float:
    """Validation balanced accuracy of the uncalibrated pipeline trained with mirrored copies."""
    from sklearn.metrics import balanced_accuracy_score

    from facegender.features.preprocess import mirror
    from facegender.model import build_pipeline

    Xt = np.vstack([X[tr], mirror(X[tr])])
    yt = np.concatenate([y[tr], y[tr]])
    pipe = build_pipeline(**params).fit(Xt, yt)
    return float(balanced_accuracy_score(y[va], pipe.predict(X[va])))


def extra_source(main_dir: Path, extra_dir: Path, out: Path) -> None:
    """Validation balanced accuracy per source, trained without and with the extra source."""
    from sklearn.metrics import balanced_accuracy_score

    from facegender.features.preprocess import mirror
    from facegender.model import build_pipeline
    from facegender.training.train_eigenface import split_indices

    parts = {}
    for folder in (main_dir, extra_dir):
        d = cut_folder(folder)
        have = np.flatnonzero(d["chips"].reshape(len(d["labels"]), -1).any(axis=1))
        tr, va, _ = split_indices(d["labels"], 0)
        X = rows(aligned_view(d["chips"], 0.1))
        parts[folder.name] = {"X": X, "y": d["labels"], "tr": np.intersect1d(tr, have),
                              "va": np.intersect1d(va, have)}
    results = []
    for trained_on in ([main_dir.name], [main_dir.name, extra_dir.name]):
        X = np.vstack([parts[n]["X"][parts[n]["tr"]] for n in trained_on])
        y = np.concatenate([parts[n]["y"][parts[n]["tr"]] for n in trained_on])
        t = time.perf_counter()
        pipe = build_pipeline(n_components=100, hog_components=100, C=3.0)
        pipe.fit(np.vstack([X, mirror(X)]), np.concatenate([y, y]))
        row = {"trained_on": " + ".join(trained_on), "train_faces": len(y),
               "seconds": round(time.perf_counter() - t, 1)}
        for n, p in parts.items():
            row[f"val_{n}"] = round(float(balanced_accuracy_score(
                p["y"][p["va"]], pipe.predict(p["X"][p["va"]]))), 4)
        results.append(row)
        print(row, flush=True)
    m = machine()
    names = list(parts)
    lines = ["# Eigen-face model: a second training source", "", machine_line(m), "",
             "Aligned chips (padding 0.1), pixel PCA 100 + HOG PCA 100, C = 3, mirrored "
             "copies, no calibration; each folder split with seed 0, validation parts only.", "",
             "| trained on | training faces | " + " | ".join(f"val {n}" for n in names)
             + " | seconds |", "|---|---|" + "---|" * len(names) + "---|"]
    lines += [f"| {r['trained_on']} | {r['train_faces']} | "
              + " | ".join(f"{r[f'val_{n}']:.4f}" for n in names) + f" | {r['seconds']} |"
              for r in results]
    out.mkdir(parents=True, exist_ok=True)
    (out / "eigenface_extra.md").write_text("\n".join(lines) + "\n")
    (out / "eigenface_extra.json").write_text(
        json.dumps({"machine": m, "results": results}, indent=2) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA / "imdbwiki")
    ap.add_argument("--paddings", type=float, nargs="+", default=[0.1, 0.25, 0.4])
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--extra", type=Path, default=None)
    args = ap.parse_args()
    if args.extra:
        return extra_source(args.data, args.extra, args.out)
    from facegender.training.train_eigenface import split_indices

    t0 = time.perf_counter()
    d = cut_folder(args.data)
    print(f"cut {len(d['labels'])} photos in {time.perf_counter() - t0:.0f} s", flush=True)
    y_all = d["labels"]
    has_haar = d["crops"].reshape(len(y_all), -1).any(axis=1)
    has_chip = d["chips"].reshape(len(y_all), -1).any(axis=1)
    tr_all, va_all, _ = split_indices(y_all, 0)  # photo-level split; test part unused
    params = {"n_components": 100, "hog_components": 100, "C": 3.0}
    results: list[dict[str, Any]] = []

    def run(name: str, faces: np.ndarray, have: np.ndarray) -> None:
        X = rows(faces)
        for subset, keep in (("own faces", have), ("both found", has_haar & has_chip)):
            tr = np.intersect1d(tr_all, np.flatnonzero(keep))
            va = np.intersect1d(va_all, np.flatnonzero(keep))
            t = time.perf_counter()
            score = fit_score(X, y_all, tr, va, params)
            results.append({"faces": name, "subset": subset, "train": len(tr),
                            "validation": len(va), "val_balanced_accuracy": round(score, 4),
                            "seconds": round(time.perf_counter() - t, 1)})
            print(results[-1], flush=True)

    run("haar crop, 10% margin (shipped)", d["crops"], has_haar)
    for pad in args.paddings:
        run(f"aligned chip, padding {pad}", aligned_view(d["chips"], pad), has_chip)
    m = machine()
    lines = ["# Eigen-face alignment experiment", "", machine_line(m), "",
             f"Photos: {len(y_all)} of {args.data.name}; Haar found {has_haar.mean():.1%}, "
             f"dlib HOG + Haar fallback {has_chip.mean():.1%}. Pipeline: pixel PCA 100 + HOG "
             "PCA 100, C = 3, mirrored copies, no calibration; validation part of the seed-0 "
             "photo split.", "",
             "| faces | subset | train | validation | val balanced acc. | seconds |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {r['faces']} | {r['subset']} | {r['train']} | {r['validation']} | "
              f"{r['val_balanced_accuracy']:.4f} | {r['seconds']} |" for r in results]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "eigenface_alignment.md").write_text("\n".join(lines) + "\n")
    (args.out / "eigenface_alignment.json").write_text(
        json.dumps({"machine": m, "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
