"""Videos in: frames from a file or a camera, or a clear error.

The only place videos are opened for reading. OpenCV (its bundled FFmpeg)
decodes, so anything it reads works: MP4, MOV, MKV, WebM, AVI, ... and a
camera index. Writing is :mod:`facegender.video.writer`.

Bad input ends in one of the library's errors, never a crash or a hang:
OpenCV gets open and read timeouts, a file it cannot open is shown to FFmpeg
to say why (not a video, truncated, no video stream, no frames), and a file
whose frames stop well short of its header's count is called truncated.
"""

from __future__ import annotations

import logging
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import cv2
import numpy as np

from ..errors import BadRequest, FaceGenderError, UnprocessableImage, UnsupportedMedia
from .writer import ffmpeg_exe

log = logging.getLogger(__name__)

MAX_SIDE = 8192
"""Longest frame side accepted, in pixels (8K); larger is refused from the header."""
DEFAULT_FPS = 30.0
"""Used when a source reports no usable frame rate (cameras, some streams)."""
TIMEOUT_MS = 10_000
"""OpenCV open and read timeout: a stalled source fails instead of hanging."""

Source = str | Path | int


@dataclass(frozen=True)
class VideoInfo:
    """What a source's header says; ``frame_count`` is None when it does not say."""

    name: str
    width: int
    height: int
    fps: float
    frame_count: int | None

    @property
    def duration_s(self) -> float | None:
        return None if self.frame_count is None else self.frame_count / self.fps


def check_count(name: str, value: int | None) -> None:
    """Raise :class:`BadRequest` unless ``value`` is None or a whole number of at least 1."""
    if value is not None and (not isinstance(value, int) or value < 1):
        raise BadRequest(f"{name}={value!r} is out of range; allowed 1 or more")


