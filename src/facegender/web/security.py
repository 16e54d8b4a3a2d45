"""Security at the HTTP edge: headers, CSRF tokens, API keys, rate limits, in-memory uploads.

- A Content-Security-Policy with no inline scripts or styles: pages load only
  their own static files; result images are ``data:`` URIs.
- CSRF: a random token in the signed session cookie, echoed by every form and
  compared in constant time on POST.
- API keys: off unless ``FACEGENDER_API_KEYS`` lists some; compared in
  constant time (``hmac.compare_digest``) against each configured key.
- Uploads stay in memory: Werkzeug would spool large files to a temporary
  file; :class:`MemoryRequest` keeps them in a ``BytesIO`` instead.
"""

from __future__ import annotations

import hmac
import io
import secrets
from typing import IO, Any

from flask import Flask, Request, current_app, request, session

from ..errors import BadRequest, Unauthorized

CSP = ("default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
       "connect-src 'self'; media-src 'self' blob:; object-src 'none'; base-uri 'none'; "
       "frame-ancestors 'none'; form-action 'self'")


class MemoryRequest(Request):
    """A request whose uploaded files never touch the disk."""

    def _get_file_stream(  # type: ignore[override]
        self, total_content_length: int | None, content_type: str | None,
        filename: str | None = None, content_length: int | None = None,
    ) -> IO[bytes]:
        return io.BytesIO()


def set_security_headers(response: Any) -> Any:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    response.headers.setdefault("Permissions-Policy", "camera=(self), microphone=()")
    if request.path.startswith("/api/"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def csrf_token() -> str:
    """The session's CSRF token, created on first use (templates call this)."""
    token = session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return str(token)


def check_csrf() -> None:
    """Refuse a form POST whose token does not match the session's."""
    sent = request.form.get("csrf_token", "")
    expected = session.get("csrf", "")
    if not expected or not sent or not hmac.compare_digest(str(sent), str(expected)):
        raise BadRequest("the form has expired or its security token is missing; "
                         "reload the page and try again")


def check_api_key() -> None:
    """When API keys are configured, require a matching ``X-API-Key`` header."""
    keys: tuple[str, ...] = current_app.config["API_KEYS"]
    if not keys:
        return
    sent = request.headers.get("X-API-Key", "")
    ok = False
    for key in keys:  # no early exit: the time taken does not depend on which key matched
        ok |= hmac.compare_digest(sent.encode(), key.encode())
    if not ok:
        raise Unauthorized("missing or wrong API key: send it in the X-API-Key header")


def init_security(app: Flask) -> None:
    """Install headers, the CSRF helper for templates, and the rate limiter."""
    from flask_limiter import Limiter
    from flask_limiter.util import get_remote_address

    app.request_class = MemoryRequest
    app.after_request(set_security_headers)
    app.jinja_env.globals["csrf_token"] = csrf_token
    limiter = Limiter(
        get_remote_address, app=app, default_limits=[app.config["RATELIMIT_DEFAULT"]],
        storage_uri=app.config["RATELIMIT_STORAGE_URI"], enabled=app.config["RATELIMIT_ENABLED"],
        default_limits_exempt_when=lambda: request.endpoint in (
            "static", "api.health", "pages.favicon", "videos.job_status"),
    )
    app.extensions["facegender_limiter"] = limiter
