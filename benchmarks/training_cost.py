"""Training cost: time and peak memory of ``facegender train`` on 1/4, 1/2 and all of imdbwiki.

Run from the project root::

    .venv/bin/python benchmarks/training_cost.py [--fractions 0.25 0.5 1] [--quick]

Each run is the real command, ``facegender train --data SUBSET --out SCRATCH
--crops SCRATCH --seed 0``, started cold (its own empty crop folder, so the
cropping is paid for, as a new user pays it), in a scratch folder under
/tmp: never over the shipped model. A subset is a seeded, per-class sample
of the photos, linked into a scratch labeled folder. Peak memory is the
largest sum of resident memory over the command's whole process tree
(cropping and grid search run in worker processes), sampled every 0.2 s.
Accuracy reached is each model's own held-out test split (it grows with the
data, so its interval narrows) and, on one fixed set, pixabay-external end
to end (measured after the timing, never trained or tuned on).
Writes ``training_cost.{md,json,png}``; with the full run it also fills the
default crop cache so ``accuracy.py`` need not crop imdbwiki again.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import psutil
from common import DATA, RESULTS, ROOT, ci, machine, machine_line, save_figure, write_results

SCRATCH = Path("/tmp/facegender-bench/training")


def subset_folder(src: Path, fraction: float, dst: Path, seed: int = 0) -> Path:
    """A labeled folder of symlinks to a seeded ``fraction`` of each class of ``src``."""
    from facegender.training.data import scan_labeled

    if fraction >= 1:
        return src
    labeled = scan_labeled(src)
    rng = np.random.default_rng(seed)
    shutil.rmtree(dst, ignore_errors=True)
    for c, gender in enumerate(("female", "male")):
        idx = np.flatnonzero(labeled.labels == c)
        keep = rng.choice(idx, round(len(idx) * fraction), replace=False)
        (dst / gender).mkdir(parents=True)
        for i in sorted(keep):
            (dst / gender / labeled.paths[i].name).symlink_to(labeled.paths[i])
    return dst


def run_measured(cmd: list[str], timeout: float) -> dict[str, Any]:
    """Wall time and peak resident memory of ``cmd``'s whole process tree."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    root = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        if time.perf_counter() - t0 > timeout:
            proc.kill()
            raise TimeoutError(f"{cmd} took more than {timeout} s")
        try:
            tree = [root, *root.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.2)
    seconds = time.perf_counter() - t0
    output = proc.stdout.read() if proc.stdout else ""
    if proc.returncode:
        raise RuntimeError(f"{cmd} failed ({proc.returncode}):\n{output[-2000:]}")
    return {"seconds": round(seconds, 1), "peak_rss_mb": round(peak / 2**20, 1)}


def one_run(fraction: float, quick: bool, timeout: float, resume: bool) -> dict[str, Any]:
    """Train on ``fraction`` of imdbwiki in a scratch folder; cost and accuracy reached.

    The cost is saved in the scratch folder as soon as it is measured; with
    ``resume`` a finished run's cost and model are reused instead of training
    again (a long run killed later need not be repeated).
    """
    work = SCRATCH / f"fraction-{fraction:.2f}"
    saved = work / "cost.json"
    if resume and saved.is_file() and (work / "model" / "manifest.json").is_file():
        cost = json.loads(saved.read_text())
    else:
        shutil.rmtree(work, ignore_errors=True)
        data = subset_folder(DATA / "imdbwiki", fraction, work / "data")
        cmd = [str(ROOT / ".venv" / "bin" / "facegender"), "train", "--data", str(data),
               "--out", str(work / "model"), "--crops", str(work / "crops"), "--seed", "0",
               *(["--quick"] if quick else [])]
        load_before = [round(x, 2) for x in psutil.getloadavg()]
        cost = {**run_measured(cmd, timeout), "load_before": load_before,
                "load_after": [round(x, 2) for x in psutil.getloadavg()]}
        saved.write_text(json.dumps(cost) + "\n")
    return {"fraction": fraction, **cost, **accuracy_reached(work), "crops": str(work / "crops")}


def accuracy_reached(work: Path) -> dict[str, Any]:
    """A trained run's own test split figures and pixabay-external end to end."""
    from facegender.persist import load_model
    from facegender.training.assess import evaluate_folder

    manifest = json.loads((work / "model" / "manifest.json").read_text())
    td, test = manifest["training_data"], manifest["metrics"]["test"]
    external = evaluate_folder(load_model(work / "model"), DATA / "pixabay-external", workers=2)
    return {"photos": td["photos"], "faces": td["faces"], "split": td["split"],
            "train_seconds_in_manifest": manifest["train_seconds"],
            "test_balanced_accuracy": test["balanced_accuracy"],
            "test_balanced_accuracy_ci95": test["balanced_accuracy_ci95"],
            "pixabay_balanced_accuracy": external["balanced_accuracy"],
            "pixabay_balanced_accuracy_ci95": external["balanced_accuracy_ci95"]}