class VideoReader:
    """An open video file or camera; use as a context manager so it is always released.

    Parameters
    ----------
    source : path or int
        A video file, or a camera index (0 is the first camera).
    max_side : int
        Refuse frames with a longer side.
    max_duration_s : float, optional
        Refuse longer videos (from the header, and again while reading).

    Raises
    ------
    UnsupportedMedia, UnprocessableImage, BadRequest
    """

    def __init__(self, source: Source, *, max_side: int = MAX_SIDE,
                 max_duration_s: float | None = None) -> None:
        if isinstance(source, bool):
            raise BadRequest(f"source={source!r} is neither a video file nor a camera index")
        self.is_camera = isinstance(source, int)
        self.max_side = max_side
        self.max_duration_s = max_duration_s
        self._cap = self._open(source)
        try:
            self.info = self._read_info(source)
            self._check(self.info.width, self.info.height)
        except FaceGenderError:
            self.close()
            raise

    def _open(self, source: Source) -> cv2.VideoCapture:
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, TIMEOUT_MS, cv2.CAP_PROP_READ_TIMEOUT_MSEC,
                  TIMEOUT_MS]
        if isinstance(source, int):
            if not 0 <= source < 100:
                raise BadRequest(f"camera index {source} is out of range; allowed 0..99")
            cap = cv2.VideoCapture(source, cv2.CAP_ANY, params)
            if not cap.isOpened():
                cap.release()
                raise UnsupportedMedia(f"camera {source} cannot be opened")
            return cap
        path = Path(source)
        if not path.is_file():
            raise UnsupportedMedia(f"{path}: no such file")
        if path.stat().st_size == 0:
            raise UnsupportedMedia(f"{path}: the file is empty (0 bytes)")
        cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG, params)
        if not cap.isOpened():
            cap.release()
            raise diagnose(path)
        return cap

    def _read_info(self, source: Source) -> VideoInfo:
        fps = self._cap.get(cv2.CAP_PROP_FPS)
        count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT))
        if not 0 < fps <= 1000:  # NaN, 0 or absurd: the timeline falls back to a guess
            fps = DEFAULT_FPS
        name = f"camera {source}" if isinstance(source, int) else Path(source).name
        return VideoInfo(name, int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
                         int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT)), float(fps),
                         count if count > 0 and not self.is_camera else None)

    def _check(self, width: int, height: int) -> None:
        if max(width, height) > self.max_side:
            raise UnprocessableImage(f"{self.info.name}: frames are {width}x{height} pixels; "
                                     f"the limit is {self.max_side} px per side")
        duration, limit = self.info.duration_s, self.max_duration_s
        if limit is not None and duration is not None and duration > limit:
            raise UnprocessableImage(f"{self.info.name}: the video lasts {duration:.1f} s; "
                                     f"the limit is {limit:g} s")

    def frames(self, every: int = 1,
               max_frames: int | None = None) -> Iterator[tuple[int, float, np.ndarray]]:
        """Yield ``(index, time_s, frame)`` for every ``every``-th of the first ``max_frames``.

        ``frame`` is ``(H, W, 3)`` ``uint8`` BGR; ``index`` counts every frame
        read from 0 and ``time_s`` is ``index / fps`` (seconds since opening
        for a camera). Skipped frames are grabbed but not converted.

        Raises
        ------
        BadRequest
            ``every`` or ``max_frames`` below 1.
        UnprocessableImage
            No frame at all, frames too large, or the video runs over ``max_duration_s``.
        UnsupportedMedia
            The frames stop well short of the count in the file's header.
        """
        check_count("every", every)
        check_count("max_frames", max_frames)
        start, index = time.monotonic(), 0
        while max_frames is None or index < max_frames:
            if not self._cap.grab():
                self._check_complete(index)
                return
            t = time.monotonic() - start if self.is_camera else index / self.info.fps
            if self.max_duration_s is not None and t > self.max_duration_s:
                raise UnprocessableImage(f"{self.info.name}: the video runs past the limit of "
                                         f"{self.max_duration_s:g} s")
            if index % every == 0:
                ok, frame = self._cap.retrieve()
                if not ok or frame is None:
                    self._check_complete(index)
                    return
                if frame.ndim == 2:
                    frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
                self._check(frame.shape[1], frame.shape[0])
                yield index, t, frame
            index += 1

    def _check_complete(self, n_read: int) -> None:
        """Raise when a file gave no frame, or far fewer than its header promised."""
        count = self.info.frame_count
        if n_read == 0 and not count:
            raise UnprocessableImage(f"{self.info.name}: the video holds no frames")
        if count and n_read < 0.9 * count - 2:
            raise UnsupportedMedia(f"{self.info.name}: the video stops after {n_read} of its "
                                   f"{count} frames; the file is truncated or damaged")

    def close(self) -> None:
        self._cap.release()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def iter_frames(source: Source, every: int = 1,
                max_frames: int | None = None) -> Iterator[tuple[int, float, np.ndarray]]:
    """Yield ``(index, time_s, frame_bgr)`` of a file or camera; see :meth:`VideoReader.frames`.

    The source is released when the iteration ends or the generator is closed.
    """
    with VideoReader(source) as reader:
        yield from reader.frames(every, max_frames)


def diagnose(path: Path) -> FaceGenderError:
    """The error for a file OpenCV cannot open, with FFmpeg's reason when it has one."""
    try:
        res = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path)],
                             capture_output=True, text=True, errors="replace", timeout=20)
        text = res.stderr
    except (OSError, subprocess.TimeoutExpired, FaceGenderError) as exc:
        log.info("ffmpeg could not probe %s: %s", path, exc)
        text = ""
    if "moov atom not found" in text and _starts_like_mp4(path):
        return UnsupportedMedia(f"{path}: the MP4 file is truncated or unfinished "
                                "(its index, the moov atom, is missing)")
    if re.search(r"Stream #\S+: Video:", text):
        return UnsupportedMedia(f"{path}: its video stream cannot be decoded")
    if re.search(r"Stream #\S+: Audio:", text):
        return UnsupportedMedia(f"{path}: holds sound but no video")
    if "Duration:" in text:  # a container FFmpeg understands, with nothing in it
        return UnprocessableImage(f"{path}: the video holds no frames")
    return UnsupportedMedia(f"{path}: not a readable video: the data is in no known video "
                            "format (MP4, MOV, MKV, WebM, AVI, ...)")


def _starts_like_mp4(path: Path) -> bool:
    """True when the file opens with an MP4/MOV ``ftyp`` box (a text file renamed .mp4 does not)."""
    with path.open("rb") as fh:
        return fh.read(12)[4:8] == b"ftyp"
