"""Video jobs over HTTP: the API's life cycle, bad uploads, limits, expiry, dead workers, pages."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from jsonschema import Draft202012Validator

from facegender.errors import NotFound
from facegender.web import create_app
from facegender.web.jobs import JobLimits, JobStore


def _csrf(client, path: str = "/video") -> str:
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _make_app(tiny_model, tmp_path: Path, **cfg):  # type: ignore[no-untyped-def]
    return create_app({"MODEL": tiny_model, "RATELIMIT_ENABLED": False, "SECRET_KEY": "t",
                       "EXTRA_MODELS": "", "VIDEO_JOBS_DIR": str(tmp_path / "jobs"), **cfg})


def _post(client, data: bytes, name: str = "clip.mp4", **fields: str):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/videos", data={"video": (io.BytesIO(data), name), **fields})


def _wait(client, job_id: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.get(f"/api/v1/videos/{job_id}").get_json()
        if status["status"] in ("done", "failed"):
            return status
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} did not end in {timeout} s")


def _job_dirs(tmp_path: Path) -> list[Path]:
    return [p for p in (tmp_path / "jobs").iterdir() if p.is_dir()]


def _validate(client, body: dict) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    root = {"$ref": "#/components/schemas/VideoJob", "components": spec["components"]}
    errors = list(Draft202012Validator(root).iter_errors(body))
    assert not errors, [e.message for e in errors]


def test_api_job_life_cycle(tiny_model, short_clip, tmp_path) -> None:
    client = _make_app(tiny_model, tmp_path).test_client()
    r = _post(client, short_clip.read_bytes(), every="3")
    assert r.status_code == 202
    job = r.get_json()
    _validate(client, job)
    assert job["status"] in ("queued", "running") and job["frames_total"] == 60
    assert r.headers["Location"] == f"/api/v1/videos/{job['id']}" == job["links"]["self"]
    assert job["video"] == {"width": 640, "height": 360, "fps": 29.97, "duration_s": 60 / 29.97}

    done = _wait(client, job["id"])
    _validate(client, done)
    assert done["status"] == "done" and done["progress"] == 1.0 and done["error"] is None
    result = done["result"]
    assert (result["frames_read"], result["frames_analyzed"], result["every"]) == (60, 20, 3)
    # two people on stage, a close-up, two or three audience faces (1-2 s); a flicker at most
    assert 1 <= len(result["tracks"]) <= 6
    assert [f["frame"] for f in result["frames"]] == list(range(0, 60, 3))
    assert sum(f["faces"] > 0 for f in result["frames"]) >= 5
    assert done["expires_at"] > done["finished_at"]
    # The upload itself is gone; only the results stay until expiry.
    (job_dir,) = _job_dirs(tmp_path)
    assert sorted(p.name for p in job_dir.iterdir()) == ["annotated.mp4", "frames.jsonl",
                                                         "status.json"]

    with client.get(done["links"]["video"]) as video:  # file responses must be closed
        assert video.status_code == 200 and video.mimetype == "video/mp4"
        (tmp_path / "out.mp4").write_bytes(video.get_data())
    cap = cv2.VideoCapture(str(tmp_path / "out.mp4"))
    n = 0
    while cap.read()[0]:
        n += 1
    cap.release()
    assert n == 60
    with client.get(done["links"]["video"], headers={"Range": "bytes=0-1023"}) as part:
        assert part.status_code == 206 and len(part.get_data()) == 1024
    with client.get(done["links"]["frames"]) as frames:
        lines = frames.get_data(as_text=True).splitlines()
    assert len(lines) == 20 and "box" in json.loads(lines[0])["faces"][0]

    assert client.delete(f"/api/v1/videos/{job['id']}").status_code == 204
    assert client.get(f"/api/v1/videos/{job['id']}").status_code == 404
    assert client.get(done["links"]["video"]).status_code == 404
    assert _job_dirs(tmp_path) == []


@pytest.fixture(scope="module")
def bad_clips(tmp_path_factory, short_clip, run_ffmpeg) -> dict[str, bytes]:
    d = tmp_path_factory.mktemp("bad-clips")
    run_ffmpeg("-f", "lavfi", "-i", "color=size=64x64", "-frames:v", "0", "-c:v", "libx264",
           str(d / "zero.mp4"))
    clip = short_clip.read_bytes()
    return {"text.mp4": b"just some text renamed to look like a video\n",
            "empty.mp4": b"", "notes.txt": clip, "zero.mp4": (d / "zero.mp4").read_bytes(),
            "truncated.mp4": clip[: len(clip) // 3]}


@pytest.mark.parametrize(("name", "status", "code", "words"), [
    ("text.mp4", 415, "unsupported_media", "no known video format"),
    ("empty.mp4", 415, "unsupported_media", "empty"),
    ("notes.txt", 415, "unsupported_media", "not a video file name"),
    ("zero.mp4", 422, "unprocessable", "no frames"),
    ("truncated.mp4", 415, "unsupported_media", "truncated"),
])
def test_bad_uploads_refused_at_once(tiny_model, tmp_path, bad_clips, name, status, code,
                                     words) -> None:
    client = _make_app(tiny_model, tmp_path).test_client()
    r = _post(client, bad_clips[name], name)
    body = r.get_json()
    assert (r.status_code, body["error"]["code"]) == (status, code)
    assert words in body["error"]["message"] and str(tmp_path) not in body["error"]["message"]
    assert _job_dirs(tmp_path) == []  # nothing kept


@pytest.mark.parametrize(("cfg", "status", "words"), [
    ({"VIDEO_MAX_DURATION_S": 1}, 422, "the limit is 1 s"),
    ({"VIDEO_MAX_SIDE": 320}, 422, "640x360"),
    ({"VIDEO_MAX_BYTES": 20_000}, 413, "limit"),
])
def test_limits(tiny_model, tmp_path, short_clip, cfg, status, words) -> None:
    client = _make_app(tiny_model, tmp_path, **cfg).test_client()
    r = _post(client, short_clip.read_bytes())
    assert r.status_code == status and words in r.get_json()["error"]["message"]
    assert _job_dirs(tmp_path) == []


@pytest.mark.parametrize(("data", "words"), [
    ({"every": "0"}, "every=0"), ({"every": "x"}, "every='x'"), ({"model": "nope"}, "nope"),
])
def test_bad_options(tiny_model, tmp_path, short_clip, data, words) -> None:
    client = _make_app(tiny_model, tmp_path).test_client()
    r = _post(client, short_clip.read_bytes(), **data)
    assert r.status_code == 400 and words in r.get_json()["error"]["message"]
    r = client.post("/api/v1/videos", data={"image": (io.BytesIO(b"x"), "a.mp4")})
    assert r.status_code == 400 and "'video'" in r.get_json()["error"]["message"]
    r = client.post("/api/v1/videos", data=b"x", content_type="video/mp4")
    assert r.status_code == 415


def test_one_job_slot_busy_then_free(tiny_model, tmp_path, short_clip) -> None:
    client = _make_app(tiny_model, tmp_path, VIDEO_MAX_JOBS=1).test_client()
    first = _post(client, short_clip.read_bytes(), every="1")
    assert first.status_code == 202
    second = _post(client, short_clip.read_bytes())
    assert second.status_code == 503 and second.get_json()["error"]["code"] == "busy"
    assert _wait(client, first.get_json()["id"])["status"] == "done"
    third = _post(client, short_clip.read_bytes(), every="10")
    assert third.status_code == 202
    assert _wait(client, third.get_json()["id"])["status"] == "done"


def test_damaged_video_ends_as_failed_job(tiny_model, tmp_path, short_clip, run_ffmpeg) -> None:
    """A header that reads well over data cut short: the job fails with a reason, files go."""
    faststart = tmp_path / "fs.mp4"
    run_ffmpeg("-i", str(short_clip), "-c", "copy", "-movflags", "+faststart", str(faststart))
    data = faststart.read_bytes()
    client = _make_app(tiny_model, tmp_path).test_client()
    r = _post(client, data[: len(data) // 2])
    assert r.status_code == 202
    status = _wait(client, r.get_json()["id"])
    assert status["status"] == "failed" and "truncated" in status["error"]["message"]
    assert "input" not in status["error"]["message"]  # the user's name, not our temp path
    (job_dir,) = _job_dirs(tmp_path)
    assert [p.name for p in job_dir.iterdir()] == ["status.json"]


def test_job_over_its_time_budget_fails(tiny_model, tmp_path, short_clip) -> None:
    client = _make_app(tiny_model, tmp_path, VIDEO_JOB_TIMEOUT_S=0).test_client()
    status = _wait(client, _post(client, short_clip.read_bytes()).get_json()["id"])
    assert status["status"] == "failed" and "longer than 0 s" in status["error"]["message"]


def _write_status(store: JobStore, **fields) -> str:  # type: ignore[no-untyped-def]
    job_id = "ab" * 16
    d = store.root / job_id
    d.mkdir()
    (d / "annotated.mp4").write_bytes(b"partial")
    now = time.time()
    status = {"id": job_id, "status": "running", "pid": 0, "updated_at": now,
              "finished_at": None, **fields}
    (d / "status.json").write_text(json.dumps(status))
    return job_id


def test_job_of_a_dead_worker_fails_and_is_cleaned(tmp_path) -> None:
    store = JobStore(tmp_path / "jobs")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    job_id = _write_status(store, pid=dead.pid)
    status = store.get(job_id)
    assert status["status"] == "failed" and "worker" in status["error"]["message"]
    assert [p.name for p in (store.root / job_id).iterdir()] == ["status.json"]


def test_job_with_a_stopped_heartbeat_fails(tmp_path) -> None:
    import os

    store = JobStore(tmp_path / "jobs")
    job_id = _write_status(store, pid=os.getpid(), updated_at=time.time() - 3600)
    assert store.get(job_id)["status"] == "failed"


def test_finished_jobs_expire(tmp_path) -> None:
    store = JobStore(tmp_path / "jobs", JobLimits(ttl_s=60))
    job_id = _write_status(store, status="done", finished_at=time.time() - 61)
    assert store.sweep() == 0
    assert not (store.root / job_id).exists()
    with pytest.raises(NotFound, match="no video job"):
        store.get(job_id)
    with pytest.raises(NotFound):
        store.get("../../etc")  # ids are checked before any path is made


def test_pages_upload_progress_result_delete(tiny_model, tmp_path, short_clip) -> None:
    client = _make_app(tiny_model, tmp_path).test_client()
    page = client.get("/video").get_data(as_text=True)
    assert 'name="video"' in page and "100 MB" in page and "deleted" in page
    r = client.post("/video", data={"video": (io.BytesIO(short_clip.read_bytes()), "c.mp4")})
    assert r.status_code == 400  # no CSRF token
    r = client.post("/video", data={"csrf_token": _csrf(client), "every": "5",
                                    "video": (io.BytesIO(short_clip.read_bytes()), "c.mp4")})
    assert r.status_code == 303
    job_url = r.headers["Location"]
    job_id = job_url.rsplit("/", 1)[1]
    running = client.get(job_url).get_data(as_text=True)
    if "<video" not in running:  # still working: the page refreshes itself without JS
        assert 'http-equiv="refresh"' in running and "job-progress" in running
    assert client.get(f"{job_url}/status").get_json()["id"] == job_id
    _wait(client, job_id)
    html = client.get(job_url).get_data(as_text=True)
    assert f'src="{job_url}/video"' in html and "tr class=\"track\"" in html
    rows = re.findall(r'<tr class="track">.*?</tr>', html, re.S)
    assert rows and all(('low="1"' in row) == ("uncertain</span>" in row) for row in rows)
    assert 'http-equiv="refresh"' not in html
    with client.get(f"{job_url}/video") as video:
        assert video.status_code == 200 and video.mimetype == "video/mp4"
    r = client.post(f"{job_url}/delete", data={"csrf_token": _csrf(client, job_url)})
    assert r.status_code == 303
    gone = client.get(job_url)
    assert gone.status_code == 404 and "Traceback" not in gone.get_data(as_text=True)


def test_page_upload_errors_are_friendly(tiny_model, tmp_path) -> None:
    client = _make_app(tiny_model, tmp_path).test_client()
    r = client.post("/video", data={"csrf_token": _csrf(client),
                                    "video": (io.BytesIO(b"text"), "x.mp4")})
    html = r.get_data(as_text=True)
    assert r.status_code == 415 and "not a video we can read" in html and "Traceback" not in html


def test_webcam_frame(tiny_model, tmp_path, two_faces_jpeg) -> None:
    app = _make_app(tiny_model, tmp_path, RATELIMIT_ENABLED=True, WEBCAM_RATELIMIT="3 per minute")
    client = app.test_client()
    page = client.get("/webcam").get_data(as_text=True)
    assert "webcam.js" in page and 'id="webcam-video"' in page
    token = _csrf(client, "/webcam")
    r = client.post("/webcam/frame", data={"image": (io.BytesIO(two_faces_jpeg), "f.jpg")})
    assert r.status_code == 400  # no token
    for _ in range(2):
        r = client.post("/webcam/frame", data={"csrf_token": token,
                                               "image": (io.BytesIO(two_faces_jpeg), "f.jpg")})
        assert r.status_code == 200 and len(r.get_json()["faces"]) >= 2
    r = client.post("/webcam/frame", data={"csrf_token": token,
                                           "image": (io.BytesIO(two_faces_jpeg), "f.jpg")})
    assert r.status_code == 429  # its own limit, apart from the API's 120 per minute
    assert client.post("/api/v1/analyze", data={
        "image": (io.BytesIO(two_faces_jpeg), "f.jpg")}).status_code == 200


def test_faceless_avi_gives_an_honest_empty_result(tiny_model, tmp_path, shared_data) -> None:
    """A clip made from a photo without people (Motion-JPEG AVI): done, no tracks, no error."""
    still = cv2.imread(str(shared_data / "detection/no_face/coffee.png"))
    clip = tmp_path / "coffee.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 10,
                             (still.shape[1], still.shape[0]))
    for i in range(15):  # a slow pan over a still life
        writer.write(np.roll(still, 2 * i, axis=1))
    writer.release()
    client = _make_app(tiny_model, tmp_path).test_client()
    r = _post(client, clip.read_bytes(), "coffee.avi")
    assert r.status_code == 202
    status = _wait(client, r.get_json()["id"])
    assert status["status"] == "done" and status["error"] is None
    assert status["result"]["tracks"] == [] and status["result"]["frames_read"] == 15
    html = client.get(f"/videos/{status['id']}").get_data(as_text=True)
    assert "No face was followed" in html
