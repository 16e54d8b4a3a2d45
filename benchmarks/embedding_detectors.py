"""Which detector should feed the embedding model? Face-found rate and CPU time.

Detection rate only (labels are never read) on pixabay-external, and on seeded
samples of utkface and imdbwiki; CPU time per photo (``time.process_time``, one
process, so a busy shared machine inflates it less than wall time). Writes
JSON to benchmarks/results/embedding_detectors.json.

    python benchmarks/embedding_detectors.py [--sample 300]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from facegender.detection.dlib_chain import DlibDetector, DlibSettings
from facegender.detection.haar import HaarDetector
from facegender.images import read_image
from facegender.training.data import scan_labeled

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


class Fallback:
    """HOG first, Haar only when HOG finds nothing."""

    def __init__(self, first, second):
        self.first, self.second = first, second

    def detect(self, image):
        return self.first.detect(image) or self.second.detect(image)


def candidates():
    haar = HaarDetector()
    return {
        "haar (tuned, detect.py)": haar,
        "hog 320 pad .2": DlibDetector(DlibSettings(work_size=320, pad_fraction=0.2)),
        "hog 400 pad .2": DlibDetector(DlibSettings(work_size=400, pad_fraction=0.2)),
        "hog 400 pad .2 thr 0": DlibDetector(DlibSettings(400, 0.2, 0, 0.0)),
        "hog 480 pad .25": DlibDetector(DlibSettings(work_size=480, pad_fraction=0.25)),
        "hog 400 pad .2 -> haar": Fallback(DlibDetector(DlibSettings(400, 0.2)), haar),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sample", type=int, default=300)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/embedding_detectors.json"))
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    sets = {}
    for name in ("pixabay-external", "utkface", "imdbwiki"):
        paths = list(scan_labeled(DATA / name).paths)
        if len(paths) > args.sample:
            paths = [paths[i] for i in sorted(rng.choice(len(paths), args.sample, replace=False))]
        sets[name] = paths
    results = {}
    for cname, det in candidates().items():
        row = {}
        for sname, paths in sets.items():
            found, cpu = 0, 0.0
            for p in paths:
                img = read_image(p)
                t = time.process_time()
                found += bool(det.detect(img))
                cpu += time.process_time() - t
            row[sname] = {"n": len(paths), "found_rate": found / len(paths),
                          "cpu_ms_per_photo": 1e3 * cpu / len(paths)}
        results[cname] = row
        print(cname, json.dumps({k: (round(v["found_rate"], 3), round(v["cpu_ms_per_photo"], 1))
                                 for k, v in row.items()}), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
