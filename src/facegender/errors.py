"""The exceptions facegender raises, each knowing the HTTP status it maps to.

One tree, so the web layer turns any of them into the JSON envelope or an
error page in one place and the CLI into a message and an exit code::

    FaceGenderError (500, "internal_error")
    ├── BadRequest (400, "bad_request")            malformed request, bad option value
    ├── Unauthorized (401, "unauthorized")          missing or wrong API key
    ├── NotFound (404, "not_found")                 unknown job, page or model name
    ├── PayloadTooLarge (413, "payload_too_large")  too many bytes
    ├── UnsupportedMedia (415, "unsupported_media") not an image / video we can decode
    ├── UnprocessableImage (422, "unprocessable")   decodes, but we refuse it (pixels, zero size)
    ├── RateLimited (429, "rate_limited")
    ├── ServiceBusy (503, "busy")                   every video job slot is taken
    └── ModelError (500, "model_error")             model file missing, altered or corrupt
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class FaceGenderError(Exception):
    """Base class; ``status_code`` and ``code`` drive the HTTP error envelope."""

    status_code: int = 500
    code: str = "internal_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict[str, str]:
        """The ``error`` member of the JSON error envelope."""
        return {"code": self.code, "message": self.message}


class BadRequest(FaceGenderError):
    status_code = 400
    code = "bad_request"


class Unauthorized(FaceGenderError):
    status_code = 401
    code = "unauthorized"


class NotFound(FaceGenderError):
    status_code = 404
    code = "not_found"


class PayloadTooLarge(FaceGenderError):
    status_code = 413
    code = "payload_too_large"


class UnsupportedMedia(FaceGenderError):
    status_code = 415
    code = "unsupported_media"


class UnprocessableImage(FaceGenderError):
    status_code = 422
    code = "unprocessable"


class RateLimited(FaceGenderError):
    status_code = 429
    code = "rate_limited"


class ServiceBusy(FaceGenderError):
    status_code = 503
    code = "busy"


class ModelError(FaceGenderError):
    status_code = 500
    code = "model_error"


def check_ranges(checks: Iterable[tuple[bool, str, str, Any]]) -> None:
    """Raise :class:`BadRequest` for the first ``(ok, name, allowed, value)`` that is not ok.

    Settings objects list their range checks in one place and share this wording:
    the bad value, its name and the allowed range.
    """
    for ok, name, allowed, value in checks:
        if not ok:
            raise BadRequest(f"{name}={value!r} is out of range; allowed {allowed}")
