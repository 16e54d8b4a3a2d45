"""The embedding model end to end: its ResNet in onnxruntime, int8 (shipped) and float, and
in dlib, one run.

Run from the project root::

    .venv/bin/python benchmarks/embedding_speed.py [--repeats 7] [--out benchmarks/results]

The issue's speed goal is per 640x480 photo *on one core*, so every photo is
timed twice: with OpenCV and numpy's BLAS held to 1 thread (threadpoolctl,
``cv2.setNumThreads``) and with their defaults. In each setting the shipped model's
network in 8-bit integers (:mod:`facegender.features.resnet_int8`, since 2026-12-04) and
the same graph in float take turns on the same photos (the latency benchmark's mosaics of
1, 5 and 20 real faces); int8's rows are within a cosine of 0.998 of float's, so the faces
are the same and the answers nearly so. dlib's own ``compute_face_descriptor`` (served
until 2026-12-03; a numpy pass between, 13.4 ms a face against onnxruntime's 5.0 in this
page's git history) gives only the 128-d embedding, not the inner layer the model reads
since 2026-12-03, so it is timed on the network alone: batches of 1 and 20 real aligned
chips. Writes ``embedding_speed.{md,json}``.
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
from facegender.features.embedding import RESNET_FILE, default_embedder, resnet_weights
from facegender.persist import load_model
from facegender.types import Box

NAMES = {"int8": "onnxruntime ResNet, int8 (shipped)", "onnx": "onnxruntime ResNet, float",
         "dlib": "dlib ResNet (before 2026-12-03)"}
_SESSIONS: dict[tuple[int, str], Any] = {}
_DLIB: dict[str, Any] = {}


def use_threads(threads: int, int8: dict[str, Any]) -> None:
    """Give the process-wide embedder float and int8 onnxruntime sessions with ``threads``
    (0: default)."""
    from facegender.features.resnet_int8 import record_sha256
    from facegender.features.resnet_onnx import OnnxResNet

    embedder = default_embedder()
    for key, record in (("float", None), (record_sha256(int8), int8)):
        if (threads, key) not in _SESSIONS:
            _SESSIONS[(threads, key)] = OnnxResNet(resnet_weights(), threads=threads, int8=record)
        embedder._sessions[key] = _SESSIONS[(threads, key)]


def use_resnet(kind: str) -> None:
    """Make the process-wide embedder run the ResNet in onnxruntime (int8 as the model asks,
    or float whatever it asks) or in dlib."""
    embedder = default_embedder()
    embedder.__dict__.pop("embed_chips", None)
    if kind == "onnx":
        exact = embedder.embed_chips
        embedder.embed_chips = (  # type: ignore[method-assign]
            lambda chips, outputs=("embedding",), int8=None: exact(chips, outputs))
    elif kind == "dlib":
        embedder.embed_chips = dlib_embed  # type: ignore[method-assign]


def dlib_embed(chips: np.ndarray, *_: Any) -> np.ndarray:
    """dlib's own vectors of aligned chips, one at a time (it takes no batch)."""
    import dlib

    net = _DLIB.setdefault("net", dlib.face_recognition_model_v1(
        str(models_dir() / RESNET_FILE)))
    return np.array([np.asarray(net.compute_face_descriptor(c)) for c in chips],
                    dtype=np.float32).reshape(len(chips), 128)


def switching(kind: str, runner: Any) -> Any:
    """``runner`` with the embedder switched to ``kind`` before each call."""
    def run(data: bytes) -> Any:
        use_resnet(kind)
        return runner(data)

    return run


def measure(repeats: int) -> list[dict[str, Any]]:
    """Rows of (threads, photo, implementation) timings."""
    model = load_model("embedding")
    assert model.int8 is not None, "the shipped model runs the network in int8"
    # dlib's network gives the 128-d embedding only, not the inner layer this model reads:
    # it is timed in the network table below
    runners = {NAMES[k]: switching(k, ours(model)) for k in ("int8", "onnx")}
    default_threads = cv2.getNumThreads()
    rows = []
    for threads in (1, None):
        cv2.setNumThreads(threads or default_threads)
        use_threads(threads or 0, model.int8)
        with threadpool_limits(limits=threads):
            for name, _, data in photos((640, 1280)):
                result = side_by_side(runners, data, repeats)
                for impl, row in result.items():
                    rows.append({"threads": threads or f"default ({default_threads})",
                                 "photo": name, "implementation": impl, **row})
    cv2.setNumThreads(default_threads)
    use_resnet("int8")
    return rows


