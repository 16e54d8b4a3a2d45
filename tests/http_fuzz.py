"""Fuzzing the HTTP API from its own OpenAPI document (schemathesis), plus hand-made abuse.

One runner for two places: ``tests/web/test_hardening.py`` sends a few
hundred cases to the app in-process (WSGI), ``benchmarks/fuzz_http.py`` sends
10,000+ to a live gunicorn on 127.0.0.1. Image bodies and file fields are the
hostile bytes of ``tests/fuzz_inputs.py``, not schemathesis' random binary.

Each answer must be one the document promises for that operation (200/202/204
or a documented 4xx; 503 only where documented), never a 5xx, with the
``{"error": {"code", "message"}, "request_id"}`` envelope on every error, a
2xx JSON body valid against its schema, and within a time budget.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from fuzz_inputs import hostile_images, seeds

BUDGET_S = 30.0
"""Per request; a fuzzed request is a small image at most, answered in well under a second."""


@dataclass
class Report:
    """What the fuzzing saw: counts by operation and status, failures, the slowest answer."""

    requests: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    by_operation: dict[str, Counter[int]] = field(default_factory=dict)
    failures: list[dict[str, Any]] = field(default_factory=list)
    max_seconds: float = 0.0
    slowest: str = ""

    def record(self, label: str, status: int, seconds: float, problem: str | None,
               detail: str = "") -> None:
        self.requests += 1
        self.statuses[str(status)] += 1
        self.by_operation.setdefault(label, Counter())[status] += 1
        if seconds > self.max_seconds:
            self.max_seconds, self.slowest = round(seconds, 3), label
        if problem and len(self.failures) < 200:
            self.failures.append({"operation": label, "status": status, "problem": problem,
                                  "detail": detail[:500]})

    def to_dict(self) -> dict[str, Any]:
        return {"requests": self.requests, "statuses": dict(sorted(self.statuses.items())),
                "server_errors": sum(n for s, n in self.statuses.items() if s.startswith("5")
                                     and s != "503"),
                "failures": len(self.failures), "failure_examples": self.failures[:20],
                "max_seconds": self.max_seconds, "slowest_operation": self.slowest,
                "by_operation": {k: {str(s): n for s, n in sorted(v.items())}
                                 for k, v in sorted(self.by_operation.items())}}


def judge(spec: dict[str, Any], path: str, method: str, status: int, body: bytes,
          ctype: str, allowed: set[int] | None = None) -> str | None:
    """Why this answer breaks the contract, or None when it keeps it."""
    op = spec["paths"].get(path, {}).get(method.lower(), {})
    documented = {int(s) for s in op.get("responses", {})} | {405}
    allowed = allowed or documented
    if status >= 500 and not (status == 503 and 503 in documented):
        return f"server error {status}"
    if status not in allowed:
        return f"status {status} not documented (allowed {sorted(allowed)})"
    if status >= 400:
        try:
            env = json.loads(body)
            assert set(env) == {"error", "request_id"} and env["error"]["code"]
            assert isinstance(env["error"]["message"], str) and env["error"]["message"]
            assert "Traceback" not in env["error"]["message"]
        except (ValueError, AssertionError, KeyError, TypeError):
            return f"{status} without the error envelope: {body[:200]!r}"
        return None
    schema = (op.get("responses", {}).get(str(status), {}).get("content", {})
              .get("application/json", {}).get("schema"))
    if schema is not None:
        from jsonschema import Draft202012Validator

        if not ctype.startswith("application/json"):
            return f"{status} with content type {ctype}"
        root = {**schema, "components": spec["components"]}
        errors = [e.message for e in Draft202012Validator(root).iter_errors(json.loads(body))]
        if errors:
            return f"{status} body breaks its schema: {errors[:3]}"
    return None


def register_strategies() -> None:
    """Image bodies and every ``format: binary`` field get the hostile bytes."""
    import schemathesis

    schemathesis.openapi.media_type("image/*", hostile_images())
    schemathesis.openapi.format("binary", hostile_images())


def fuzz_schema(spec: dict[str, Any], send: Callable[[Any], Any], total: int,
                report: Report, weights: dict[str, float] | None = None) -> None:
    """About ``total`` schemathesis cases over every operation, positive and negative.

    ``send(case)`` returns a schemathesis ``Response`` (``case.call(...)``). The
    upload operations get most of the cases: they are where bytes are parsed.
    """
    import schemathesis
    from schemathesis import GenerationMode

    register_strategies()
    schema = schemathesis.openapi.from_dict(spec)
    weights = weights or {"POST /api/v1/analyze": 0.4, "POST /api/v1/analyze/batch": 0.2,
                          "POST /api/v1/videos": 0.1}
    ops = [r.ok() for r in schema.get_all_operations()]
    rest = (1 - sum(weights.values())) / max(1, len(ops) - len(weights))
    for op in ops:
        n = max(1, round(total * weights.get(op.label, rest) / 2))
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _fuzz_operation(spec, op, mode, n, send, report)


def _fuzz_operation(spec: dict[str, Any], op: Any, mode: Any, n: int,
                    send: Callable[[Any], Any], report: Report) -> None:
    """``n`` cases of one operation in one generation mode, each sent and judged."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis.errors import Unsatisfiable

    @settings(max_examples=n, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=op.as_strategy(generation_mode=mode))
    def one(case: Any) -> None:
        t0 = time.perf_counter()
        try:
            resp = send(case)
        except Exception as exc:  # noqa: BLE001 - no answer at all is the finding
            report.record(op.label, 0, time.perf_counter() - t0,
                          f"no answer: {type(exc).__name__}: {exc}", _describe(case))
            return
        seconds = time.perf_counter() - t0
        ctype = resp.headers.get("Content-Type") or resp.headers.get("content-type") or ""
        ctype = ctype[0] if isinstance(ctype, list) else ctype
        problem = judge(spec, op.path, op.method, resp.status_code, resp.content, ctype)
        if problem is None and seconds > BUDGET_S:
            problem = f"{seconds:.1f} s, over the {BUDGET_S:.0f} s budget"
        report.record(op.label, resp.status_code, seconds, problem, _describe(case))

    with contextlib.suppress(Unsatisfiable):  # e.g. no negative input for GET /health
        one()


