"""The OpenAPI 3.1 document of ``/api/v1``; tests validate real responses against it."""

from __future__ import annotations

from typing import Any

from .. import __version__


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _error(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": _ref("Error")}}}


SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object", "required": ["error", "request_id"],
        "properties": {
            "error": {"type": "object", "required": ["code", "message"], "properties": {
                "code": {"type": "string", "enum": [
                    "bad_request", "unauthorized", "not_found", "method_not_allowed",
                    "payload_too_large", "unsupported_media", "unprocessable", "rate_limited",
                    "internal_error", "model_error", "busy"]},
                "message": {"type": "string"}}},
            "request_id": {"type": "string"},
        },
    },
    "ModelInfo": {
        "type": "object", "required": ["name", "version", "sha256"],
        "properties": {"name": {"type": "string"}, "version": {"type": "string"},
                       "sha256": {"type": "string"}},
    },
    "Box": {
        "type": "object", "required": ["x", "y", "w", "h"],
        "description": "Pixels of the original image; x right, y down from the top-left.",
        "properties": {k: {"type": "integer", "minimum": 0} for k in ("x", "y", "w", "h")},
    },
    "Face": {
        "type": "object", "required": ["box", "gender", "confidence", "probabilities", "uncertain"],
        "properties": {
            "box": _ref("Box"),
            "gender": {"type": "string", "enum": ["female", "male"]},
            "confidence": {"type": "number", "minimum": 0.5, "maximum": 1},
            "probabilities": {"type": "object", "required": ["female", "male"], "properties": {
                "female": {"type": "number", "minimum": 0, "maximum": 1},
                "male": {"type": "number", "minimum": 0, "maximum": 1}}},
            "uncertain": {"type": "boolean",
                          "description": "confidence below the model's validated threshold"},
            "uncertain_below": {"type": "number", "minimum": 0.5,
                                "description": "the confidence this face needed to be sure, "
                                "where the model sets it per face (by guessed age group, "
                                "stricter for small faces); above 1: never sure"},
            "crop_png": {"type": ["string", "null"], "contentEncoding": "base64",
                         "description": "with include_crops: the 100x100 grayscale model input"},
            "reconstruction_png": {"type": ["string", "null"], "contentEncoding": "base64",
                                   "description": "with include_crops: eigen-face reconstruction"},
        },
    },
    "ImageResult": {
        "type": "object", "required": ["image", "faces", "timings_ms"],
        "properties": {
            "image": {"type": "object", "required": ["width", "height"], "properties": {
                "width": {"type": "integer"}, "height": {"type": "integer"}}},
            "faces": {"type": "array", "items": _ref("Face")},
            "timings_ms": {"type": "object", "additionalProperties": {"type": "number"},
                           "required": ["decode", "detect", "preprocess", "classify", "total"]},
        },
    },
}
SCHEMAS["AnalyzeResponse"] = {
    "allOf": [_ref("ImageResult"), {
        "type": "object", "required": ["request_id", "model"],
        "properties": {"request_id": {"type": "string"}, "model": _ref("ModelInfo")}}],
}
SCHEMAS["BatchEntry"] = {
    "type": "object", "required": ["filename"],
    "properties": {"filename": {"type": "string"}},
    "oneOf": [{"required": ["error"], "properties": {"error": SCHEMAS["Error"]["properties"][
        "error"]}}, _ref("ImageResult")],
}
SCHEMAS["BatchResponse"] = {
    "type": "object", "required": ["request_id", "model", "results"],
    "properties": {"request_id": {"type": "string"}, "model": _ref("ModelInfo"),
                   "results": {"type": "array", "items": _ref("BatchEntry")}},
}
SCHEMAS["Health"] = {
    "type": "object", "required": ["status", "model_loaded"],
    "properties": {"status": {"const": "ok"}, "model_loaded": {"type": "boolean"},
                   "model": {"oneOf": [_ref("ModelInfo"), {"type": "null"}]},
                   "models": {"type": "array", "items": {"type": "string"},
                              "description": "names accepted by the model option"}},
}
SCHEMAS["Manifest"] = {
    "type": "object", "required": ["name", "version", "sha256", "metrics", "training_data"],
    "additionalProperties": True,
}
_NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
SCHEMAS["Track"] = {
    "type": "object",
    "required": ["id", "first_frame", "last_frame", "first_time_s", "last_time_s", "frames_seen",
                 "gender", "confidence", "probabilities", "uncertain"],
    "description": "One person followed through the video; gender from the frames' averaged "
                   "probabilities.",
    "properties": {
        "id": {"type": "integer", "minimum": 1},
        "first_frame": {"type": "integer"}, "last_frame": {"type": "integer"},
        "first_time_s": {"type": "number"}, "last_time_s": {"type": "number"},
        "frames_seen": {"type": "integer", "minimum": 1},
        "gender": {"type": "string", "enum": ["female", "male"]},
        "confidence": {"type": "number", "minimum": 0.5, "maximum": 1},
        "probabilities": SCHEMAS["Face"]["properties"]["probabilities"],
        "uncertain": {"type": "boolean",
                      "description": "the averaged confidence is below uncertain_below"},
        "uncertain_below": {"type": "number", "minimum": 0.5,
                            "description": "the confidence the track needed to be sure, where "
                            "the model sets one per face: the median of its frames' (a child's "
                            "or a doubted box's: above 1, never sure; a small face's: stricter)"},
    },
}
SCHEMAS["VideoResult"] = {
    "type": "object",
    "required": ["source", "width", "height", "fps", "every", "frames_read", "frames_analyzed",
                 "duration_s", "elapsed_s", "processing_fps", "tracks", "brief_tracks", "frames"],
    "properties": {
        "source": {"type": "string"}, "width": {"type": "integer"}, "height": {"type": "integer"},
        "fps": {"type": "number"}, "every": {"type": "integer"},
        "frames_read": {"type": "integer"}, "frames_analyzed": {"type": "integer"},
        "duration_s": {"type": "number"}, "elapsed_s": {"type": "number"},
        "processing_fps": {"type": "number"},
        "tracks": {"type": "array", "items": _ref("Track"),
                   "description": "people seen in at least 3 analysed frames"},
        "brief_tracks": {"type": "integer", "description": "shorter tracks, left out"},
        "frames": {"type": "array", "description": "per analysed frame: faces and their tracks "
                   "(the full boxes and answers are at links.frames)", "items": {
                       "type": "object", "required": ["frame", "time_s", "faces", "tracks"],
                       "properties": {"frame": {"type": "integer"}, "time_s": {"type": "number"},
                                      "faces": {"type": "integer"},
                                      "tracks": {"type": "array",
                                                 "items": {"type": "integer"}}}}},
    },
}
SCHEMAS["VideoJob"] = {
    "type": "object",
    "required": ["id", "status", "progress", "frames_read", "frames_total", "created_at",
                 "started_at", "finished_at", "expires_at", "filename", "model", "every",
                 "video", "error", "result", "links"],
    "properties": {
        "request_id": {"type": "string"},
        "id": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
        "status": {"type": "string", "enum": ["queued", "running", "done", "failed"]},
        "progress": {"type": "number", "minimum": 0, "maximum": 1},
        "frames_read": {"type": "integer"},
        "frames_total": {"type": ["integer", "null"], "description": "from the file's header"},
        "created_at": {"type": "string", "format": "date-time"},
        "started_at": _NULLABLE_TIME, "finished_at": _NULLABLE_TIME,
        "expires_at": {**_NULLABLE_TIME, "description": "when the job and its files are deleted"},
        "filename": {"type": "string"}, "model": _ref("ModelInfo"),
        "every": {"type": "integer", "description": "one frame in this many is analysed"},
        "video": {"type": "object", "required": ["width", "height", "fps", "duration_s"],
                  "properties": {"width": {"type": "integer"}, "height": {"type": "integer"},
                                 "fps": {"type": "number"},
                                 "duration_s": {"type": ["number", "null"]}}},
        "error": {"oneOf": [{"type": "null"}, SCHEMAS["Error"]["properties"]["error"]]},
        "result": {"oneOf": [{"type": "null"}, _ref("VideoResult")]},
        "links": {"type": "object", "required": ["self", "video", "frames"], "properties": {
            "self": {"type": "string"},
            "video": {"type": ["string", "null"], "description": "the annotated H.264 MP4"},
            "frames": {"type": ["string", "null"],
                       "description": "every analysed frame's faces, JSON lines"}}},
    },
}

