"""Security and resource checks over HTTP, on every route the app has (Flask test client, fast).

The routes are read from the app's URL map, not listed by hand, so a form or an
API path added later is checked too:

- security headers on pages, API answers, static files and errors;
- every form POST (``/analyze``, ``/video``, ``/videos/<id>/delete``,
  ``/webcam/frame``) refuses a missing or wrong CSRF token;
- with ``API_KEYS`` set, every ``/api/v1`` path except health and the OpenAPI
  document (``/api/v1/videos*`` included) answers 401 without the right key, and
  keys are compared with ``hmac.compare_digest`` against every key, no early exit;
- the rate limiter answers 429 with the envelope (API) or the friendly page;
- uploads write no file (private temporary folder and working directory listed
  before and after) and leave no file descriptor open (``/proc/self/fd``).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from facegender.web import create_app

JOB = "0" * 32
"""A well-formed job id that does not exist."""
KEYS = ("k1-secret-aaaaaaaa", "k2-secret-bbbbbbbb")
HEADERS = {"Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy",
           "X-Frame-Options", "Cross-Origin-Opener-Policy", "Permissions-Policy"}


def _app(tiny_model, tmp_path: Path, **cfg: Any) -> Flask:  # type: ignore[no-untyped-def]
    return create_app({"MODEL": tiny_model, "RATELIMIT_ENABLED": False, "SECRET_KEY": "t",
                       "EXTRA_MODELS": "", "VIDEO_JOBS_DIR": str(tmp_path / "jobs"), **cfg})


def _csrf(client, path: str = "/") -> str:  # type: ignore[no-untyped-def]
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, f"no CSRF token in the form of {path}"
    return match.group(1)


def _routes(app: Flask, method: str) -> list[str]:
    """Every URL of the app taking ``method``, with ``job_id`` filled in."""
    out = []
    for rule in app.url_map.iter_rules():
        if method in (rule.methods or ()) and rule.endpoint != "static":
            out.append(rule.rule.replace("<job_id>", JOB))
    assert out
    return sorted(out)


# --- headers ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "/", 200), ("GET", "/video", 200), ("GET", "/webcam", 200), ("GET", "/model", 200),
    ("GET", "/api/docs", 200), ("GET", "/api/v1/health", 200), ("GET", "/api/v1/model", 200),
    ("GET", "/static/app.css", 200), ("GET", "/nope", 404), ("GET", "/api/v1/nope", 404),
    ("GET", "/api/v1/analyze", 405), ("POST", "/api/v1/analyze", 400),
    ("GET", f"/api/v1/videos/{JOB}", 404), ("POST", "/analyze", 400),
])
def test_security_headers_everywhere(tiny_model, tmp_path, method: str, path: str,
                                     status: int) -> None:
    client = _app(tiny_model, tmp_path).test_client()
    r = client.open(path, method=method)
    r.close()  # a static file's response holds the file open until closed
    assert r.status_code == status
    assert set(r.headers.keys()) >= HEADERS, HEADERS - set(r.headers.keys())
    csp = r.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert r.headers["X-Frame-Options"] == "DENY" and r.headers["X-Request-ID"]
    if path.startswith("/api/"):
        assert r.headers["Cache-Control"] == "no-store"
        if status >= 400:
            body = r.get_json()
            assert set(body) == {"error", "request_id"} and body["error"]["code"]


def test_static_files_exist() -> None:
    from importlib.resources import files

    assert files("facegender.web").joinpath("static/app.css").is_file()


# --- CSRF ------------------------------------------------------------------------------------

def test_every_form_post_needs_its_csrf_token(tiny_model, tmp_path, two_faces_jpeg) -> None:
    app = _app(tiny_model, tmp_path)
    client = app.test_client()
    forms = [p for p in _routes(app, "POST") if not p.startswith("/api/")]
    assert {"/analyze", "/video", f"/videos/{JOB}/delete", "/webcam/frame"} <= set(forms)
    token = _csrf(client)
    for path in forms:
        files = {"photos": (io.BytesIO(two_faces_jpeg), "a.jpg"),
                 "image": (io.BytesIO(two_faces_jpeg), "a.jpg"),
                 "video": (io.BytesIO(b"x"), "a.mp4")}
        for sent in (None, "", "wrong-" + token[6:], token + "x"):
            data: dict[str, Any] = dict(files)
            if sent is not None:
                data["csrf_token"] = sent
            r = client.post(path, data=data)
            assert r.status_code == 400, (path, sent, r.status_code)
            assert "security token" in r.get_data(as_text=True), (path, sent)
        # the right token passes the check (what happens next is the route's business)
        r = client.post(path, data={**files, "csrf_token": token})
        assert "security token" not in r.get_data(as_text=True), path


def test_csrf_token_is_per_session(tiny_model, tmp_path, two_faces_jpeg) -> None:
    app = _app(tiny_model, tmp_path)
    token = _csrf(app.test_client())
    other = app.test_client()  # another browser: no session, or its own token
    r = other.post("/analyze", data={"csrf_token": token,
                                     "photos": (io.BytesIO(two_faces_jpeg), "a.jpg")})
    assert r.status_code == 400


# --- API keys --------------------------------------------------------------------------------

def _api_paths(app: Flask) -> list[tuple[str, str]]:
    out = []
    for method in ("GET", "POST", "DELETE"):
        out += [(method, p) for p in _routes(app, method) if p.startswith("/api/v1/")]
    return out


def test_api_keys_enforced_on_every_api_path(tiny_model, tmp_path, two_faces_jpeg) -> None:
    app = _app(tiny_model, tmp_path, API_KEYS=",".join(KEYS))
    client = app.test_client()
    paths = _api_paths(app)
    open_paths = {("GET", "/api/v1/health"), ("GET", "/api/v1/openapi.json")}
    assert ("POST", "/api/v1/videos") in paths and ("GET", f"/api/v1/videos/{JOB}") in paths
    assert ("DELETE", f"/api/v1/videos/{JOB}") in paths
    for method, path in paths:
        body = {"data": two_faces_jpeg, "content_type": "image/jpeg"} if method == "POST" else {}
        if (method, path) in open_paths:
            assert client.open(path, method=method).status_code == 200
            continue
        for headers in ({}, {"X-API-Key": ""}, {"X-API-Key": "wrong"},
                        {"X-API-Key": KEYS[0][:-1]}, {"X-API-Key": KEYS[0] + KEYS[1]},
                        {"Authorization": f"Bearer {KEYS[0]}"}):
            r = client.open(path, method=method, headers=headers, **body)
            assert r.status_code == 401, (method, path, headers, r.status_code)
            assert r.get_json()["error"]["code"] == "unauthorized"
        for key in KEYS:
            r = client.open(path, method=method, headers={"X-API-Key": key}, **body)
            assert r.status_code != 401, (method, path)
    # a real answer with a key
    r = client.post("/api/v1/analyze", data=two_faces_jpeg, content_type="image/jpeg",
                    headers={"X-API-Key": KEYS[1]})
    # Obama, Biden and a girl half in shadow behind them
    assert r.status_code == 200 and len(r.get_json()["faces"]) == 3


def test_openapi_marks_exactly_the_keyed_paths(tiny_model, tmp_path) -> None:
    app = _app(tiny_model, tmp_path)
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            keyed = {"apiKey": []} in op.get("security", [])
            assert keyed == (path not in ("/api/v1/health", "/api/v1/openapi.json")), (
                method, path)


def test_api_keys_compared_in_constant_time(tiny_model, tmp_path, monkeypatch) -> None:
    """Every configured key goes through hmac.compare_digest, even after a match."""
    import hmac

    import facegender.web.security as security

    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(security.hmac, "compare_digest", spy)
    client = _app(tiny_model, tmp_path, API_KEYS=",".join(KEYS)).test_client()
    for sent in (KEYS[0], KEYS[1], "wrong", ""):
        calls.clear()
        client.get("/api/v1/model", headers={"X-API-Key": sent})
        assert [b for _, b in calls] == [k.encode() for k in KEYS], sent
        assert all(a == sent.encode() for a, _ in calls)
    source = Path(security.__file__).read_text()
    assert "sent == key" not in source and "key == sent" not in source


# --- rate limit ------------------------------------------------------------------------------

def test_rate_limit_429_on_api_and_pages(tiny_model, tmp_path, two_faces_jpeg) -> None:
    """Limits count per client and route: the 5th call to each answers 429."""
    app = _app(tiny_model, tmp_path, RATELIMIT_ENABLED=True, RATELIMIT_DEFAULT="4 per minute")
    client = app.test_client()
    codes = [client.post("/api/v1/analyze", data=two_faces_jpeg,
                         content_type="image/jpeg").status_code for _ in range(6)]
    assert codes == [200] * 4 + [429, 429]
    codes = [client.get("/api/v1/model").status_code for _ in range(5)]
    assert codes == [200] * 4 + [429]
    body = client.get("/api/v1/model").get_json()
    assert body["error"]["code"] == "rate_limited" and "per 1 minute" in body["error"]["message"]
    assert all(client.get("/api/v1/health").status_code == 200 for _ in range(6))  # liveness
    codes = [client.get("/").status_code for _ in range(5)]
    assert codes == [200] * 4 + [429]
    page = client.get("/")
    assert page.status_code == 429 and "Too many requests" in page.get_data(as_text=True)
    assert set(page.headers.keys()) >= HEADERS


def test_rate_limit_is_per_client(tiny_model, tmp_path) -> None:
    app = _app(tiny_model, tmp_path, RATELIMIT_ENABLED=True, RATELIMIT_DEFAULT="2 per minute")
    client = app.test_client()
    a = [client.get("/api/v1/model", environ_base={"REMOTE_ADDR": "127.0.0.2"}).status_code
         for _ in range(3)]
    b = client.get("/api/v1/model", environ_base={"REMOTE_ADDR": "127.0.0.3"}).status_code
    assert a == [200, 200, 429] and b == 200


# --- nothing written, nothing left open ------------------------------------------------------

def _listing(*folders: Path) -> set[str]:
    return {str(p) for folder in folders for p in folder.rglob("*")}


def _open_fds() -> set[str]:
    fds = set()
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # the listing's own descriptor, gone already
            fds.add(f"{fd}->{os.readlink(f'/proc/self/fd/{fd}')}")
    return fds


def test_uploads_write_no_file_and_leave_no_fd(tiny_model, tmp_path, two_faces_jpeg,
                                               monkeypatch) -> None:
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    monkeypatch.setenv("TMPDIR", str(private_tmp))
    monkeypatch.setattr(tempfile, "tempdir", str(private_tmp))
    monkeypatch.chdir(workdir)
    app = _app(tiny_model, tmp_path)
    client = app.test_client()
    token = _csrf(client)
    big = two_faces_jpeg * 4  # > 500 KB: Werkzeug's default parser would spool it to disk

    def one_round() -> None:
        assert client.post("/api/v1/analyze", data={
            "image": (io.BytesIO(big), "a.jpg")}).status_code == 200
        assert client.post("/api/v1/analyze", data=big,
                           content_type="image/jpeg").status_code == 200
        assert client.post("/api/v1/analyze/batch", data={"images": [
            (io.BytesIO(two_faces_jpeg), "a.jpg"), (io.BytesIO(b"not an image"), "b.jpg"),
            (io.BytesIO(big), "c.jpg")]}).status_code == 200
        assert client.post("/analyze", data={"csrf_token": token, "photos": [
            (io.BytesIO(big), "a.jpg")]}).status_code == 200
        assert client.post("/webcam/frame", data={"csrf_token": token, "image": (
            io.BytesIO(two_faces_jpeg), "f.jpg")}).status_code == 200
        assert client.post("/api/v1/analyze", data=b"\x89PNG\r\n\x1a\ntruncated",
                           content_type="image/png").status_code == 415

    one_round()  # warm: lazy imports and caches open what they keep open
    files_before = _listing(private_tmp, workdir)
    fds_before = _open_fds()
    for _ in range(3):
        one_round()
    assert _listing(private_tmp, workdir) == files_before == set()
    assert _open_fds() == fds_before
    assert not any((tmp_path / "jobs").iterdir())  # no video job made by a photo


# --- fuzzed API requests (the long run is benchmarks/fuzz_http.py, in make fuzz) -------------

HTTP_CASES = int(os.environ.get("FACEGENDER_FUZZ_HTTP_CASES", "300"))


def test_fuzzed_api_requests_keep_the_contract(tiny_model, tmp_path) -> None:
    """Schemathesis cases from the OpenAPI document plus hand-made abuse: no 5xx, all documented."""
    from http_fuzz import Report, fuzz_schema, judge, raw_cases

    app = _app(tiny_model, tmp_path)
    client = app.test_client()
    spec = client.get("/api/v1/openapi.json").get_json()
    report = Report()
    fuzz_schema(spec, lambda case: case.call(app=app), HTTP_CASES, report)
    generated = report.requests
    for raw in raw_cases():
        t0 = time.perf_counter()
        r = client.open(raw.path, method=raw.method, data=raw.body, headers=raw.headers)
        problem = judge(spec, raw.doc_path, raw.method, r.status_code, r.data,
                        r.content_type or "", raw.allowed)
        report.record(raw.name, r.status_code, time.perf_counter() - t0, problem, raw.name)
    store = app.extensions["facegender_jobs"]  # let a job a case started end before tmp goes
    deadline = time.monotonic() + 60
    while store.sweep() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert report.failures == [], report.failures[:5]
    assert generated >= 0.8 * HTTP_CASES and report.requests - generated >= 40
    assert "500" not in report.statuses and report.max_seconds < 30
