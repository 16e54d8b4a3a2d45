"""Web fixtures: the app on the tiny real model, its test client, real photo bytes."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from facegender.web import create_app


class InMemoryClient(FlaskClient):
    """Flask's test client with multipart bodies built in memory.

    Werkzeug's test client spools a multipart body over 500 KB into a
    ``TemporaryFile`` it never closes; under ``-W error`` that surfaces as an
    unraisable ResourceWarning in whichever test runs next. The app itself
    never touches disk (tests/web/test_api.py checks that separately).
    """

    def open(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        data = kwargs.get("data")
        if isinstance(data, dict):
            fields: MultiDict = MultiDict()
            for key, value in data.items():
                for v in value if isinstance(value, list) else [value]:
                    if isinstance(v, tuple):
                        v = FileStorage(v[0], filename=v[1],
                                        content_type=v[2] if len(v) > 2 else None)
                    fields.add(key, v)
            boundary, body = encode_multipart(fields)
            kwargs["data"] = body
            kwargs["content_type"] = f"multipart/form-data; boundary={boundary}"
        return super().open(*args, **kwargs)


@pytest.fixture(autouse=True)
def _in_memory_test_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Flask, "test_client_class", InMemoryClient)


@pytest.fixture()
def app(tiny_model):
    return create_app({"MODEL": tiny_model, "RATELIMIT_ENABLED": False,
                       "SECRET_KEY": "test-secret"})


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def two_faces_jpeg(shared_data: Path) -> bytes:
    return (shared_data / "detection/portraits/obama_and_biden.jpg").read_bytes()


@pytest.fixture(scope="session")
def astronaut_png(astronaut) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(astronaut[:, :, ::-1]).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture(scope="session")
def coins_png(shared_data: Path) -> bytes:
    return (shared_data / "detection/no_face/coins.png").read_bytes()


def ffmpeg(*args: str) -> None:
    """Run the ffmpeg that imageio-ffmpeg ships (no system ffmpeg needed)."""
    import subprocess

    from facegender.video.writer import ffmpeg_exe

    subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args],
                   check=True, timeout=120)


@pytest.fixture(scope="session")
def run_ffmpeg():  # type: ignore[no-untyped-def]
    """:func:`ffmpeg`, for tests that make videos."""
    return ffmpeg


@pytest.fixture(scope="session")
def short_clip(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 2 s (60 frames, 640x360, two people on stage) of the real clip, as H.264 MP4."""
    out = tmp_path_factory.mktemp("clips") / "short.mp4"
    ffmpeg("-i", str(shared_data / "video/short_hamilton_clip.mp4"), "-frames:v", "60", "-an",
           "-c:v", "libx264", "-pix_fmt", "yuv420p", str(out))
    return out
