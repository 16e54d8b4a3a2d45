"""Video jobs: an uploaded video is annotated in the background, its state kept on disk.

Why on disk: gunicorn runs several worker processes, and the request that
asks how a job is doing may reach another worker than the one running it.
Each job is a folder ``<root>/<id>/`` holding ``status.json`` (replaced
atomically, so a reader never sees half of it), the uploaded video while it
is processed, then the annotated MP4 and the per-frame JSON lines.

What the operator can rely on:

- **Nothing uploaded is kept**: the input is deleted as soon as the job ends,
  whatever the outcome; the annotated video and records are deleted when the
  job expires (``ttl_s`` after it ended) or when the user deletes the job.
- **Bounded**: at most ``max_jobs`` queued or running at once across all
  workers (a file lock makes the count and the new job one step); a video
  longer than ``max_duration_s`` or with frames over ``max_side`` is refused
  from its header, before any work; a job taking longer than ``timeout_s`` of
  wall time fails.
- **No hung job**: a running job writes its status at least every
  ``HEARTBEAT_S``; a job whose process is gone (a killed worker) or whose
  heartbeat stopped is reported as failed and its files removed.

Job ids are random 128-bit hex strings: knowing one is what gives access.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import secrets
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import FaceGenderError, NotFound, ServiceBusy, UnsupportedMedia
from ..model import GenderModel
from ..video import VideoReader, annotate_video

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".webm", ".mkv", ".avi")
HEARTBEAT_S = 2.0
"""How often a running job rewrites its status, at the most."""
STALE_S = 120.0
"""A running job whose status is older than this is taken as dead: no single
frame takes that long (24 faces with the embedding model take ~3 s)."""
ACTIVE = ("queued", "running")
_ID = re.compile(r"^[0-9a-f]{32}$")


class JobCancelled(Exception):
    """Raised from the progress callback when the job was deleted or ran out of time."""


@dataclass(frozen=True)
class JobLimits:
    """The limits a :class:`JobStore` enforces; the web config sets them."""

    max_jobs: int = 2
    ttl_s: float = 3600.0
    max_duration_s: float = 600.0
    max_side: int = 3840
    timeout_s: float = 900.0


def _now() -> float:
    return time.time()


def _iso(t: float | None) -> str | None:
    return None if t is None else datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def auto_every(fps: float) -> int:
    """About 10 analysed frames per video second: enough to follow people, 1/3 the work at 30fps."""
    return max(1, round(fps / 10))


def compact_frames(jsonl: Path) -> list[dict[str, Any]]:
    """Per analysed frame: its index, time, face count and the tracks seen (small, for the API)."""
    out = []
    with jsonl.open(encoding="utf-8") as fh:
        for line in fh:
            d = json.loads(line)
            out.append({"frame": d["frame"], "time_s": d["time_s"], "faces": len(d["faces"]),
                        "tracks": [f["track"]["id"] for f in d["faces"]]})
    return out


class JobStore:
    """Create, run, read and delete video jobs under one folder shared by the workers.

    Parameters
    ----------
    root : path
        Made if missing. Every worker of one server must get the same folder
        (``create_app`` makes one before gunicorn forks).
    limits : JobLimits
    """

    def __init__(self, root: Path, limits: JobLimits | None = None) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.limits = limits or JobLimits()
        self._lock_path = self.root / ".lock"

    # --- reading -------------------------------------------------------------------------

    def _dir(self, job_id: str) -> Path:
        if not _ID.match(job_id):
            raise NotFound(f"no video job {job_id!r}")
        return self.root / job_id

    def _read(self, job_id: str) -> dict[str, Any] | None:
        try:
            return json.loads((self._dir(job_id) / "status.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def _write(self, status: dict[str, Any]) -> None:
        d = self.root / status["id"]
        if not d.is_dir():  # deleted meanwhile: do not bring it back
            raise JobCancelled(status["id"])
        status["updated_at"] = _now()
        tmp = d / f".status.{os.getpid()}.{threading.get_ident()}.tmp"
        tmp.write_text(json.dumps(status), encoding="utf-8")
        os.replace(tmp, d / "status.json")

    def get(self, job_id: str) -> dict[str, Any]:
        """The job's status; a dead or expired job is settled first.

        Raises
        ------
        NotFound
            No such job, or it expired and was deleted.
        """
        status = self._read(job_id)
        if status is None:
            raise NotFound(f"no video job {job_id!r}: it never existed, was deleted, or expired "
                           f"({self.limits.ttl_s / 60:g} minutes after it ended)")
        status = self._settle(status)
        if status is None:
            raise NotFound(f"video job {job_id!r} has expired and its files were deleted")
        return status

    def file(self, job_id: str, name: str) -> Path:
        """A finished job's output file (``annotated.mp4`` or ``frames.jsonl``)."""
        status = self.get(job_id)
        path = self._dir(job_id) / name
        if status["status"] != "done" or not path.is_file():
            raise NotFound(f"video job {job_id} has no {name}: it is {status['status']}")
        return path

    def _settle(self, status: dict[str, Any]) -> dict[str, Any] | None:
        """Fail a job whose worker died, delete an expired one (returns None then)."""
        now, state = _now(), status["status"]
        if state in ACTIVE:
            dead = not _pid_alive(status["pid"]) or now - status["updated_at"] > STALE_S
            if dead:
                self._remove_files(status["id"], keep_status=True)
                status.update(status="failed", finished_at=now, error={
                    "code": "internal_error",
                    "message": "the worker processing this video stopped before it finished; "
                               "please upload it again"})
                with contextlib.suppress(JobCancelled, OSError):
                    self._write(status)
            return status
        if now - (status.get("finished_at") or now) > self.limits.ttl_s:
            self.delete(status["id"])
            return None
        return status

    def _all(self) -> Iterator[dict[str, Any]]:
        for d in self.root.iterdir():
            if d.is_dir() and _ID.match(d.name):
                status = self._read(d.name)
                if status is None and now_minus_mtime(d) > STALE_S:
                    shutil.rmtree(d, ignore_errors=True)  # a job that died while being made
                elif status is not None:
                    yield status

    def sweep(self) -> int:
        """Settle every job (fail the dead, delete the expired); return how many are active."""
        active = 0
        for status in list(self._all()):
            settled = self._settle(status)
            active += settled is not None and settled["status"] in ACTIVE
        return active

    # --- writing -------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with self._lock_path.open("a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def create(self, data: bytes, filename: str, model: GenderModel, model_info: dict[str, Any],
               every: int | None = None) -> dict[str, Any]:
        """Check the upload, store it, start annotating it in a thread; return the status.

        The video's header is read here, so a file that is not a video, too
        long or too large fails at once with the library's error (4xx) and
        nothing is kept.

        Raises
        ------
        UnsupportedMedia, UnprocessableImage, BadRequest
            Not a video we can read, or over the limits.
        ServiceBusy
            ``max_jobs`` jobs are already queued or running.
        """
        suffix = Path(filename or "").suffix.lower()
        if suffix not in VIDEO_SUFFIXES:
            raise UnsupportedMedia(f"{filename or 'the upload'}: not a video file name; "
                                   f"allowed {', '.join(VIDEO_SUFFIXES)}")
        if not data:
            raise UnsupportedMedia(f"{filename}: the file is empty (0 bytes)")
        with self._locked():
            if self.sweep() >= self.limits.max_jobs:
                raise ServiceBusy(f"{self.limits.max_jobs} videos are being processed already; "
                                  "try again in a minute")
            job_id = secrets.token_hex(16)
            d = self.root / job_id
            d.mkdir()
            try:
                src = d / f"input{suffix}"
                src.write_bytes(data)
                with VideoReader(src, max_side=self.limits.max_side,
                                 max_duration_s=self.limits.max_duration_s) as reader:
                    info = reader.info
                every = every or auto_every(info.fps)
                now = _now()
                status: dict[str, Any] = {
                    "id": job_id, "status": "queued", "progress": 0.0, "frames_read": 0,
                    "frames_total": info.frame_count, "created_at": now, "started_at": None,
                    "finished_at": None, "updated_at": now, "pid": os.getpid(),
                    "filename": Path(filename).name[:200], "model": model_info,
                    "every": every, "error": None, "result": None,
                    "video": {"width": info.width, "height": info.height,
                              "fps": round(info.fps, 3), "duration_s": info.duration_s}}
                self._write(status)
            except BaseException as exc:
                shutil.rmtree(d, ignore_errors=True)
                if isinstance(exc, FaceGenderError):
                    exc.message = _as_uploaded(exc.message, d / f"input{suffix}",
                                               Path(filename).name)
                raise
        threading.Thread(target=self._run, args=(dict(status), src, model),
                         name=f"video-{job_id}", daemon=True).start()
        return status

    def _run(self, status: dict[str, Any], src: Path, model: GenderModel) -> None:
        """The job's thread: annotate, then record the result or the error; never raises."""
        d, started = src.parent, _now()
        status.update(status="running", started_at=started)
        last = 0.0

        def progress(read: int, total: int | None) -> None:
            nonlocal last
            now = _now()
            if now - started > self.limits.timeout_s:
                raise JobCancelled(f"processing took longer than {self.limits.timeout_s:g} s")
            if now - last >= HEARTBEAT_S / 4:
                last = now
                status.update(frames_read=read, progress=round(read / total, 4) if total else 0)
                self._write(status)

        try:
            self._write(status)
            summary = annotate_video(src, d / "annotated.mp4", model, every=status["every"],
                                     jsonl_path=d / "frames.jsonl", progress=False,
                                     max_side=self.limits.max_side,
                                     max_duration_s=self.limits.max_duration_s,
                                     on_progress=progress)
            result = summary.to_dict()
            result["source"] = status["filename"]
            result["frames"] = compact_frames(d / "frames.jsonl")
            status.update(status="done", progress=1.0, frames_read=summary.frames_read,
                          result=result)
        except JobCancelled as exc:
            status.update(status="failed", error={"code": "unprocessable", "message": str(exc)})
        except FaceGenderError as exc:
            msg = _as_uploaded(exc.message, src, status["filename"])
            status.update(status="failed", error={"code": exc.code, "message": msg})
        except Exception:  # noqa: BLE001 - a job thread must record every failure
            log.exception("video job %s failed", status["id"])
            status.update(status="failed", error={
                "code": "internal_error", "message": "processing failed unexpectedly; it has "
                                                     "been logged"})
        finally:
            src.unlink(missing_ok=True)
        status["finished_at"] = _now()
        if status["status"] == "failed":
            self._remove_files(status["id"], keep_status=True)
        with contextlib.suppress(JobCancelled, OSError):
            self._write(status)
        log.info("video job %s %s in %.1f s", status["id"], status["status"],
                 status["finished_at"] - started)

    def _remove_files(self, job_id: str, keep_status: bool) -> None:
        d = self._dir(job_id)
        for p in d.glob("*") if d.is_dir() else ():
            if not (keep_status and p.name == "status.json"):
                with contextlib.suppress(OSError):
                    p.unlink() if p.is_file() else shutil.rmtree(p)

    def delete(self, job_id: str) -> None:
        """Delete a job and all its files; a running job stops at its next frame."""
        d = self._dir(job_id)
        if not d.is_dir():
            raise NotFound(f"no video job {job_id!r}")
        shutil.rmtree(d, ignore_errors=True)

    def public(self, status: dict[str, Any], base_url: str) -> dict[str, Any]:
        """The status as the API shows it: times as ISO 8601, links, no process ids."""
        done = status["status"] == "done"
        out = {k: v for k, v in status.items() if k not in ("pid", "updated_at")}
        for key in ("created_at", "started_at", "finished_at"):
            out[key] = _iso(status.get(key))
        expires = status.get("finished_at")
        out["expires_at"] = _iso(expires + self.limits.ttl_s) if expires else None
        out["links"] = {"self": f"{base_url}",
                        "video": f"{base_url}/video" if done else None,
                        "frames": f"{base_url}/frames" if done else None}
        return out


def _as_uploaded(message: str, stored: Path, filename: str) -> str:
    """An error message naming the user's file, not where we stored it."""
    return message.replace(str(stored), filename).replace(stored.name, filename)


def now_minus_mtime(path: Path) -> float:
    """Seconds since ``path`` last changed (0 when it vanished meanwhile)."""
    try:
        return _now() - path.stat().st_mtime
    except OSError:
        return 0.0
