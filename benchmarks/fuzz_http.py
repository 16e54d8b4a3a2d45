"""Fuzz the live HTTP API: schemathesis cases from its OpenAPI document sent to a real gunicorn.

Run from the project root (``make fuzz`` does)::

    .venv/bin/python benchmarks/fuzz_http.py [--cases 10000] [--workers 2] [--quick]

Starts the ``make run`` gunicorn (via ``benchmarks/load.py``; rate limiter
off, or it would answer 429 to nearly everything, video jobs in a private
folder) on a free 127.0.0.1 port, sends ``--cases`` schemathesis cases
(``tests/http_fuzz.py``: positive and negative, every operation, image bodies
and file fields from the hostile corpus of ``tests/fuzz_inputs.py``) and then
the hand-made abuse (huge bodies included), and judges every answer against
the document. Writes the ``http_fuzz`` section of ``robustness.{json,md}``
and exits 1 on any 5xx, answer off the contract, or request without an answer.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import ROOT
from load import free_port, start_server, wait_ready
from robustness import update

sys.path.insert(0, str(ROOT / "tests"))
from http_fuzz import BUDGET_S, Raw, Report, fuzz_schema, judge, raw_cases  # noqa: E402


def send_raw(port: int, raw: Raw) -> tuple[int, bytes, str]:
    """Send one hand-made request; a server that answers 413 before reading a huge body
    may close the connection while we still send, so read the answer even then."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=BUDGET_S)
    try:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            conn.request(raw.method, raw.path, body=raw.body or None, headers=raw.headers)
        resp = conn.getresponse()
        return resp.status, resp.read(), resp.getheader("Content-Type") or ""
    finally:
        conn.close()


def workers(master: int) -> set[int]:
    """The master's children, from /proc (no psutil needed)."""
    out = set()
    for task in Path(f"/proc/{master}/task").iterdir():
        children = (task / "children").read_text().split()
        out |= {int(c) for c in children}
    return out


def run(cases: int, n_workers: int) -> dict[str, Any]:
    port = free_port()
    jobs = tempfile.mkdtemp(prefix="facegender-fuzz-jobs-")
    proc = start_server(n_workers, port, {"FACEGENDER_VIDEO_JOBS_DIR": jobs})
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(port, proc)
        before = workers(proc.pid)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", "/api/v1/openapi.json")
        spec = json.loads(conn.getresponse().read())
        conn.close()
        report = Report()
        t0 = time.monotonic()
        # Some operations have fewer distinct cases than their share (GET /api/v1/health
        # has no negative one): top up, on every operation again, until ``cases`` are sent.
        for _ in range(5):
            if report.requests >= cases:
                break
            fuzz_schema(spec, lambda case: case.call(base_url=base, timeout=BUDGET_S),
                        cases - report.requests, report)
        generated = report.requests
        print(f"generated: {generated} in {time.monotonic() - t0:.0f} s", flush=True)
        for raw in raw_cases():
            t1 = time.perf_counter()
            try:
                status, body, ctype = send_raw(port, raw)
            except (OSError, http.client.HTTPException) as exc:
                report.record(raw.name, 0, time.perf_counter() - t1,
                              f"no answer: {type(exc).__name__}: {exc}", raw.name)
                continue
            report.record(raw.name, status, time.perf_counter() - t1,
                          judge(spec, raw.doc_path, raw.method, status, body, ctype,
                                raw.allowed), raw.name)
        seconds = time.monotonic() - t0
        try:
            wait_ready(port, proc, timeout=30)
            healthy = True
        except (TimeoutError, RuntimeError):
            healthy = False
        restarts = len(workers(proc.pid) - before)
    finally:
        proc.terminate()
        proc.wait(30)
    out = report.to_dict()
    return {**out, "generated": generated, "raw": report.requests - generated,
            "seconds": round(seconds, 1), "workers": n_workers, "budget_s": BUDGET_S,
            "no_answer": out["statuses"].get("0", 0), "healthy_after": healthy,
            "worker_restarts": restarts, "cases_asked": cases}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=10_000, help="schemathesis cases in all")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="500 cases")
    args = ap.parse_args()
    result = run(500 if args.quick else args.cases, args.workers)
    update("http_fuzz", result)
    print(json.dumps({k: result[k] for k in ("requests", "statuses", "server_errors",
                                             "failures", "no_answer", "max_seconds",
                                             "healthy_after", "worker_restarts")}))
    for f in result["failure_examples"][:10]:
        print(f)
    bad = result["server_errors"] or result["failures"] or result["no_answer"]
    return 1 if bad or not result["healthy_after"] else 0


if __name__ == "__main__":
    sys.exit(main())
