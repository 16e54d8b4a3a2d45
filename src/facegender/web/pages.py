"""HTML pages: upload, results, how it works, API docs."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, redirect, render_template, request, url_for

from ..errors import BadRequest, FaceGenderError, PayloadTooLarge
from .security import check_csrf
from .service import Service, parse_min_face_size, pick_service

bp = Blueprint("pages", __name__)


def service() -> Service:
    """The service of the model the form or query names (``model``), else the default."""
    name = request.form.get("model") or request.args.get("model")
    return pick_service(current_app.extensions["facegender_models"], name)


def models() -> list[str]:
    return list(current_app.extensions["facegender_models"])


def limits() -> dict[str, Any]:
    cfg = current_app.config
    return {"max_mb": cfg["MAX_CONTENT_LENGTH"] / 1024 / 1024,
            "max_mp": cfg["MAX_PIXELS"] / 1e6, "max_images": cfg["MAX_BATCH_IMAGES"]}


@bp.get("/")
def index() -> str:
    """The upload page."""
    return render_template("index.html", limits=limits(), model=service().model_info,
                           models=models())


@bp.post("/analyze")
def analyze() -> Any:
    """Analyze the uploaded photos and show every face."""
    check_csrf()
    files = [f for f in request.files.getlist("photos") if f.filename]
    if not files:
        raise BadRequest("choose at least one photo to upload")
    if len(files) > current_app.config["MAX_BATCH_IMAGES"]:
        raise PayloadTooLarge(f"{len(files)} photos at once; the limit is "
                              f"{current_app.config['MAX_BATCH_IMAGES']}")
    min_face = parse_min_face_size(request.form.get("min_face_size"),
                                   current_app.config["MIN_FACE_SIZE_MAX"])
    results = []
    for upload in files:
        try:
            results.append(service().page_result(upload.filename or "photo", upload.read(),
                                                 min_face))
        except FaceGenderError as exc:
            if len(files) == 1:
                raise  # one photo: the friendly error page with the right status
            results.append({"name": upload.filename, "error": exc.message, "faces": []})
    return render_template("result.html", results=results, limits=limits(),
                           threshold=service().model.threshold, model=service().model_info,
                           embedding=service().model.features == "embedding")


@bp.get("/analyze")
def analyze_get() -> Any:
    """A bookmarked result URL: results are never stored, so go back to the upload page."""
    return redirect(url_for("pages.index"))


@bp.get("/model")
def model() -> str:
    """How it works: the pipeline, the manifest, the eigen faces, limitations."""
    svc = service()
    return render_template("model.html", manifest=svc.model.manifest, about=svc.about(),
                           model=svc.model_info, models=models())


@bp.get("/api/docs")
def api_docs() -> str:
    """Human-readable API documentation rendered from the OpenAPI document."""
    from .openapi import spec

    return render_template("docs.html", spec=spec(), model=service().model_info)


@bp.get("/favicon.ico")
def favicon() -> Any:
    return current_app.send_static_file("favicon.svg")
