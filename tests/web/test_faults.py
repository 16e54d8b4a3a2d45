"""Faults against a real gunicorn (the ``make run`` config) on a free loopback port.

- a missing or corrupt model file stops start-up: non-zero exit, one clear line, no traceback;
- a worker killed with SIGKILL in the middle of a request is replaced, the request fails
  fast (no hang), and the next requests succeed;
- a video job whose worker is SIGKILLed ends as ``failed`` with its files removed, as the
  replacement worker reports it through ``GET /api/v1/videos/<id>``.

Workers are found from the master's children (``/proc``), never by name.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
from live_server import APP, CONF, free_port, gunicorn, wait_for, workers_of
from live_server import request as _request


def _env(model: Path | str, port: int, workers: int, **extra: str) -> dict[str, str]:
    return {**os.environ, "HOST": "127.0.0.1", "PORT": str(port),
            "WEB_CONCURRENCY": str(workers), "FACEGENDER_MODEL_PATH": str(model),
            "FACEGENDER_EXTRA_MODELS": "", "FACEGENDER_RATELIMIT_ENABLED": "false", **extra}


def _multipart(field: str, filename: str, data: bytes, ctype: str) -> tuple[bytes, dict[str, str]]:
    b = "faultsboundary"
    body = (f"--{b}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\""
            f"\r\nContent-Type: {ctype}\r\n\r\n").encode() + data + f"\r\n--{b}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={b}"}


# --- start-up --------------------------------------------------------------------------------

def _corrupt_skops(model_dir: Path, dest: Path) -> Path:
    shutil.copytree(model_dir, dest)
    data = bytearray((dest / "model.skops").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (dest / "model.skops").write_bytes(bytes(data))
    return dest


def _bad_manifest(model_dir: Path, dest: Path) -> Path:
    shutil.copytree(model_dir, dest)
    (dest / "manifest.json").write_text("{ this is not json")
    return dest


@pytest.mark.parametrize(("make", "words"), [
    (lambda src, dst: dst / "does-not-exist", "no model at"),
    (_corrupt_skops, "sha256"),
    (_bad_manifest, "not valid JSON"),
], ids=["missing", "corrupt-model-file", "corrupt-manifest"])
def test_bad_model_stops_start_with_one_clear_line(tiny_model_dir: Path, tmp_path: Path,
                                                    make: Any, words: str) -> None:
    model = make(tiny_model_dir, tmp_path / "model")
    env = _env(model, free_port(), 1)
    t0 = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "gunicorn", "--config", CONF, APP], env=env,
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode != 0
    err = done.stderr.strip()
    assert "Traceback" not in err and "Traceback" not in done.stdout
    assert err.count("\n") == 0, f"more than one line on stderr:\n{err}"
    assert err.startswith("facegender: cannot start:") and words in err
    assert time.monotonic() - t0 < 60
    with pytest.raises(OSError):  # and nothing is listening
        _request(int(env["PORT"]), "GET", "/api/v1/health", timeout=2)


# --- a worker killed mid-request ---------------------------------------------------------------

def test_worker_killed_mid_request_is_replaced(tiny_model_dir: Path, tmp_path: Path,
                                               two_faces_jpeg: bytes) -> None:
    port = free_port()
    # The body (20 x 0.56 MB) is over the default 10 MB request limit, which would answer a
    # quick 413 and close the connection: raise the limit so the worker really analyses.
    env = _env(tiny_model_dir, port, 2, FACEGENDER_MAX_CONTENT_LENGTH=str(32 * 1024 * 1024))
    with gunicorn(env, tmp_path / "gunicorn.log") as proc:
        before = workers_of(proc.pid)
        # A slow request: 20 copies of a 2000x1428 photo in one batch (~3 s of work).
        b = "faultsboundary"
        parts = [(f"--{b}\r\nContent-Disposition: form-data; name=\"images\"; filename="
                  f"\"p{i}.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n").encode() + two_faces_jpeg
                 + b"\r\n" for i in range(20)]
        body = b"".join(parts) + f"--{b}--\r\n".encode()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.connect()
        client_port = conn.sock.getsockname()[1]
        outcome: dict[str, Any] = {}

        def send() -> None:
            t0 = time.monotonic()
            try:
                conn.request("POST", "/api/v1/analyze/batch", body=body,
                             headers={"Content-Type": f"multipart/form-data; boundary={b}"})
                outcome["status"] = conn.getresponse().status
            except (OSError, http.client.HTTPException) as exc:
                outcome["error"] = type(exc).__name__
            outcome["seconds"] = time.monotonic() - t0

        sender = threading.Thread(target=send)
        sender.start()

        def serving_worker() -> int | None:
            if "seconds" in outcome:  # the request ended before we saw it: say how
                pytest.fail(f"the request ended before the kill: {outcome}")
            for pid in before:
                for c in psutil.Process(pid).net_connections(kind="tcp"):
                    if c.raddr and c.raddr.port == client_port:
                        return pid
            return None

        try:
            victim = wait_for(serving_worker, 20, "the worker holding our connection")
            time.sleep(0.5)  # well inside the request: the upload is read, analysis running
            assert "seconds" not in outcome, f"the request ended before the kill: {outcome}"
            os.kill(victim, signal.SIGKILL)
            sender.join(timeout=30)
        finally:
            conn.close()
        assert not sender.is_alive(), "the client hung after its worker was killed"
        assert "error" in outcome and outcome["seconds"] < 30, outcome

        after = wait_for(lambda: (w := workers_of(proc.pid)) and len(w) == 2
                         and victim not in w and w, 60, "a replacement worker")
        assert set(after) - set(before), "no new worker pid"
        log_path = tmp_path / "gunicorn.log"
        for pid in set(after) - set(before):  # it warms up before it serves: wait for that
            wait_for(lambda pid=pid: f"worker {pid} warmed up" in log_path.read_text(), 60,
                     f"worker {pid}'s warm-up")
        for _ in range(6):  # both workers, the replacement included, answer
            status, raw = _request(port, "POST", "/api/v1/analyze", body=two_faces_jpeg,
                                   headers={"Content-Type": "image/jpeg"})
            # Obama, Biden and a girl half in shadow behind them
            assert status == 200 and len(json.loads(raw)["faces"]) == 3
        assert proc.poll() is None
        log = (tmp_path / "gunicorn.log").read_text()
        for pid in {*before, *after}:  # each worker loaded its models before serving
            assert f"worker {pid} warmed up 1 model(s)" in log, log[-2000:]


# --- a video job whose worker dies -----------------------------------------------------------

def test_video_job_of_a_killed_worker_fails_and_its_files_go(
    tiny_model_dir: Path, tmp_path: Path, shared_data: Path,
) -> None:
    port = free_port()
    jobs = tmp_path / "jobs"
    # one worker: after the kill, the replacement is the only one that can answer
    env = _env(tiny_model_dir, port, 1, FACEGENDER_VIDEO_JOBS_DIR=str(jobs))
    clip = (shared_data / "video" / "short_hamilton_clip.mp4").read_bytes()
    with gunicorn(env, tmp_path / "gunicorn.log") as proc:
        body, headers = _multipart("video", "clip.mp4", clip, "video/mp4")
        status, raw = _request(port, "POST", "/api/v1/videos?every=1", body, headers)
        assert status == 202, raw
        job_id = json.loads(raw)["id"]
        job_dir = jobs / job_id

        def running() -> dict[str, Any] | None:
            try:
                st = json.loads((job_dir / "status.json").read_text())
            except (OSError, ValueError):
                return None
            return st if st["status"] == "running" and st["frames_read"] > 0 else None

        st = wait_for(running, 60, "the job to run")
        assert st["status"] == "running" and st["progress"] < 1, st
        assert any(job_dir.glob("input.*")), "the upload should be there while it runs"
        os.kill(st["pid"], signal.SIGKILL)
        wait_for(lambda: (w := workers_of(proc.pid)) and st["pid"] not in w, 60,
                 "the replacement worker")

        status, raw = _request(port, "GET", f"/api/v1/videos/{job_id}")
        view = json.loads(raw)
        assert status == 200 and view["status"] == "failed", view
        assert view["error"]["code"] == "internal_error" and "stopped" in view["error"]["message"]
        assert view["links"]["video"] is None
        assert sorted(p.name for p in job_dir.iterdir()) == ["status.json"]
        status, raw = _request(port, "GET", f"/api/v1/videos/{job_id}/video")
        assert status == 404 and json.loads(raw)["error"]["code"] == "not_found"
        status, _ = _request(port, "DELETE", f"/api/v1/videos/{job_id}")
        assert status == 204 and not job_dir.exists()


# --- requests gunicorn refuses before the app ---------------------------------------------------

def _raw(port: int, data: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes, read the whole answer (the server closes the connection)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(data)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body


def test_server_refusals_use_the_error_envelope(tiny_model_dir: Path, tmp_path: Path) -> None:
    """414, 431 and 400 come from gunicorn itself: JSON envelope, documented in OpenAPI."""
    port = free_port()
    with gunicorn(_env(tiny_model_dir, port, 1), tmp_path / "gunicorn.log"):
        long_query = b"POST /api/v1/analyze?min_face_size=" + b"9" * 5000 + b" HTTP/1.1\r\n"
        many_headers = b"".join(b"X-H%d: v\r\n" % i for i in range(120))
        cases = {
            414: long_query + b"Host: x\r\nContent-Length: 0\r\n\r\n",
            431: b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n" + many_headers + b"\r\n",
            400: b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
        }
        spec = json.loads(_request(port, "GET", "/api/v1/openapi.json")[1])
        for want, data in cases.items():
            status, headers, body = _raw(port, data)
            assert status == want, body[:200]
            assert headers["Content-Type"] == "application/json"
            envelope = json.loads(body)
            assert set(envelope) == {"error", "request_id"} and envelope["error"]["message"]
            assert envelope["error"]["code"] == {414: "uri_too_long", 431:
                                                 "header_fields_too_large", 400: "bad_request"
                                                 }[want]
            path = "/api/v1/analyze" if want == 414 else "/api/v1/health"
            method = "post" if want == 414 else "get"
            assert str(want) in spec["paths"][path][method]["responses"]
        # and the server goes on serving
        assert _request(port, "GET", "/api/v1/health")[0] == 200


def test_workers_inherit_the_runtimes_instead_of_loading_them(tiny_model_dir: Path,
                                                              tmp_path: Path) -> None:
    """The master maps LiteRT's and onnxruntime's libraries before it forks: a worker that
    loaded LiteRT itself now and then hung forever in ``dlopen`` during its warm-up (3 of 50
    boots, gdb: ``__thread_gscope_wait``), while its BLAS threads were starting."""
    port = free_port()
    with gunicorn(_env(tiny_model_dir, port, 1), tmp_path / "gunicorn.log") as proc:
        master = Path(f"/proc/{proc.pid}/maps").read_text()
        assert "libLiteRt.so" in master and "onnxruntime" in master


def test_start_line_names_the_address_served_and_no_runtime_notice(tiny_model_dir: Path,
                                                                   tmp_path: Path) -> None:
    """gunicorn's own ``-b`` wins over HOST and PORT: the start line names the socket really
    listening (it named PORT's); and LiteRT's console INFO line stays out of the log."""
    port, other = free_port(), free_port()
    log = tmp_path / "gunicorn.log"
    with gunicorn(_env(tiny_model_dir, other, 1), log, bind=f"127.0.0.1:{port}"):
        pass
    text = log.read_text()
    assert f"facegender: open http://127.0.0.1:{port}/ in your browser" in text
    assert f":{other}/" not in text and "warmed up" in text and "XNNPACK" not in text
