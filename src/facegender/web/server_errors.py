"""The JSON error envelope for requests gunicorn refuses before the app sees them.

gunicorn answers a request it cannot parse itself (a request line over its
4,094-byte limit: 414; too many or too large headers: 431; a malformed request
line or header: 400) with a small HTML page. Every other error of the API is the
envelope ``{"error": {"code", "message"}, "request_id"}``, so clients would
need a second parser for these few: :func:`install` replaces gunicorn's writer
in a worker with one that sends the envelope (found by ``make fuzz``: a
``min_face_size`` query string of some kilobytes came back as an HTML 414).
"""

from __future__ import annotations

import json
import socket
import uuid

from .errors import HTTP_CODES

#: The app's codes, plus the statuses only gunicorn answers.
CODES = {**HTTP_CODES, 403: "forbidden", 414: "uri_too_long", 417: "expectation_failed",
         431: "header_fields_too_large", 501: "not_implemented"}


def envelope_response(status: int, reason: str, message: str) -> bytes:
    """A complete HTTP/1.1 response carrying the error envelope; the connection closes."""
    body = json.dumps({
        "error": {"code": CODES.get(status, "bad_request"),
                  "message": f"{reason}: {message}" if message else reason},
        "request_id": uuid.uuid4().hex,
    }).encode()
    head = (f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
            "Content-Type: application/json\r\nX-Content-Type-Options: nosniff\r\n"
            f"Cache-Control: no-store\r\nContent-Length: {len(body)}\r\n\r\n")
    return head.encode("latin-1") + body


def _write_error(sock: socket.socket, status_int: int, reason: str, mesg: str) -> None:
    from gunicorn import util

    util.write_nonblock(sock, envelope_response(status_int, reason, mesg))


def install() -> None:
    """Make this gunicorn worker answer its own refusals with the envelope."""
    from gunicorn import util

    util.write_error = _write_error
