"""The facegender web app: ``create_app`` builds it; importing this module does nothing.

Run it with gunicorn (``make run``), which preloads the app so the model is
loaded once, before the workers fork::

    gunicorn --config python:facegender.web.gunicorn_conf "facegender.web:create_app()"
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Flask, g, request


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app: configuration, model (once), blueprints, security, error handling.

    Parameters
    ----------
    config : dict, optional
        Overrides of :data:`facegender.web.config.DEFAULTS`; tests pass ``MODEL``
        (a loaded :class:`~facegender.model.GenderModel`) to skip loading.
    """
    from ..persist import load_model
    from . import api, pages
    from .config import build_config
    from .errors import init_errors
    from .security import init_security
    from .service import Service

    cfg = build_config(config)
    app = Flask(__name__)
    app.config.update(cfg)
    model = cfg.get("MODEL") or load_model(cfg["MODEL_PATH"])
    app.extensions["facegender"] = Service(model=model, max_pixels=cfg["MAX_PIXELS"])

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
    return app
