"""The embedding model end to end: its ResNet in numpy (shipped) against dlib's own, one run.

Run from the project root::

    .venv/bin/python benchmarks/embedding_speed.py [--repeats 7] [--out benchmarks/results]

The issue's speed goal is per 640x480 photo *on one core*, so every photo is
timed twice: with OpenCV and numpy's BLAS held to 1 thread (threadpoolctl,
``cv2.setNumThreads``) and with their defaults. In each setting the two
ResNet implementations take turns on the same photos (the latency
benchmark's mosaics of 1, 5 and 20 real faces); "before" is dlib's
``compute_face_descriptor`` on the same aligned chips, i.e. what shipped
until the numpy ResNet. Both give the same vectors (tests/test_resnet.py),
so the faces and answers are identical; only the time differs.
Writes ``embedding_speed.{md,json}``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from common import RESULTS, machine, machine_line, write_results
from latency import ours, photos, side_by_side
from threadpoolctl import threadpool_limits

from facegender.detection.landmarks import models_dir
from facegender.features.embedding import RESNET_FILE, default_embedder
from facegender.persist import load_model

NAMES = {"numpy": "numpy ResNet (shipped)", "dlib": "dlib ResNet (before)"}


def use_resnet(kind: str) -> None:
    """Make the process-wide embedder run the ResNet in numpy or in dlib."""
    import dlib

    embedder = default_embedder()
    if kind == "numpy":
        embedder.__dict__.pop("embed_chips", None)
        return
    net = dlib.face_recognition_model_v1(str(models_dir() / RESNET_FILE))

    def dlib_chips(chips: np.ndarray) -> np.ndarray:
        return np.array([np.asarray(net.compute_face_descriptor(c)) for c in chips],
                        dtype=np.float32).reshape(len(chips), 128)

    embedder.embed_chips = dlib_chips  # type: ignore[method-assign]


def switching(kind: str, runner: Any) -> Any:
    """``runner`` with the embedder switched to ``kind`` before each call."""
    def run(data: bytes) -> Any:
        use_resnet(kind)
        return runner(data)

    return run


def measure(repeats: int) -> list[dict[str, Any]]:
    """Rows of (threads, photo, implementation) timings."""
    model = load_model("embedding")
    runners = {NAMES[k]: switching(k, ours(model)) for k in ("numpy", "dlib")}
    default_threads = cv2.getNumThreads()
    rows = []
    for threads in (1, None):
        cv2.setNumThreads(threads or default_threads)
        with threadpool_limits(limits=threads):
            for name, _, data in photos((640, 1280)):
                result = side_by_side(runners, data, repeats)
                for impl, row in result.items():
                    rows.append({"threads": threads or f"default ({default_threads})",
                                 "photo": name, "implementation": impl, **row})
    cv2.setNumThreads(default_threads)
    use_resnet("numpy")
    return rows


def markdown(rows: list[dict[str, Any]], m: dict[str, Any]) -> str:
    lines = [
        "# The embedding model: numpy ResNet against dlib's, same run",
        "",
        f"Machine: {machine_line(m)}.",
        "",
        "`benchmarks/embedding_speed.py`: ms p50 (p95) per photo, decode to answer, the two "
        "implementations taking turns on each photo; \"preprocess\" is landmarks, alignment and "
        "the ResNet. Same faces, same vectors, same answers.",
        "",
        "| threads | photo | ResNet | faces | detect | preprocess | total | total vs before |",
        "|---|---|---|---|---|---|---|---|",
    ]
    before = {(r["threads"], r["photo"]): r["total"]["p50"] for r in rows
              if r["implementation"] == NAMES["dlib"]}
    for r in rows:
        ratio = r["total"]["p50"] / before[(r["threads"], r["photo"])]
        lines.append(
            f"| {r['threads']} | {r['photo']} | {r['implementation']} | {r['faces']} | "
            f"{r['detect']['p50']:.1f} | {r['preprocess']['p50']:.1f} | "
            f"{r['total']['p50']:.1f} ({r['total']['p95']:.1f}) | {ratio:.2f}x |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    m = machine()
    rows = measure(args.repeats)
    write_results(args.out, "embedding_speed", {"machine": m, "rows": rows}, markdown(rows, m))
    print(markdown(rows, m))


if __name__ == "__main__":
    main()
