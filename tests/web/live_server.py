"""A real gunicorn (the ``make run`` config) on a free loopback port, for tests.

Shared by the browser tests and the fault tests: start it, wait until
``/api/v1/health`` answers and every worker is up, stop it afterwards.
Workers are found from the master's children (``/proc``), never by name.
"""

from __future__ import annotations

import http.client
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil
import pytest

APP = "facegender.web:create_app()"
CONF = "python:facegender.web.gunicorn_conf"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def request(port: int, method: str, path: str, body: bytes | None = None,
             headers: dict[str, str] | None = None, timeout: float = 60) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def workers_of(master: int) -> list[int]:
    """The gunicorn worker pids: the master's direct children."""
    return sorted(p.pid for p in psutil.Process(master).children())


def wait_for(cond: Any, timeout: float, what: str) -> Any:
    """Poll ``cond()`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


@contextmanager
def gunicorn(env: dict[str, str], log: Path, bind: str | None = None
             ) -> Iterator[subprocess.Popen[bytes]]:
    """Start gunicorn, wait for ``/api/v1/health`` and the workers, stop it afterwards.
    ``bind`` (``host:port``): gunicorn's ``-b``, over the config's HOST and PORT."""
    port = int((bind or env["PORT"]).rsplit(":", 1)[-1])
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "--config", CONF,
                                 *(["-b", bind] if bind else []), APP],
                                env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        def ready() -> bool:
            if proc.poll() is not None:
                pytest.fail(f"gunicorn exited {proc.returncode}:\n{log.read_text()[-2000:]}")
            try:
                return request(port, "GET", "/api/v1/health", timeout=2)[0] == 200
            except OSError:
                return False

        wait_for(ready, 90, "gunicorn to answer /api/v1/health")
        want = int(env["WEB_CONCURRENCY"])
        wait_for(lambda: len(workers_of(proc.pid)) == want, 60, f"{want} workers")
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:  # pragma: no cover - a hung master
            proc.kill()
            proc.wait()