def _describe(case: Any) -> str:
    body = case.body if isinstance(case.body, bytes | str) else repr(case.body)
    return (f"{case.method} {case.formatted_path} query={case.query} "
            f"media={case.media_type} body={str(body)[:120]}")


# --- hand-made abuse the document cannot describe ---------------------------------------------

@dataclass
class Raw:
    """One hand-made request and the statuses it may get."""

    name: str
    method: str
    path: str
    body: bytes
    headers: dict[str, str]
    allowed: set[int]
    doc_path: str = ""

    def __post_init__(self) -> None:
        self.doc_path = self.doc_path or self.path.split("?")[0]


def multipart(fields: list[tuple[str, str | None, bytes]], boundary: str = "fzb") -> tuple[
        bytes, dict[str, str]]:
    """A multipart body from ``(name, filename or None, data)`` parts."""
    out = []
    for name, filename, data in fields:
        disp = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out.append(f"--{boundary}\r\nContent-Disposition: {disp}\r\n\r\n".encode() + data
                   + b"\r\n")
    return b"".join(out) + f"--{boundary}--\r\n".encode(), {
        "Content-Type": f"multipart/form-data; boundary={boundary}"}


def raw_cases(huge: bool = True) -> Iterator[Raw]:
    """Wrong content types, missing fields, broken multipart, bad options, huge bodies."""
    jpeg = seeds()["jpeg"]
    a, ok = "/api/v1/analyze", {200}
    yield Raw("text/plain body", "POST", a, jpeg, {"Content-Type": "text/plain"}, {415})
    yield Raw("json body", "POST", a, b'{"image": "x"}', {"Content-Type": "application/json"},
              {415})
    yield Raw("form-urlencoded", "POST", a, b"image=abc",
              {"Content-Type": "application/x-www-form-urlencoded"}, {415})
    yield Raw("no content type", "POST", a, jpeg, {}, ok)
    yield Raw("image/jpeg header, PNG body", "POST", a, seeds()["png"],
              {"Content-Type": "image/jpeg"}, ok)
    yield Raw("empty raw body", "POST", a, b"", {"Content-Type": "image/jpeg"}, {400})
    body, h = multipart([("file", "a.jpg", jpeg)])
    yield Raw("multipart, wrong field name", "POST", a, body, h, {400})
    body, h = multipart([("image", "a.jpg", b"")])
    yield Raw("multipart, empty file", "POST", a, body, h, {415})
    body, h = multipart([("image", None, jpeg)])
    yield Raw("multipart, field without filename", "POST", a, body, h, {400})
    yield Raw("multipart without boundary", "POST", a, b"--x\r\n\r\n",
              {"Content-Type": "multipart/form-data"}, {400})
    body, h = multipart([("image", "a.jpg", jpeg)])
    yield Raw("multipart cut short", "POST", a, body[: len(body) // 2], h, {400, 415})
    yield Raw("multipart, only a closing boundary", "POST", a, b"--fzb--\r\n", h, {400})
    for q in ("min_face_size=abc", "min_face_size=1", "min_face_size=99999",
              "include_crops=maybe", "model=nope", "model=../../etc/passwd"):
        yield Raw(f"bad option {q}", "POST", f"{a}?{q}", jpeg, {"Content-Type": "image/jpeg"},
                  {400})
    yield Raw("long X-Request-ID", "POST", a, jpeg,
              {"Content-Type": "image/jpeg", "X-Request-ID": "r" * 5000}, ok)
    body, h = multipart([("images", f"{i}.jpg", seeds()["one_pixel_png"]) for i in range(21)])
    yield Raw("batch of 21", "POST", f"{a}/batch", body, h, {413})
    yield Raw("batch not multipart", "POST", f"{a}/batch", jpeg,
              {"Content-Type": "image/jpeg"}, {415})
    body, h = multipart([("other", "x.jpg", jpeg)])
    yield Raw("batch without images", "POST", f"{a}/batch", body, h, {400})
    body, h = multipart([(f"f{i}", None, b"x") for i in range(2000)])
    yield Raw("2,000 form parts", "POST", f"{a}/batch", body, h, {413})
    body, h = multipart([("note", None, b"x" * 1_000_000), ("images", "a.jpg", jpeg)])
    yield Raw("1 MB text field", "POST", f"{a}/batch", body, h, {413})
    v = "/api/v1/videos"
    yield Raw("video not multipart", "POST", v, b"\x00" * 100, {"Content-Type": "video/mp4"},
              {415})
    body, h = multipart([("file", "a.mp4", b"\x00" * 100)])
    yield Raw("video, wrong field", "POST", v, body, h, {400})
    for name, data in (("a.mp4", b"hello"), ("a.mp4", b""), ("a.txt", b"x" * 64),
                       ("../../etc/passwd.mp4", b"x" * 64)):
        body, h = multipart([("video", name, data)])
        yield Raw(f"video {name} ({len(data)} bytes)", "POST", v, body, h, {415})
    # FFmpeg reads a lone JPEG as a one-frame video: a job (202), or busy if slots are taken
    body, h = multipart([("video", "photo.mp4", jpeg)])
    yield Raw("a JPEG named .mp4", "POST", v, body, h, {202, 503})
    for q in ("every=0", "every=abc", "every=301"):
        body, h = multipart([("video", "a.mp4", b"x")])
        yield Raw(f"video bad option {q}", "POST", f"{v}?{q}", body, h, {400, 415})
    for path in (f"{v}/not-a-job", f"{v}/{'f' * 32}", f"{v}/{'f' * 32}/video",
                 f"{v}/{'f' * 32}/frames", f"{v}/..%2F..%2Fetc%2Fpasswd"):
        yield Raw(f"GET {path}", "GET", path, b"", {}, {404}, doc_path=f"{v}/{{job_id}}")
    if huge:
        yield Raw("11 MB raw image body", "POST", a, jpeg + b"\x00" * (11 * 2**20),
                  {"Content-Type": "image/jpeg"}, {413})
        body, h = multipart([("image", "big.jpg", jpeg + b"\x00" * (11 * 2**20))])
        yield Raw("11 MB multipart", "POST", a, body, h, {413})
        body, h = multipart([("images", f"{i}.jpg", b"\x00" * 2**20) for i in range(12)])
        yield Raw("12 MB batch", "POST", f"{a}/batch", body, h, {413})
        body, h = multipart([("video", "big.mp4", b"\x00" * (101 * 2**20))])
        yield Raw("101 MB video", "POST", v, body, h, {413})