OPTIONS = [
    {"name": "min_face_size", "in": "query", "required": False,
     "description": "Ignore faces smaller than this many pixels (8..4096).",
     "schema": {"type": "integer", "minimum": 8, "maximum": 4096}},
    {"name": "include_crops", "in": "query", "required": False,
     "description": "Add base64 PNG crops and eigen-face reconstructions to each face.",
     "schema": {"type": "boolean", "default": False}},
    MODEL_OPTION := {"name": "model", "in": "query", "required": False,
                     "description": "A loaded model by name (see /api/v1/health `models`): "
                                    "embedding (default, accurate) or eigenface (explainable).",
                     "schema": {"type": "string"}},
]
COMMON_ERRORS = {
    "400": _error("Malformed request or option"), "401": _error("Missing or wrong API key"),
    "413": _error("Request, image count or file too large"),
    "415": _error("Not an image, or an unsupported content type"),
    "422": _error("An image we refuse: too many pixels, zero size"),
    "429": _error("Rate limit exceeded"),
}


#: Refused by the server (gunicorn) before the app, on any operation; the same envelope.
SERVER_ERRORS = {
    "400": _error("Malformed HTTP request"),
    "414": _error("Request line (method, path and query) over 4,094 bytes"),
    "431": _error("Too many request headers (over 100), or one over 8,190 bytes"),
}


def _with_server_errors(paths: dict[str, Any]) -> dict[str, Any]:
    """Every operation also documents what the server itself may answer."""
    for item in paths.values():
        for op in item.values():
            for status, response in SERVER_ERRORS.items():
                op["responses"].setdefault(status, response)
    return paths


