"""Soak: thousands of uploads through gunicorn, 2 workers; memory, descriptors, files checked.

Run from the project root (``make fuzz`` does)::

    .venv/bin/python benchmarks/soak.py [--requests 5000] [--time-cap 1800] [--quick]

The server is ``benchmarks/load.py``'s (the ``make run`` gunicorn on a free
127.0.0.1 port, rate limiter and worker recycling off, so a leak shows instead
of being reset), started with its own empty TMPDIR and working directory. Its
load generator sends the uploads: the 20 real 640x480 photos of load.py plus
a text file and a truncated JPEG with image names (415s), from 4 client
threads, bounded by count and time. After a warm-up the workers' resident
memory (``/proc/<pid>/status`` VmRSS) and open descriptors
(``/proc/<pid>/fd``) are read, and both folders listed; again at the end.

Pass: every worker's RSS grows < 10%, no descriptor more, no file appeared,
the same worker processes served throughout, and every answer is the 200 or
415 expected. Writes the ``soak`` section of ``robustness.{json,md}``.
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

from load import BOUNDARY, bodies, drive, free_port, start_server, wait_ready
from robustness import update

CLIENTS = 4
WARMUP = 200
MAX_GROWTH_PCT = 10.0


def bad_bodies() -> list[bytes]:
    """Two uploads the server must refuse with 415: text and a truncated JPEG, named .jpg."""
    jpeg_start = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    out = []
    for name, data in (("notes.jpg", b"just some text, not a photo\n" * 40),
                       ("cut.jpg", jpeg_start + b"\x00" * 300)):
        out.append(b"".join([
            f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"image\"; "
            f"filename=\"{name}\"\r\nContent-Type: image/jpeg\r\n\r\n".encode(), data,
            f"\r\n--{BOUNDARY}--\r\n".encode()]))
    return out


def worker_pids(master: int) -> list[int]:
    out: set[int] = set()
    for task in Path(f"/proc/{master}/task").iterdir():
        out |= {int(c) for c in (task / "children").read_text().split()}
    return sorted(out)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def listing(*folders: Path) -> set[str]:
    return {str(p) for folder in folders for p in folder.rglob("*")}


def snapshot(master: int) -> dict[int, dict[str, float]]:
    return {pid: {"rss_mb": rss_mb(pid), "fds": open_fds(pid)} for pid in worker_pids(master)}


def run(n: int, cap: float) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="facegender-soak-tmp-"))
    cwd = Path(tempfile.mkdtemp(prefix="facegender-soak-cwd-"))
    good, bad = bodies(), bad_bodies()
    # one bad upload in every 11 requests: 20 photos, then the 2 bad ones
    payloads = good[:10] + bad[:1] + good[10:] + bad[1:]
    port = free_port()
    proc = start_server(2, port, {"TMPDIR": str(tmp)}, cwd=cwd)
    try:
        wait_ready(port, proc)
        drive(port, payloads, WARMUP, CLIENTS, 300)
        time.sleep(1)
        before, files_before = snapshot(proc.pid), listing(tmp, cwd)
        result = drive(port, payloads, n, CLIENTS, cap)
        time.sleep(1)  # let the last answers' buffers go
        after, files_after = snapshot(proc.pid), listing(tmp, cwd)
    finally:
        proc.terminate()
        proc.wait(30)
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(cwd, ignore_errors=True)
    detail = []
    for pid, b in before.items():
        a = after.get(pid, {"rss_mb": float("nan"), "fds": -1})
        detail.append({"pid": pid, "rss_before_mb": round(b["rss_mb"], 1),
                       "rss_after_mb": round(a["rss_mb"], 1),
                       "growth_pct": round(100 * (a["rss_mb"] - b["rss_mb"]) / b["rss_mb"], 2),
                       "fds_before": int(b["fds"]), "fds_after": int(a["fds"])})
    expected_415 = sum(1 for i in range(result["requests"]) if payloads[i % len(payloads)]
                       in bad)
    statuses = {"200": result["requests"] - sum(result["errors"].values()),
                **result["errors"]}
    return {**result, "warmup": WARMUP, "clients": CLIENTS, "statuses": statuses,
            "expected_415": expected_415, "workers_detail": detail,
            "max_growth_pct": max(w["growth_pct"] for w in detail),
            "fd_change": sum(w["fds_after"] - w["fds_before"] for w in detail),
            "new_files": sorted(files_after - files_before),
            "same_workers": sorted(before) == sorted(after), "requests_asked": n}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=5000)
    ap.add_argument("--time-cap", type=float, default=1800, help="seconds, after the warm-up")
    ap.add_argument("--quick", action="store_true", help="300 requests")
    args = ap.parse_args()
    r = run(300, 300) if args.quick else run(args.requests, args.time_cap)
    if not args.quick:
        update("soak", r)
    print({k: r[k] for k in ("requests", "seconds", "statuses", "expected_415",
                             "max_growth_pct", "fd_change", "new_files", "same_workers")})
    ok = (r["max_growth_pct"] < MAX_GROWTH_PCT and r["fd_change"] <= 0 and not r["new_files"]
          and r["same_workers"] and r["statuses"].get("415", 0) == r["expected_415"]
          and set(r["statuses"]) <= {"200", "415"})
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
