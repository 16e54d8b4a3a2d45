"""Video jobs over HTTP: ``/api/v1/videos`` (JSON) and the ``/video`` pages.

An upload becomes a background job (:mod:`facegender.web.jobs`): the POST
answers at once (``202`` and the job's URL), the job's status is polled, and
the annotated video is streamed from the finished job with range requests, so
a browser's ``<video>`` element can seek in it.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)

from ..errors import BadRequest, PayloadTooLarge, UnsupportedMedia
from .jobs import JobStore
from .security import check_api_key, check_csrf
from .service import pick_service

api_bp = Blueprint("videos_api", __name__, url_prefix="/api/v1/videos")
pages_bp = Blueprint("videos", __name__)

MULTIPART_SLACK = 64 * 1024
"""Bytes allowed over the video limit for the multipart envelope and form fields."""


def store() -> JobStore:
    return current_app.extensions["facegender_jobs"]  # type: ignore[no-any-return]


def parse_every(raw: str | None) -> int | None:
    """The ``every`` option: empty or ``auto`` (about 10 analysed frames a second), or 1..300."""
    if raw is None or raw.strip().lower() in ("", "auto"):
        return None
    try:
        value = int(raw.strip())
    except ValueError:
        raise BadRequest(f"every={raw!r} is not an integer; allowed auto or 1..300") from None
    if not 1 <= value <= 300:
        raise BadRequest(f"every={value} is out of range; allowed auto or 1..300")
    return value


def _option(name: str) -> str | None:
    return request.args.get(name) or request.form.get(name)


def start_job() -> dict[str, Any]:
    """Read the ``video`` upload and its options, and start its job (the shared POST step)."""
    request.max_content_length = current_app.config["VIDEO_MAX_BYTES"] + MULTIPART_SLACK
    if request.mimetype != "multipart/form-data":
        raise UnsupportedMedia("send the video as multipart/form-data in a 'video' file field")
    upload = request.files.get("video")
    if upload is None or not upload.filename:
        raise BadRequest("no video: send it in a 'video' file field")
    data = upload.read()
    limit = current_app.config["VIDEO_MAX_BYTES"]
    if len(data) > limit:
        raise PayloadTooLarge(f"the video is {len(data) / 2**20:.1f} MB; the limit is "
                              f"{limit / 2**20:.0f} MB")
    svc = pick_service(current_app.extensions["facegender_models"], _option("model"))
    return store().create(data, upload.filename, svc.model, svc.model_info,
                          every=parse_every(_option("every")))


# --- API -------------------------------------------------------------------------------------

@api_bp.before_request
def _auth() -> None:
    check_api_key()


def _api_view(status: dict[str, Any]) -> dict[str, Any]:
    base = url_for("videos_api.get_job", job_id=status["id"])
    return {"request_id": g.request_id, **store().public(status, base)}


@api_bp.post("")
def create_job() -> Any:
    """Upload a video; it is processed in the background. Answers 202 with the job."""
    body = _api_view(start_job())
    resp = jsonify(body)
    resp.status_code = 202
    resp.headers["Location"] = body["links"]["self"]
    return resp


@api_bp.get("/<job_id>")
def get_job(job_id: str) -> Any:
    """The job's status, progress and, once done, its result."""
    return jsonify(_api_view(store().get(job_id)))


def send_video(job_id: str) -> Any:
    """The annotated H.264 MP4, with range requests so a ``<video>`` element can seek."""
    return send_file(store().file(job_id, "annotated.mp4"), mimetype="video/mp4",
                     conditional=True, max_age=0)


def send_frames(job_id: str) -> Any:
    """Every analysed frame's faces, one JSON object per line."""
    return send_file(store().file(job_id, "frames.jsonl"), mimetype="application/x-ndjson",
                     max_age=0)


api_bp.add_url_rule("/<job_id>/video", "get_video", send_video)
api_bp.add_url_rule("/<job_id>/frames", "get_frames", send_frames)


@api_bp.delete("/<job_id>")
def delete_job(job_id: str) -> Any:
    """Delete the job and its files now; a running job stops."""
    store().delete(job_id)
    return "", 204


# --- pages -----------------------------------------------------------------------------------

def _limits() -> dict[str, Any]:
    cfg = current_app.config
    return {"max_mb": cfg["VIDEO_MAX_BYTES"] / 2**20, "max_min": cfg["VIDEO_MAX_DURATION_S"] / 60,
            "max_side": cfg["VIDEO_MAX_SIDE"], "ttl_min": cfg["VIDEO_JOB_TTL_S"] / 60}


@pages_bp.get("/video")
def upload_page() -> str:
    """The video upload form."""
    services = current_app.extensions["facegender_models"]
    default = next(iter(services.values()))
    return render_template("video.html", limits=_limits(), models=list(services),
                           model=default.model_info)


@pages_bp.post("/video")
def upload() -> Any:
    """Start a job from the form, then show its page."""
    check_csrf()
    status = start_job()
    return redirect(url_for("videos.job_page", job_id=status["id"]), code=303)


@pages_bp.get("/videos/<job_id>")
def job_page(job_id: str) -> str:
    """Progress while the job runs (updated by video.js, or a meta refresh), then the result."""
    status = store().get(job_id)
    view = store().public(status, url_for("videos.job_page", job_id=job_id))
    return render_template("video_job.html", job=view, limits=_limits(), model=view["model"])


@pages_bp.get("/videos/<job_id>/status")
def job_status(job_id: str) -> Any:
    """The job page's polling endpoint: the API's status without needing an API key."""
    status = store().get(job_id)
    return jsonify(store().public(status, url_for("videos.job_page", job_id=job_id)))


pages_bp.add_url_rule("/videos/<job_id>/video", "job_video", send_video)
pages_bp.add_url_rule("/videos/<job_id>/frames", "job_frames", send_frames)


@pages_bp.post("/videos/<job_id>/delete")
def job_delete(job_id: str) -> Any:
    """The page's delete button: remove the job's files now."""
    check_csrf()
    store().delete(job_id)
    return redirect(url_for("videos.upload_page"), code=303)
