"""Batch throughput: 1 and 2 local workers and 1 and 2 Dask workers, side by side.

Run from the project root::

    .venv/bin/python benchmarks/batch.py [--n 200] [--out benchmarks/results]

Photos: the first ``n / 2`` IMDB-WIKI photos of each class (sorted names,
so the same set every run), classified with the shipped default model into
a CSV, 16 photos per task as ``facegender batch`` does. For each set-up:

- ``start``: starting the workers (process spawn, or a LocalCluster of worker
  processes with one thread each) and loading the model in each, measured by
  a 4-photo warm-up run;
- ``run``: the timed run over all photos on the warm workers (images/s);
- ``cold``: start and run together, what one ``facegender batch`` call costs.

Every set-up must write the same rows as the single-process run; the check
is in the results. Writes ``batch.{md,json}``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import DATA, RESULTS, machine, machine_line, write_results

from facegender.batch import DEFAULT_CHUNK_SIZE, run_batch
from facegender.batch_output import read_rows
from facegender.engine import open_executor

SETUPS = [("local", 1), ("local", 2), ("dask", 1), ("dask", 2)]


def photo_folder(n: int, tmp: Path) -> Path:
    """A folder of links to the first n/2 female and n/2 male IMDB-WIKI photos."""
    folder = tmp / "photos"
    for gender in ("female", "male"):
        (folder / gender).mkdir(parents=True)
        for p in sorted((DATA / "imdbwiki" / gender).iterdir())[:n // 2]:
            (folder / gender / p.name).symlink_to(p)
    return folder


def measure(kind: str, n: int, folder: Path, warm: Path, tmp: Path) -> dict[str, Any]:
    """Start, warm up and time one set-up; returns its numbers and its rows."""
    load = round(os.getloadavg()[0], 2)
    t0 = time.perf_counter()
    with open_executor(dask=f"local:{n}") if kind == "dask" else open_executor(n) as ex:
        opened = time.perf_counter() - t0
        start = opened + run_batch(warm, tmp / f"warm-{kind}{n}.csv", chunk_size=1,
                                   executor=ex).seconds
        summary = run_batch(folder, tmp / f"{kind}{n}.csv", executor=ex)
    rows = sorted(read_rows(tmp / f"{kind}{n}.csv"),
                  key=lambda r: (r["path"], -1 if r["face"] is None else r["face"]))
    return {"setup": f"{kind} {n}", "executor": summary.executor, "workers": n,
            "start_s": round(start, 2), "run_s": summary.seconds,
            "images_per_s": round(summary.processed / summary.seconds, 2),
            "cold_s": round(start + summary.seconds, 2),
            "cold_images_per_s": round(summary.processed / (start + summary.seconds), 2),
            "faces": summary.faces, "no_face": summary.no_face, "errors": summary.errors,
            "failed": summary.failed, "load_1min": load, "_rows": rows}


def markdown(results: list[dict[str, Any]], m: dict[str, Any], n: int) -> str:
    base = results[0]["images_per_s"]
    by = {r["setup"]: r for r in results}
    lines = [
        "# Batch throughput: local workers and Dask workers",
        "",
        f"`benchmarks/batch.py`: {n} IMDB-WIKI photos (the first {n // 2} of each class), "
        f"shipped eigenface model, CSV output, {DEFAULT_CHUNK_SIZE} photos per task. *start*: "
        "workers started and the model loaded in each (a 4-photo warm-up); *run*: all photos on "
        "the warm workers; *cold*: both, what one `facegender batch` call costs.",
        "",
        machine_line(m),
        "",
        "| set-up | start (s) | run (s) | images/s | vs local 1 | cold (s) | cold images/s "
        "| same rows as local 1 | load (1 min) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['executor']} | {r['start_s']:.1f} | {r['run_s']:.1f} | "
            f"{r['images_per_s']:.2f} | {r['images_per_s'] / base:.2f}× | {r['cold_s']:.1f} | "
            f"{r['cold_images_per_s']:.2f} | {'yes' if r['same_rows'] else '**no**'} | "
            f"{r['load_1min']:.1f} |")
    two_local = by["local 2"]["images_per_s"] / by["local 1"]["images_per_s"]
    two_dask = by["dask 2"]["images_per_s"] / by["dask 1"]["images_per_s"]
    dask_vs_local = by["dask 2"]["images_per_s"] / by["local 2"]["images_per_s"]
    lines += [
        "",
        f"Two workers over one: local {two_local:.2f}×, Dask {two_dask:.2f}×. Dask over the "
        f"local pool at 2 workers: {dask_vs_local:.2f}×. The ceiling is 2× on this "
        f"{m['cores']}-core machine, lower when other work shares it: the last column is the "
        "load average as each set-up started; above the core count, other processes took a "
        "share of the cores. Each photo is a separate detection, so the work splits evenly; "
        "the start-up (spawning interpreters that import OpenCV and scikit-learn, then "
        "loading the model) is paid once per run and amortised by more photos.",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200, help="photos (half of each class)")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    m = machine()
    tmp = Path(tempfile.mkdtemp(prefix="facegender-bench-batch-"))
    try:
        folder = photo_folder(args.n, tmp)
        warm = photo_folder(4, tmp / "warm")
        results = []
        for kind, n in SETUPS:
            r = measure(kind, n, folder, warm, tmp)
            print(f"{r['executor']}: start {r['start_s']:.1f} s, {r['images_per_s']:.2f} "
                  f"images/s", file=sys.stderr)
            results.append(r)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for r in results:
        r["same_rows"] = r["_rows"] == results[0]["_rows"]
    for r in results:
        del r["_rows"]
    write_results(args.out, "batch", {"machine": m, "photos": args.n,
                                      "chunk_size": DEFAULT_CHUNK_SIZE, "results": results},
                  markdown(results, m, args.n))
    print((args.out / "batch.md").read_text())
    return 0 if all(r["same_rows"] and not r["failed"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
