"""The JSON API through Flask's test client, with real images and real bad inputs."""

from __future__ import annotations

import base64
import io
import zipfile

import pytest
from PIL import Image

from facegender.web import create_app


def _multipart(data: bytes, name: str = "photo.jpg", field: str = "image") -> dict:
    return {field: (io.BytesIO(data), name)}


def test_analyze_multipart(client, two_faces_jpeg) -> None:
    r = client.post("/api/v1/analyze", data=_multipart(two_faces_jpeg))
    assert r.status_code == 200
    body = r.get_json()
    assert len(body["faces"]) >= 2
    assert body["image"] == {"width": 1280, "height": 853} or body["image"]["width"] > 0
    assert body["model"]["sha256"] and body["request_id"] == r.headers["X-Request-ID"]
    assert set(body["timings_ms"]) == {"decode", "detect", "preprocess", "classify", "total"}
    areas = [f["box"]["w"] * f["box"]["h"] for f in body["faces"]]
    assert areas == sorted(areas, reverse=True)


def test_analyze_raw_body_with_crops(client, astronaut_png) -> None:
    r = client.post("/api/v1/analyze?include_crops=true", data=astronaut_png,
                    content_type="image/png")
    assert r.status_code == 200
    face = r.get_json()["faces"][0]
    crop = Image.open(io.BytesIO(base64.b64decode(face["crop_png"])))
    rec = Image.open(io.BytesIO(base64.b64decode(face["reconstruction_png"])))
    assert crop.size == (100, 100) and rec.size == (100, 100) and crop.mode == "L"


def test_min_face_size_filters(client, astronaut_png) -> None:
    r = client.post("/api/v1/analyze?min_face_size=400", data=astronaut_png,
                    content_type="image/png")
    assert r.status_code == 200 and r.get_json()["faces"] == []


def test_no_face_is_200_empty(client, coins_png) -> None:
    r = client.post("/api/v1/analyze?min_face_size=200", data=_multipart(coins_png, "c.png"))
    assert r.status_code == 200 and r.get_json()["faces"] == []


def _zip_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("a.txt", "hello")
    return buf.getvalue()


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"data": b"just text", "content_type": "image/jpeg"}, 415, "unsupported_media"),
        ({"data": {"image": (io.BytesIO(_zip_bytes()), "x.jpg")}}, 415, "unsupported_media"),
        ({"data": {"image": (io.BytesIO(b""), "empty.jpg")}}, 415, "unsupported_media"),
        ({"data": b'{"a": 1}', "content_type": "application/json"}, 415, "unsupported_media"),
        ({"data": {"photo": (io.BytesIO(b"x"), "x.jpg")}}, 400, "bad_request"),
        ({"data": b"", "content_type": "image/png"}, 400, "bad_request"),
    ],
)
def test_analyze_errors(client, kwargs, status, code) -> None:
    r = client.post("/api/v1/analyze", **kwargs)
    assert r.status_code == status
    body = r.get_json()
    assert body["error"]["code"] == code and body["error"]["message"]
    assert body["request_id"]


def test_truncated_jpeg_415(client, two_faces_jpeg) -> None:
    r = client.post("/api/v1/analyze", data=two_faces_jpeg[:2000], content_type="image/jpeg")
    assert r.status_code == 415


@pytest.mark.parametrize("raw", ["abc", "3", "99999"])
def test_bad_option_400(client, astronaut_png, raw) -> None:
    r = client.post(f"/api/v1/analyze?min_face_size={raw}", data=astronaut_png,
                    content_type="image/png")
    assert r.status_code == 400 and "min_face_size" in r.get_json()["error"]["message"]


def test_too_many_pixels_422(tiny_model, astronaut_png) -> None:
    app = create_app({"MODEL": tiny_model, "RATELIMIT_ENABLED": False, "MAX_PIXELS": 100_000})
    r = app.test_client().post("/api/v1/analyze", data=astronaut_png, content_type="image/png")
    assert r.status_code == 422 and "262,144 pixels" in r.get_json()["error"]["message"]


def test_decompression_bomb_422(client) -> None:
    buf = io.BytesIO()
    Image.new("1", (20000, 20000)).save(buf, format="PNG")
    r = client.post("/api/v1/analyze", data=buf.getvalue(), content_type="image/png")
    assert r.status_code == 422


