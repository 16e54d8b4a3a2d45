"""The live webcam page: the browser sends camera frames, we answer with the faces.

The page (``static/webcam.js``) grabs a frame from ``getUserMedia`` at most a
few times a second, one request in flight at a time, scaled to at most 640
pixels wide, and draws the boxes over the live picture. Frames are posted to
``/webcam/frame``, not to the public API: it is a same-origin form post with
the page's CSRF token (so no API key has to live in the page), and it has its
own rate limit (``WEBCAM_RATELIMIT``) sized for a live picture, apart from the
API's. Frames are analysed in memory and never stored, like photos.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g, jsonify, render_template, request

from ..errors import BadRequest
from .security import check_csrf
from .service import pick_service

bp = Blueprint("webcam", __name__)


@bp.get("/webcam")
def page() -> str:
    """The live page; it works on localhost or https, where browsers allow the camera."""
    services = current_app.extensions["facegender_models"]
    default = next(iter(services.values()))
    return render_template("webcam.html", models=list(services), model=default.model_info)


@bp.post("/webcam/frame")
def frame() -> Any:
    """One camera frame (multipart ``image`` + ``csrf_token``) → the API's analyze result."""
    check_csrf()
    upload = request.files.get("image")
    if upload is None:
        raise BadRequest("no frame: send it in an 'image' file field")
    svc = pick_service(current_app.extensions["facegender_models"], request.form.get("model"))
    result = svc.api_result(upload.read(), min_face_size=None, include_crops=False)
    return jsonify({"request_id": g.request_id, **result})
