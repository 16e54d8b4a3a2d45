"""One place that turns every error into the JSON envelope (API) or a friendly page.

The envelope: ``{"error": {"code": ..., "message": ...}, "request_id": ...}``.
Library errors carry their own status; Werkzeug's HTTP errors (404, 405, 413,
429 from the rate limiter) are mapped to the same codes; anything else is a
logged 500 that never shows a traceback.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, g, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from ..errors import FaceGenderError

log = logging.getLogger(__name__)

HTTP_CODES = {400: "bad_request", 401: "unauthorized", 404: "not_found",
              405: "method_not_allowed", 413: "payload_too_large", 415: "unsupported_media",
              422: "unprocessable", 429: "rate_limited", 500: "internal_error", 503: "busy"}
TITLES = {400: "That request did not work", 401: "A key is needed", 404: "Page not found",
          405: "Not allowed here", 413: "That upload is too large",
          415: "That file is not an image we can read", 422: "We cannot process that image",
          429: "Too many requests", 500: "Something went wrong on our side",
          503: "Busy right now"}

VIDEO_TITLES = {415: "That file is not a video we can read",
                422: "We cannot process that video"}


def error_response(status: int, code: str, message: str) -> Any:
    """The JSON envelope for API paths, the error page otherwise."""
    rid = getattr(g, "request_id", "")
    if request.path.startswith("/api/"):
        resp = jsonify({"error": {"code": code, "message": message}, "request_id": rid})
        resp.status_code = status
        return resp
    title = TITLES.get(status, "Error")
    if request.path.startswith("/video"):
        title = VIDEO_TITLES.get(status, title)
    html = render_template("error.html", status=status, title=title,
                           message=message, request_id=rid)
    return html, status


def init_errors(app: Flask) -> None:
    @app.errorhandler(FaceGenderError)
    def _library(exc: FaceGenderError) -> Any:
        return error_response(exc.status_code, exc.code, exc.message)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Any:
        status = exc.code or 500
        message = exc.description or exc.name
        if status == 413:
            limit = request.max_content_length or app.config.get("MAX_CONTENT_LENGTH") or 0
            message = f"the request is larger than the limit of {limit / 1024 / 1024:.0f} MB"
        if status == 429:
            message = f"too many requests: the limit is {exc.description}; wait and retry"
        return error_response(status, HTTP_CODES.get(status, "http_error"), message)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Any:
        log.exception("unexpected error in request %s", getattr(g, "request_id", ""))
        return error_response(500, "internal_error",
                              "an unexpected error occurred; it has been logged")