def _ok(description: str, schema: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": _ref(schema)}}}


def _video_paths() -> dict[str, Any]:
    job_id = {"name": "job_id", "in": "path", "required": True,
              "schema": {"type": "string", "pattern": "^[0-9a-f]{32}$"}}
    missing = {"404": _error("No such job, or it expired"), "429": COMMON_ERRORS["429"]}
    secured: dict[str, Any] = {"security": [{}, {"apiKey": []}]}
    return {
        "/api/v1/videos": {"post": {
            "summary": "Upload a video to analyse in the background", "operationId": "createVideo",
            **secured, "parameters": [MODEL_OPTION, {
                "name": "every", "in": "query", "required": False,
                "description": "Analyse one frame in this many (1..300); default auto: about "
                               "10 frames per second of video.",
                "schema": {"type": ["integer", "string"]}}],
            "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                "type": "object", "required": ["video"], "properties": {
                    "video": {"type": "string", "format": "binary",
                              "description": "MP4, MOV, WebM, MKV or AVI"}}}}}},
            "responses": {
                "202": {"description": "Accepted; poll the Location URL",
                        "headers": {"Location": {"schema": {"type": "string"}}},
                        "content": {"application/json": {"schema": _ref("VideoJob")}}},
                **COMMON_ERRORS, "503": _error("Every video job slot is taken; retry later")}}},
        "/api/v1/videos/{job_id}": {
            "get": {"summary": "A video job's status, progress and result",
                    "operationId": "getVideo", **secured, "parameters": [job_id],
                    "responses": {"200": _ok("The job", "VideoJob"), **missing,
                                  "401": COMMON_ERRORS["401"]}},
            "delete": {"summary": "Delete a video job and its files now (stops a running one)",
                       "operationId": "deleteVideo", **secured, "parameters": [job_id],
                       "responses": {"204": {"description": "Deleted"}, **missing,
                                     "401": COMMON_ERRORS["401"]}}},
        "/api/v1/videos/{job_id}/video": {"get": {
            "summary": "The annotated video (H.264 MP4; range requests supported)",
            "operationId": "getVideoFile", **secured, "parameters": [job_id],
            "responses": {"200": {"description": "The video", "content": {"video/mp4": {}}},
                          "206": {"description": "Part of the video"}, **missing}}},
        "/api/v1/videos/{job_id}/frames": {"get": {
            "summary": "Every analysed frame: time, boxes, answers and tracks (JSON lines)",
            "operationId": "getVideoFrames", **secured, "parameters": [job_id],
            "responses": {"200": {"description": "One JSON object per analysed frame",
                                  "content": {"application/x-ndjson": {}}}, **missing}}},
    }


def spec() -> dict[str, Any]:
    """The OpenAPI document as a dict."""
    image_body = {"required": True, "content": {
        "multipart/form-data": {"schema": {"type": "object", "required": ["image"], "properties": {
            "image": {"type": "string", "format": "binary"}}}},
        "image/*": {"schema": {"type": "string", "format": "binary"}},
    }}
    return {
        "openapi": "3.1.0",
        "info": {"title": "facegender API", "version": __version__,
                 "description": "Find every face in a photo and tell, for each, female or male, "
                                "with a calibrated confidence. Photos are processed in memory "
                                "and never stored; videos are kept only while their "
                                "job lives. Send X-API-Key when the server requires keys."},
        "servers": [{"url": "/"}],
        "components": {"schemas": SCHEMAS, "securitySchemes": {
            "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}}},
        "paths": _with_server_errors({
            "/api/v1/analyze": {"post": {
                "summary": "Analyze one image", "operationId": "analyze",
                "security": [{}, {"apiKey": []}], "parameters": OPTIONS, "requestBody": image_body,
                "responses": {"200": _ok("Every face found, largest first", "AnalyzeResponse"),
                              **COMMON_ERRORS}}},
            "/api/v1/analyze/batch": {"post": {
                "summary": "Analyze several images", "operationId": "analyzeBatch",
                "security": [{}, {"apiKey": []}], "parameters": OPTIONS,
                "requestBody": {"required": True, "content": {"multipart/form-data": {
                    "schema": {"type": "object", "properties": {"images": {
                        "type": "array", "items": {"type": "string", "format": "binary"}}}}}}},
                "responses": {"200": _ok("One entry per image; bad images get an error entry",
                                         "BatchResponse"), **COMMON_ERRORS}}},
            "/api/v1/health": {"get": {
                "summary": "Liveness and model status", "operationId": "health",
                "responses": {"200": _ok("The server is up", "Health")}}},
            "/api/v1/model": {"get": {
                "summary": "The model manifest", "operationId": "model",
                "security": [{}, {"apiKey": []}], "parameters": [MODEL_OPTION],
                "responses": {"200": _ok("Version, sha256, training data, metrics", "Manifest"),
                              "400": _error("Unknown model name"),
                              "401": COMMON_ERRORS["401"], "429": COMMON_ERRORS["429"]}}},
            "/api/v1/openapi.json": {"get": {
                "summary": "This document", "operationId": "openapi",
                "responses": {"200": {"description": "OpenAPI 3.1 document"}}}},
            **_video_paths(),
        }),
    }