def test_request_too_large_413(tiny_model, two_faces_jpeg) -> None:
    app = create_app({"MODEL": tiny_model, "RATELIMIT_ENABLED": False,
                      "MAX_CONTENT_LENGTH": 50_000})
    r = app.test_client().post("/api/v1/analyze", data=_multipart(two_faces_jpeg))
    assert r.status_code == 413
    assert r.get_json()["error"]["code"] == "payload_too_large"


def test_batch_mixed(client, two_faces_jpeg, astronaut_png) -> None:
    data = {"images": [(io.BytesIO(two_faces_jpeg), "two.jpg"),
                       (io.BytesIO(b"garbage"), "bad.jpg"),
                       (io.BytesIO(astronaut_png), "astro.png")]}
    r = client.post("/api/v1/analyze/batch", data=data)
    assert r.status_code == 200
    results = r.get_json()["results"]
    assert [e["filename"] for e in results] == ["two.jpg", "bad.jpg", "astro.png"]
    assert len(results[0]["faces"]) >= 2 and len(results[2]["faces"]) == 1
    assert results[1]["error"]["code"] == "unsupported_media"


def test_batch_limit_413(tiny_model, astronaut_png) -> None:
    app = create_app({"MODEL": tiny_model, "RATELIMIT_ENABLED": False, "MAX_BATCH_IMAGES": 2})
    data = {"images": [(io.BytesIO(astronaut_png), f"{i}.png") for i in range(3)]}
    r = app.test_client().post("/api/v1/analyze/batch", data=data)
    assert r.status_code == 413


def test_health_and_model(client) -> None:
    h = client.get("/api/v1/health").get_json()
    assert h["status"] == "ok" and h["model_loaded"] is True
    m = client.get("/api/v1/model").get_json()
    assert m["sha256"] == h["model"]["sha256"] and "metrics" in m


def test_api_keys(tiny_model, astronaut_png) -> None:
    app = create_app({"MODEL": tiny_model, "RATELIMIT_ENABLED": False,
                      "API_KEYS": "k1-secret, k2-secret"})
    c = app.test_client()
    assert c.get("/api/v1/health").status_code == 200  # liveness stays open
    r = c.post("/api/v1/analyze", data=astronaut_png, content_type="image/png")
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "unauthorized"
    r = c.post("/api/v1/analyze", data=astronaut_png, content_type="image/png",
               headers={"X-API-Key": "wrong"})
    assert r.status_code == 401
    r = c.post("/api/v1/analyze", data=astronaut_png, content_type="image/png",
               headers={"X-API-Key": "k2-secret"})
    assert r.status_code == 200


def test_rate_limit_429(tiny_model) -> None:
    app = create_app({"MODEL": tiny_model, "RATELIMIT_DEFAULT": "3 per minute"})
    c = app.test_client()
    codes = [c.get("/api/v1/model").status_code for _ in range(5)]
    assert codes[:3] == [200, 200, 200] and codes[3:] == [429, 429]
    body = c.get("/api/v1/model").get_json()
    assert body["error"]["code"] == "rate_limited"


def test_unknown_route_and_method(client) -> None:
    r = client.get("/api/v1/nope")
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"
    r = client.get("/api/v1/analyze")
    assert r.status_code == 405 and r.get_json()["error"]["code"] == "method_not_allowed"


def test_security_headers(client) -> None:
    r = client.get("/api/v1/health")
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "no-referrer"


def test_uploads_never_touch_disk(client, two_faces_jpeg, monkeypatch) -> None:
    import tempfile

    import werkzeug.formparser

    def refuse(*a, **k):
        raise AssertionError("an upload was written to a temporary file")

    # Werkzeug's parser binds these names at import, so patch them where it looks.
    monkeypatch.setattr(werkzeug.formparser, "SpooledTemporaryFile", refuse)
    monkeypatch.setattr(tempfile, "SpooledTemporaryFile", refuse)
    monkeypatch.setattr(tempfile, "TemporaryFile", refuse)
    monkeypatch.setattr(tempfile, "NamedTemporaryFile", refuse)
    big = two_faces_jpeg * 8  # > 500 KB: Werkzeug would spool this to disk by default
    r = client.post("/api/v1/analyze/batch", data={"images": [
        (io.BytesIO(two_faces_jpeg), "a.jpg"), (io.BytesIO(big), "b.jpg")]})
    assert r.status_code == 200


