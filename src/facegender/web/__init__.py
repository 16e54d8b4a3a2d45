"""The facegender web app: ``create_app`` builds it; importing this module does nothing.

Run it with gunicorn (``make run``), which preloads the app so the model is
loaded once, before the workers fork::

    gunicorn --config python:facegender.web.gunicorn_conf "facegender.web:create_app()"
"""

from __future__ import annotations

import atexit
import importlib.util
import logging
import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

from flask import Flask, g, request

log = logging.getLogger(__name__)


def _extra_services(cfg: dict[str, Any], default: Any) -> dict[str, Any]:
    """The other selectable models; one that cannot load is logged and left out.

    The embedding model needs dlib; without it (an install that left it out)
    the app still serves the eigen-face model instead of refusing to start.
    """
    from ..errors import FaceGenderError
    from ..persist import load_shared
    from .service import Service

    out: dict[str, Any] = {}
    for name in cfg["EXTRA_MODELS"]:
        try:
            if name != "embedding" or importlib.util.find_spec("dlib") is not None:
                svc = Service(model=load_shared(name), max_pixels=cfg["MAX_PIXELS"])
                if svc.model_info["name"] != default.model_info["name"]:
                    out[svc.model_info["name"]] = svc
            else:
                log.warning("model %s needs dlib (pip install dlib-bin); skipped", name)
        except (FaceGenderError, ImportError) as exc:
            log.warning("model %s not loaded: %s", name, exc)
    return out


def _remove_if_owner(root: str, owner: int) -> None:
    if os.getpid() == owner:  # gunicorn workers run atexit too; only the master removes it
        shutil.rmtree(root, ignore_errors=True)


def _job_store(cfg: dict[str, Any]) -> Any:
    """The video job store; its folder is made here, before gunicorn forks, so all workers share it.

    A temporary folder made here is removed when this (the master) process
    exits; workers exiting do not touch it.
    """
    from .jobs import JobLimits, JobStore

    root = cfg["VIDEO_JOBS_DIR"]
    if not root:
        root = tempfile.mkdtemp(prefix="facegender-jobs-")
        atexit.register(_remove_if_owner, root, os.getpid())
    limits = JobLimits(max_jobs=cfg["VIDEO_MAX_JOBS"], ttl_s=cfg["VIDEO_JOB_TTL_S"],
                       max_duration_s=cfg["VIDEO_MAX_DURATION_S"], max_side=cfg["VIDEO_MAX_SIDE"],
                       timeout_s=cfg["VIDEO_JOB_TIMEOUT_S"])
    return JobStore(Path(root), limits)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app: configuration, model (once), blueprints, security, error handling.

    Parameters
    ----------
    config : dict, optional
        Overrides of :data:`facegender.web.config.DEFAULTS`; tests pass ``MODEL``
        (a loaded :class:`~facegender.model.GenderModel`) to skip loading.
    """
    from ..persist import load_model, load_shared
    from . import api, pages, videos, webcam
    from .config import build_config
    from .errors import init_errors
    from .security import init_security
    from .service import Service

    cfg = build_config(config)
    app = Flask(__name__)
    app.config.update(cfg)
    # the shipped default is shared by every app of the process; a given folder is read afresh
    model = cfg.get("MODEL") or (load_model(cfg["MODEL_PATH"]) if cfg["MODEL_PATH"]
                                 else load_shared())
    default = Service(model=model, max_pixels=cfg["MAX_PIXELS"])
    app.extensions["facegender"] = default
    services = {default.model_info["name"]: default, **_extra_services(cfg, default)}
    explainer = next((s.model for s in services.values() if s.model.pca is not None), None)
    for svc in services.values():
        if svc.model.pca is None:
            svc.explainer = explainer
    app.extensions["facegender_models"] = services
    app.extensions["facegender_jobs"] = _job_store(cfg)

    @app.before_request
    def _request_id() -> None:
        sent = request.headers.get("X-Request-ID", "")
        g.request_id = sent if 0 < len(sent) <= 64 and sent.isprintable() else uuid.uuid4().hex

    @app.after_request
    def _echo_request_id(response: Any) -> Any:
        response.headers["X-Request-ID"] = getattr(g, "request_id", "")
        return response

    init_security(app)
    init_errors(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(videos.api_bp)
    app.register_blueprint(videos.pages_bp)
    app.register_blueprint(webcam.bp)
    limiter = app.extensions["facegender_limiter"]
    app.view_functions["webcam.frame"] = limiter.limit(
        lambda: app.config["WEBCAM_RATELIMIT"])(app.view_functions["webcam.frame"])
    return app