def fill_crop_cache(crops: Path) -> None:
    """Copy the full run's crops to the default cache ``train`` and ``accuracy.py`` use."""
    from facegender.training.crop import CropRecipe
    from facegender.training.train_eigenface import default_crops_dir

    target = default_crops_dir(DATA / "imdbwiki", CropRecipe())
    if not target.exists():
        shutil.copytree(crops, target)


def to_markdown(rows: list[dict[str, Any]], m: dict[str, Any], quick: bool) -> str:
    """The results table, the growth ratios and the gap to the 3-minute target."""
    lines = ["# Training cost", "", machine_line(m), "",
             "`facegender train` from cold (cropping included) on a seeded share of "
             "imdbwiki, " + ("**quick grid** (`--quick`), " if quick
                             else "the default grid (successive halving), ")
             + "2 cores shared with other work. Peak memory: the whole process tree's "
             "resident memory.", "",
             "| share | photos | faces (train/val/test) | time | peak memory | load avg "
             "before → after | test balanced accuracy | pixabay-external balanced accuracy |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        s = r["split"]
        load = (f"{r['load_before'][0]} → {r['load_after'][0]}" if r.get("load_before")
                else "not recorded")
        lines.append(
            f"| {r['fraction']:.2f} | {r['photos']} | {r['faces']} ({s['train']}/"
            f"{s['validation']}/{s['test']}) | {r['seconds']:.0f} s | {r['peak_rss_mb']:.0f} MB | "
            f"{load} | "
            f"{r['test_balanced_accuracy']:.3f} {ci(r['test_balanced_accuracy_ci95'])} | "
            f"{r['pixabay_balanced_accuracy']:.3f} {ci(r['pixabay_balanced_accuracy_ci95'])} |")
    notes = sorted({r["note"] for r in rows if r.get("note")})
    lines += [""] + [f"Note: {n}." for n in notes] if notes else []
    if len(rows) > 1:
        a, b = rows[0], rows[-1]
        growth = b["fraction"] / a["fraction"]
        lines += ["", f"From {a['fraction']:.2f} to {b['fraction']:.2f} of the data "
                  f"({growth:.0f}x the photos): time x{b['seconds'] / a['seconds']:.2f}, "
                  f"peak memory x{b['peak_rss_mb'] / a['peak_rss_mb']:.2f}."]
    full = [r for r in rows if r["fraction"] >= 1]
    if full:
        gap = full[0]["seconds"] / 180
        lines += ["", f"Target: all the data in at most 3 min; measured "
                  f"{full[0]['seconds']:.0f} s, **{gap:.1f}x the target**."]
    lines += ["", "![time and memory against data](training_cost.png)"]
    return "\n".join(lines) + "\n"


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    """Time and peak memory against the number of photos."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3))
    x = [r["photos"] for r in rows]
    ax.plot(x, [r["seconds"] for r in rows], "o-", label="time (s)")
    ax.set_xlabel("photos")
    ax.set_ylabel("seconds")
    ax2 = ax.twinx()
    ax2.plot(x, [r["peak_rss_mb"] for r in rows], "s--", color="tab:orange", label="peak MB")
    ax2.set_ylabel("peak resident MB")
    fig.legend(loc="upper left", fontsize=8)
    save_figure(fig, path)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fractions", type=float, nargs="+", default=[0.25, 0.5, 1.0])
    ap.add_argument("--quick", action="store_true", help="tiny grid (a smoke test of cost)")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds per run")
    ap.add_argument("--resume", action="store_true",
                    help="reuse runs already measured in the scratch folder")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    m = machine()
    rows = []
    for fraction in sorted(args.fractions):
        rows.append(one_run(fraction, args.quick, args.timeout, args.resume))
        print(f"{fraction:.2f}: {rows[-1]['seconds']:.0f} s, {rows[-1]['peak_rss_mb']:.0f} MB, "
              f"test bacc {rows[-1]['test_balanced_accuracy']:.3f}", flush=True)
        if fraction >= 1 and not args.quick:
            fill_crop_cache(Path(rows[-1]["crops"]))
    name = "training_cost_quick" if args.quick else "training_cost"
    write_results(args.out, name, {"machine": m, "quick": args.quick, "rows": rows},
                  to_markdown(rows, m, args.quick).replace("training_cost.png", f"{name}.png"))
    plot(rows, args.out / f"{name}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
