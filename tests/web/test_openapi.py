"""The OpenAPI document matches what the server really answers."""

from __future__ import annotations

import io

import pytest
from jsonschema import Draft202012Validator


@pytest.fixture()
def spec(client) -> dict:
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    return r.get_json()


def _validate(spec: dict, schema_name: str, body: dict) -> None:
    root = {"$ref": f"#/components/schemas/{schema_name}", "components": spec["components"]}
    Draft202012Validator.check_schema(root)
    errors = list(Draft202012Validator(root).iter_errors(body))
    assert not errors, [e.message for e in errors]


def test_document_is_openapi_31(spec) -> None:
    assert spec["openapi"].startswith("3.1")
    for name, schema in spec["components"]["schemas"].items():
        Draft202012Validator.check_schema(schema), name


def test_analyze_response_matches(client, spec, two_faces_jpeg) -> None:
    r = client.post("/api/v1/analyze?include_crops=true",
                    data={"image": (io.BytesIO(two_faces_jpeg), "a.jpg")})
    _validate(spec, "AnalyzeResponse", r.get_json())


def test_batch_response_matches(client, spec, two_faces_jpeg) -> None:
    r = client.post("/api/v1/analyze/batch", data={"images": [
        (io.BytesIO(two_faces_jpeg), "a.jpg"), (io.BytesIO(b"nope"), "b.jpg")]})
    _validate(spec, "BatchResponse", r.get_json())


def test_health_model_and_errors_match(client, spec) -> None:
    _validate(spec, "Health", client.get("/api/v1/health").get_json())
    _validate(spec, "Manifest", client.get("/api/v1/model").get_json())
    r = client.post("/api/v1/analyze", data=b"nope", content_type="image/png")
    _validate(spec, "Error", r.get_json())


def test_every_documented_path_exists(client, spec) -> None:
    for path, ops in spec["paths"].items():
        for method in ops:
            if "{job_id}" in path:  # unknown job: the documented 404 envelope
                r = client.open(path.replace("{job_id}", "0" * 32), method=method.upper())
                assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found", path
                continue
            r = client.open(path, method=method.upper())
            assert r.status_code != 404, path
            assert r.status_code < 500, path


def test_docs_page_lists_every_path(client, spec) -> None:
    html = client.get("/api/docs").get_data(as_text=True)
    for path in spec["paths"]:
        assert path in html
