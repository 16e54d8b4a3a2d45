"""Latency per stage and end to end, both shipped models side by side in one run.

Run from the project root::

    .venv/bin/python benchmarks/latency.py [--repeats 15] [--out benchmarks/results]

Photos: ``detection/portraits/obama_and_biden.jpg`` (2 faces) and ``obama.jpg``
(1 face) resized to 320, 640, 1280 and 1920 pixels wide, plus the
``bald_guys.jpg`` collage (many faces) at 1280. Each model analyzes each photo
``repeats`` times after one warm-up (models and detectors loaded once, as in
the web app); p50/p95 of decode, detect, preprocess (crops, or embeddings for
the embedding model), classify and total, plus classification time per face.
The embedding model's time is also given as a ratio to the eigen-face model's,
measured in the same run, because these machines are noisy. Writes
``latency.md`` and ``latency.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from facegender.analyze import analyze_image, detector_for
from facegender.images import decode_image
from facegender.persist import load_model

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "detection"
WIDTHS = (320, 640, 1280, 1920)
STAGES = ("decode", "detect", "preprocess", "classify", "total")


def photos() -> list[tuple[str, bytes]]:
    """(name, JPEG bytes) for every size and face count."""
    out = []
    for name in ("obama.jpg", "obama_and_biden.jpg"):
        image = cv2.imread(str(DATA / "portraits" / name))
        for width in WIDTHS:
            h = round(image.shape[0] * width / image.shape[1])
            resized = cv2.resize(image, (width, h), interpolation=cv2.INTER_AREA)
            ok, buf = cv2.imencode(".jpg", resized, [cv2.IMWRITE_JPEG_QUALITY, 90])
            out.append((f"{name.removesuffix('.jpg')} {width}x{h}", buf.tobytes()))
    group = cv2.imread(str(DATA / "group" / "bald_guys.jpg"))
    h = round(group.shape[0] * 1280 / group.shape[1])
    ok, buf = cv2.imencode(".jpg", cv2.resize(group, (1280, h)), [cv2.IMWRITE_JPEG_QUALITY, 90])
    out.append((f"bald_guys 1280x{h}", buf.tobytes()))
    return out


def measure(model: Any, data: bytes, repeats: int) -> dict[str, Any]:
    """p50/p95 per stage (ms) over ``repeats`` runs after a warm-up; faces found."""
    detector = detector_for(model)
    runs: dict[str, list[float]] = {s: [] for s in STAGES}
    faces = 0
    for i in range(repeats + 1):
        t0 = time.perf_counter()
        image = decode_image(data)
        decode_ms = (time.perf_counter() - t0) * 1e3
        analysis = analyze_image(image, model, detector=detector)
        total = (time.perf_counter() - t0) * 1e3
        if i == 0:
            faces = len(analysis.faces)
            continue
        runs["decode"].append(decode_ms)
        for stage in ("detect", "preprocess", "classify"):
            runs[stage].append(analysis.timings_ms[stage])
        runs["total"].append(total)
    out: dict[str, Any] = {"faces": faces}
    for stage, values in runs.items():
        out[stage] = {"p50": float(np.percentile(values, 50)),
                      "p95": float(np.percentile(values, 95))}
    out["classify_per_face_ms"] = out["classify"]["p50"] / faces if faces else None
    return out


def to_markdown(rows: list[dict[str, Any]], machine: dict[str, Any]) -> str:
    lines = ["# Latency per stage", "",
             f"`benchmarks/latency.py`, {machine['cpu']}, {machine['cores']} cores, Python "
             f"{machine['python']}, OpenCV {machine['opencv']}; ms, p50 (p95) over "
             f"{machine['repeats']} runs after a warm-up, one request at a time.", "",
             "| photo | model | faces | decode | detect | preprocess | classify | total | "
             "classify / face | total vs eigenface |", "|---|---|---|---|---|---|---|---|---|---|"]
    base = {r["photo"]: r["total"]["p50"] for r in rows if r["model"] == "eigenface"}
    for r in rows:
        cells = [f"{r[s]['p50']:.1f} ({r[s]['p95']:.1f})" for s in STAGES]
        per_face = r["classify_per_face_ms"]
        per_face_cell = f"{per_face:.2f}" if per_face is not None else "—"
        ratio = r["total"]["p50"] / base[r["photo"]] if base.get(r["photo"]) else float("nan")
        lines.append(f"| {r['photo']} | {r['model']} | {r['faces']} | " + " | ".join(cells)
                     + f" | {per_face_cell} | {ratio:.2f}× |")
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = ap.parse_args()
    models = [load_model("eigenface"), load_model("embedding")]
    rows = []
    for name, data in photos():
        for model in models:
            rows.append({"photo": name, "model": model.name,
                         **measure(model, data, args.repeats)})
            print(f"{name:28s} {model.name:10s} total p50 {rows[-1]['total']['p50']:7.1f} ms",
                  flush=True)
    machine = {"cpu": platform.processor() or platform.machine(), "cores": cv2.getNumberOfCPUs(),
               "python": platform.python_version(), "opencv": cv2.__version__,
               "repeats": args.repeats}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "latency.json").write_text(json.dumps({"machine": machine, "rows": rows},
                                                      indent=1))
    (args.out / "latency.md").write_text(to_markdown(rows, machine))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