def test_model_loaded_once_at_start_not_per_request(tiny_model_dir, astronaut_png,
                                                    monkeypatch) -> None:
    import facegender.persist
    from facegender.web import create_app

    calls = []
    real = facegender.persist.load_model
    monkeypatch.setattr(facegender.persist, "load_model",
                        lambda path=None: calls.append(path) or real(path))
    app = create_app({"MODEL_PATH": str(tiny_model_dir), "RATELIMIT_ENABLED": False,
                      "EXTRA_MODELS": ""})
    client = app.test_client()
    for _ in range(3):
        assert client.post("/api/v1/analyze", data=astronaut_png,
                           content_type="image/png").status_code == 200
    assert client.get("/api/v1/health").get_json()["model_loaded"] is True
    assert calls == [str(tiny_model_dir)]


def test_corrupt_model_file_is_a_clear_error_at_start(tiny_model_dir, tmp_path) -> None:
    import shutil

    from facegender.errors import ModelError
    from facegender.web import create_app

    broken = tmp_path / "model"
    shutil.copytree(tiny_model_dir, broken)
    data = bytearray((broken / "model.skops").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (broken / "model.skops").write_bytes(bytes(data))
    with pytest.raises(ModelError, match="sha256"):
        create_app({"MODEL_PATH": str(broken)})


def test_unexpected_error_is_a_500_envelope_without_details(app, astronaut_png) -> None:
    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("secret internal detail")

    app.extensions["facegender"].api_result = broken
    r = app.test_client().post("/api/v1/analyze", data=astronaut_png, content_type="image/png")
    body = r.get_json()
    assert r.status_code == 500 and body["error"]["code"] == "internal_error"
    assert "secret" not in r.get_data(as_text=True) and body["request_id"]


def test_model_selectable_by_name(tiny_model, two_faces_jpeg) -> None:
    from facegender.web import create_app

    app = create_app({"MODEL": tiny_model, "RATELIMIT_ENABLED": False,
                      "EXTRA_MODELS": "embedding"})
    c = app.test_client()
    models = c.get("/api/v1/health").get_json()["models"]
    assert models[0] == tiny_model.name and "embedding" in models
    r = c.post("/api/v1/analyze?model=embedding", data=two_faces_jpeg, content_type="image/jpeg")
    body = r.get_json()
    assert r.status_code == 200 and body["model"]["name"] == "embedding"
    # Obama and Biden, largest first, and a girl half in shadow behind them
    assert len(body["faces"]) == 3 and {f["gender"] for f in body["faces"][:2]} == {"male"}
    assert c.get("/api/v1/model?model=embedding").get_json()["features"] == "embedding"
    bad = c.post("/api/v1/analyze?model=nope", data=two_faces_jpeg, content_type="image/jpeg")
    assert bad.status_code == 400 and "available" in bad.get_json()["error"]["message"]


def test_each_face_says_what_confidence_it_needed(shared_data, astronaut_png) -> None:
    """With the shipped default model: a baby's face is never sure, however confident the
    model is (here 0.96); an adult's large face needs the adults' threshold. The API says
    which bar each face had to clear."""
    from facegender.persist import load_model

    client = create_app({"MODEL": load_model(), "RATELIMIT_ENABLED": False,
                         "SECRET_KEY": "test-secret"}).test_client()
    baby = (shared_data / "utkface/male/1_0_0_20161219154956869.jpg.chip.jpg").read_bytes()
    face = client.post("/api/v1/analyze", data=_multipart(baby)).get_json()["faces"][0]
    assert face["confidence"] > 0.9 and face["uncertain"] and face["uncertain_below"] > 1
    adult = client.post("/api/v1/analyze", data=astronaut_png,
                        content_type="image/png").get_json()["faces"][0]
    assert adult["uncertain_below"] <= 0.8 and adult["uncertain"] is False
    assert adult["confidence"] >= adult["uncertain_below"]
