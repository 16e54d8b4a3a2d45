"""Web configuration in layers: defaults -> the ``config`` given to ``create_app`` -> env.

Every setting can be set from the environment as ``FACEGENDER_<NAME>``; values
are parsed as the default's type. Nothing here reads files or loads models.
"""

from __future__ import annotations

import os
import secrets
from typing import Any

DEFAULTS: dict[str, Any] = {
    "MODEL_PATH": None,  # a model folder or a shipped name; None = the shipped default
    "EXTRA_MODELS": "eigenface",  # comma-separated shipped names or folders, selectable by name
    "MAX_CONTENT_LENGTH": 10 * 1024 * 1024,  # bytes per request
    "MAX_PIXELS": 40_000_000,  # per image, checked from the header before decoding
    "MAX_BATCH_IMAGES": 20,  # images per batch request / per upload form
    "API_KEYS": "",  # comma-separated; empty = no key needed
    "RATELIMIT_DEFAULT": "120 per minute",  # per client, API and uploads
    "RATELIMIT_STORAGE_URI": "memory://",
    "RATELIMIT_ENABLED": True,
    "SECRET_KEY": None,  # random per process when unset (gunicorn preload shares it)
    "MIN_FACE_SIZE_MAX": 4096,
    "VIDEO_MAX_BYTES": 100 * 1024 * 1024,  # per uploaded video
    "VIDEO_MAX_DURATION_S": 600,  # longer videos are refused from their header
    "VIDEO_MAX_SIDE": 3840,  # pixels, the longer side of a frame (4K UHD)
    "VIDEO_MAX_JOBS": 2,  # queued or running at once, all workers together
    "VIDEO_JOB_TTL_S": 3600,  # a finished job's files are deleted this long after it ended
    "VIDEO_JOB_TIMEOUT_S": 900,  # wall time one job may take
    "VIDEO_JOBS_DIR": "",  # empty = a new private temporary folder per server
    "WEBCAM_RATELIMIT": "300 per minute",  # frames from the webcam page, per client
}


def _parse(raw: str, like: Any) -> Any:
    if isinstance(like, bool):
        return raw.strip().lower() in ("1", "true", "yes", "on")
    if isinstance(like, int):
        return int(raw)
    return raw


def build_config(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Merge defaults, ``overrides`` and ``FACEGENDER_*`` environment variables (last wins)."""
    cfg = dict(DEFAULTS)
    cfg.update(overrides or {})
    for key, default in DEFAULTS.items():
        raw = os.environ.get(f"FACEGENDER_{key}")
        if raw is not None:
            cfg[key] = _parse(raw, default if default is not None else "")
    if not cfg.get("SECRET_KEY"):
        cfg["SECRET_KEY"] = secrets.token_hex(32)
    cfg["EXTRA_MODELS"] = tuple(m.strip() for m in str(cfg["EXTRA_MODELS"] or "").split(",")
                                if m.strip())
    cfg["API_KEYS"] = tuple(k.strip() for k in str(cfg["API_KEYS"] or "").split(",") if k.strip())
    return cfg
