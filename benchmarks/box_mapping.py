"""Fit BlazeFace's box to dlib's, and check the aligned chips stay the same.

Run from the project root::

    .venv/bin/python benchmarks/box_mapping.py [--photos 400] [--out benchmarks/results]

Why: both classifiers read faces aligned by dlib's 5-point landmark model, which
was trained on dlib's own detector's boxes and starts from a mean face placed in
the box. On IMDB-WIKI training photos (a seeded sample; never pixabay-external)
where dlib's HOG detector and BlazeFace's full-range model each find exactly one
face, and the two overlap, this measures dlib's box against BlazeFace's (side
ratio, centre shift), which :class:`facegender.detection.FinderSettings` records
as ``box_scale`` and ``box_shift``. Then, on the same faces, it compares what
the models read from dlib's box and from the mapped BlazeFace box: the 128-d
embedding (distance; dlib calls two faces the same person under 0.6), the
shipped embedding model's P(male) and answer, and the eigen-face model's 100x100
chip. Writes ``box_mapping.md`` and ``box_mapping.json``.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA, RESULTS, machine, machine_line, write_results  # noqa: E402

import facegender  # noqa: E402
from facegender.detection import DlibSettings, FinderSettings, dlib_detector, face_finder  # noqa: E402
from facegender.features import default_embedder, face_images, preprocess_batch  # noqa: E402
from facegender.types import Box  # noqa: E402

HOG_ONLY = DlibSettings(haar_fallback=False, cnn_work_size=0, small_face_size=0)


def sample(n: int, seed: int = 0) -> list[Path]:
    rows = list(csv.DictReader((DATA / "imdbwiki" / "labels.csv").open()))
    random.Random(seed).shuffle(rows)
    return [DATA / "imdbwiki" / r["path"] for r in rows[:n]]


def pairs(photos: list[Path]) -> list[tuple[np.ndarray, Box, np.ndarray]]:
    """(image, dlib box, BlazeFace box x0 y0 x1 y1) where each finds one overlapping face."""
    finder, hog = face_finder(), dlib_detector(HOG_ONLY)
    out = []
    for path in photos:
        image = facegender.read_image(path)
        found, _ = finder.find(image)
        d = hog.detect(image)
        if len(found.scores) != 1 or len(d) != 1:
            continue
        x0, y0, x1, y1 = found.boxes[0]
        blaze = Box(int(x0), int(y0), int(x1 - x0), int(y1 - y0))
        if blaze.iou(d[0]) >= 0.3:
            out.append((image, d[0], found.boxes[0]))
    return out


def fit(found: list[tuple[np.ndarray, Box, np.ndarray]]) -> dict[str, float]:
    """Median side ratio and centre shift (down, in dlib box sides) over the pairs."""
    ratio, dx, dy = [], [], []
    for _, d, (x0, y0, x1, y1) in found:
        side = max(x1 - x0, y1 - y0)
        ratio.append(max(d.w, d.h) / side)
        dx.append((d.x + d.w / 2 - (x0 + x1) / 2) / max(d.w, d.h))
        dy.append((d.y + d.h / 2 - (y0 + y1) / 2) / max(d.w, d.h))
    return {"box_scale": float(np.median(ratio)), "box_shift": float(np.median(dy)),
            "shift_x": float(np.median(dx)), "ratio_iqr": [float(np.quantile(ratio, q))
                                                          for q in (0.25, 0.75)]}


def mapped(image: np.ndarray, box: np.ndarray, scale: float, shift: float) -> Box:
    x0, y0, x1, y1 = (float(v) for v in box)
    side = max(x1 - x0, y1 - y0) * scale
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2 + shift * side
    h, w = image.shape[:2]
    bx0, by0 = max(0, round(cx - side / 2)), max(0, round(cy - side / 2))
    bx1, by1 = min(w, round(cx + side / 2)), min(h, round(cy + side / 2))
    return Box(bx0, by0, bx1 - bx0, by1 - by0)


def compare(found: list[tuple[np.ndarray, Box, np.ndarray]], scale: float, shift: float
            ) -> dict[str, float]:
    """What the models read from dlib's box vs the mapped BlazeFace box, over the pairs."""
    emb_model = facegender.load_model("embedding")
    eig_model = facegender.load_model("eigenface")
    embedder = default_embedder()
    dist, dp, same, chip = [], [], [], []
    for image, d, b in found:
        m = mapped(image, b, scale, shift)
        e = embedder.embed(image, [d, m])
        dist.append(float(np.linalg.norm(e[0] - e[1])))
        p = emb_model.predict_proba(e)[:, 1]
        dp.append(abs(float(p[0] - p[1])))
        same.append((p[0] > 0.5) == (p[1] > 0.5))
        rows = preprocess_batch(face_images(image, [d, m], eig_model.align_padding))
        chip.append(float(np.abs(rows[0] - rows[1]).mean()))
    q = np.quantile
    return {"faces": len(found),
            "embedding_distance_median": float(np.median(dist)),
            "embedding_distance_p95": float(q(dist, 0.95)),
            "embedding_distance_max": float(np.max(dist)),
            "p_male_diff_median": float(np.median(dp)),
            "p_male_diff_p95": float(q(dp, 0.95)),
            "same_answer": float(np.mean(same)),
            "eigen_chip_mad_median": float(np.median(chip)),
            "eigen_chip_mad_p95": float(q(chip, 0.95))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", type=int, default=400)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    cv2.setNumThreads(1)
    m = machine()
    found = pairs(sample(args.photos))
    fitted = fit(found)
    raw = compare(found, 1.0, 0.0)
    fit_cmp = compare(found, fitted["box_scale"], fitted["box_shift"])
    settings = FinderSettings()
    data = {"machine": m, "photos": args.photos, "pairs": len(found), "fit": fitted,
            "settings": {"box_scale": settings.box_scale, "box_shift": settings.box_shift},
            "unmapped": raw, "mapped": fit_cmp}
    rows = "\n".join(
        f"| {name} | {r['embedding_distance_median']:.3f} / {r['embedding_distance_p95']:.3f}"
        f" / {r['embedding_distance_max']:.3f} | {r['p_male_diff_median']:.3f} / "
        f"{r['p_male_diff_p95']:.3f} | {r['same_answer']:.3f} | "
        f"{r['eigen_chip_mad_median']:.4f} / {r['eigen_chip_mad_p95']:.4f} |"
        for name, r in (("BlazeFace box as it is", raw),
                        (f"mapped (side x {fitted['box_scale']:.3f}, centre "
                         f"{fitted['box_shift']:+.3f} side down)", fit_cmp)))
    md = f"""# BlazeFace boxes as dlib's landmark model expects them

{machine_line(m)}

{args.photos} IMDB-WIKI photos (seed 0); in {len(found)} of them dlib's HOG detector and
BlazeFace's full-range model each find one face and the two overlap (IoU >= 0.3).

**Fit** (medians over those faces): dlib's box side = **{fitted['box_scale']:.3f}** x
BlazeFace's (interquartile range {fitted['ratio_iqr'][0]:.3f}-{fitted['ratio_iqr'][1]:.3f}),
centre {fitted['box_shift']:+.3f} of a side lower and {fitted['shift_x']:+.3f} to the right.
Shipped settings: `box_scale={settings.box_scale}`, `box_shift={settings.box_shift}`.

**What the models read** from dlib's box vs BlazeFace's, same faces (median / 95th percentile
/ max; dlib calls two photos the same person when their embeddings are under 0.6 apart;
P(male) from the shipped embedding model; MAD: mean absolute difference of the eigen-face
model's 100x100 chip, pixels in 0-1):

| BlazeFace box | embedding distance | P(male) diff. | same answer | eigen-face chip MAD |
|---|---|---|---|---|
{rows}
"""
    write_results(args.out, "box_mapping", data, md)
    print(md)


if __name__ == "__main__":
    main()