def network_only(repeats: int) -> list[dict[str, Any]]:
    """ms per face of the network alone on 1 and 20 aligned chips, per runtime and threads."""
    import time

    from common import DATA

    from facegender.features.resnet_int8 import record_sha256
    from facegender.images import read_image
    from facegender.training.data import scan_labeled

    int8 = load_model("embedding").int8
    assert int8 is not None
    embedder = default_embedder()
    paths = scan_labeled(DATA / "utkface").paths[:40]
    chips = np.concatenate([embedder.chips(img, [Box(0, 0, img.shape[1], img.shape[0])])
                            for img in (read_image(p) for p in paths)])[:20]
    rows = []
    for threads in (1, 0):
        use_threads(threads, int8)
        with threadpool_limits(limits=threads or None):
            for n in (1, 20):
                batch = chips[:n]
                for kind, run in (("int8", embedder._sessions[record_sha256(int8)].embed),
                                  ("onnx", embedder._sessions["float"].embed),
                                  ("dlib", dlib_embed)):
                    run(batch)
                    times = []
                    for _ in range(repeats):
                        t0 = time.perf_counter()
                        run(batch)
                        times.append((time.perf_counter() - t0) * 1e3 / n)
                    rows.append({"threads": threads or "default", "batch": n, "runtime": kind,
                                 "ms_per_face": float(np.median(times))})
    return rows


def markdown(rows: list[dict[str, Any]], m: dict[str, Any],
             network: list[dict[str, Any]]) -> str:
    lines = [
        "# The embedding model: its ResNet in onnxruntime and in dlib, same run",
        "",
        machine_line(m),
        "",
        "`benchmarks/embedding_speed.py`: ms p50 (p95) per photo, decode to answer, the two "
        "implementations taking turns on each photo; \"preprocess\" is landmarks, alignment and "
        "the ResNet. Same faces; int8's rows within a cosine of 0.998 of float's. dlib's own "
        "network gives only the 128-d embedding, not the inner layer the shipped model reads "
        "(since 2026-12-03), so it is timed on the network alone below.",
        "",
        "| threads | photo | ResNet | faces | detect | preprocess | total | total vs float |",
        "|---|---|---|---|---|---|---|---|",
    ]
    before = {(r["threads"], r["photo"]): r["total"]["p50"] for r in rows
              if r["implementation"] == NAMES["onnx"]}
    for r in rows:
        ratio = r["total"]["p50"] / before[(r["threads"], r["photo"])]
        lines.append(
            f"| {r['threads']} | {r['photo']} | {r['implementation']} | {r['faces']} | "
            f"{r['detect']['p50']:.1f} | {r['preprocess']['p50']:.1f} | "
            f"{r['total']['p50']:.1f} ({r['total']['p95']:.1f}) | {ratio:.2f}x |")
    lines += ["", "The network alone, ms per face (median), on real aligned UTKFace chips (dlib: "
              "its 128-d descriptor, one chip at a time):", "",
              "| threads | batch | onnxruntime int8 | onnxruntime float | dlib "
              "| float / int8 | dlib / int8 |",
              "|---|---|---|---|---|---|---|"]
    net = {(r["threads"], r["batch"], r["runtime"]): r["ms_per_face"] for r in network}
    for threads, batch in sorted({(r["threads"], r["batch"]) for r in network}, key=str):
        i, o, n = (net[(threads, batch, k)] for k in ("int8", "onnx", "dlib"))
        lines.append(f"| {threads} | {batch} | {i:.2f} | {o:.2f} | {n:.1f} | {o / i:.1f}x "
                     f"| {n / i:.0f}x |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    m = machine()
    rows = measure(args.repeats)
    network = network_only(max(args.repeats, 5))
    md = markdown(rows, m, network)
    write_results(args.out, "embedding_speed", {"machine": m, "rows": rows, "network": network},
                  md)
    print(md)


if __name__ == "__main__":
    main()
