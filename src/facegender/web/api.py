"""The JSON API under ``/api/v1``; its contract is in :mod:`facegender.web.openapi`."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g, jsonify, request

from ..errors import BadRequest, FaceGenderError, PayloadTooLarge, UnsupportedMedia
from .security import check_api_key
from .service import Service, parse_bool, parse_min_face_size, pick_service

bp = Blueprint("api", __name__, url_prefix="/api/v1")
OPEN_ENDPOINTS = {"api.health", "api.openapi"}


def service() -> Service:
    """The service of the model the request names (``model=``), else the default."""
    return pick_service(current_app.extensions["facegender_models"], _option("model"))


@bp.before_request
def _auth() -> None:
    if request.endpoint not in OPEN_ENDPOINTS:
        check_api_key()


def _option(name: str) -> str | None:
    return request.args.get(name) or request.form.get(name)


def _single_upload() -> bytes:
    """The image bytes of an analyze request: multipart field ``image`` or the raw body."""
    ctype = request.mimetype or ""
    if ctype == "multipart/form-data":
        upload = request.files.get("image")
        if upload is None:
            raise BadRequest("multipart request without an 'image' file field")
        return upload.read()
    if ctype.startswith("image/") or ctype in ("application/octet-stream", ""):
        data = request.get_data(cache=False)
        if not data:
            raise BadRequest("empty request body: send an image as the body or as 'image'")
        return data
    raise UnsupportedMedia(f"content type {ctype!r} is not supported; send multipart/form-data "
                           "with an 'image' field, or the image bytes as image/* ")


@bp.post("/analyze")
def analyze() -> Any:
    """Detect and classify every face in one image."""
    svc = service()
    min_face = parse_min_face_size(_option("min_face_size"),
                                   current_app.config["MIN_FACE_SIZE_MAX"])
    crops = parse_bool(_option("include_crops"), "include_crops")
    result = svc.api_result(_single_upload(), min_face_size=min_face, include_crops=crops)
    return jsonify({"request_id": g.request_id, **result})


@bp.post("/analyze/batch")
def analyze_batch() -> Any:
    """Several images in one multipart request; a bad one gives an error entry only."""
    if request.mimetype != "multipart/form-data":
        raise UnsupportedMedia("the batch endpoint takes multipart/form-data with 'images' files")
    files = request.files.getlist("images") + request.files.getlist("image")
    if not files:
        raise BadRequest("multipart request without 'images' file fields")
    limit = current_app.config["MAX_BATCH_IMAGES"]
    if len(files) > limit:
        raise PayloadTooLarge(f"{len(files)} images in one request; the limit is {limit}")
    min_face = parse_min_face_size(_option("min_face_size"),
                                   current_app.config["MIN_FACE_SIZE_MAX"])
    crops = parse_bool(_option("include_crops"), "include_crops")
    results: list[dict[str, Any]] = []
    for upload in files:
        entry: dict[str, Any] = {"filename": upload.filename or ""}
        try:
            result = service().api_result(upload.read(), min_face_size=min_face,
                                          include_crops=crops)
            entry.update({k: v for k, v in result.items() if k != "model"})
        except FaceGenderError as exc:
            entry["error"] = exc.to_dict()
        results.append(entry)
    return jsonify({"request_id": g.request_id, "model": service().model_info,
                    "results": results})


@bp.get("/health")
def health() -> Any:
    """Liveness, and whether the model is loaded."""
    svc = current_app.extensions.get("facegender")
    return jsonify({"status": "ok", "model_loaded": svc is not None,
                    "model": svc.model_info if svc else None,
                    "models": list(current_app.extensions.get("facegender_models", {}))})


@bp.get("/model")
def model() -> Any:
    """The model's manifest: version, sha256, training data, metrics."""
    return jsonify(service().model.manifest)


@bp.get("/openapi.json")
def openapi() -> Any:
    """The OpenAPI 3.1 document of this API."""
    from .openapi import spec

    return jsonify(spec())
