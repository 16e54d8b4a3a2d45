"""Videos out: BGR frames to a browser-playable H.264 MP4.

OpenCV's own writer cannot make H.264 (the pip wheels ship no encoder for
it), and browsers play little else, so frames are piped to the FFmpeg binary
that the ``imageio-ffmpeg`` wheel carries: raw BGR into ``libx264`` with
``yuv420p`` (even sides), and the index at the front of the file
(``+faststart``) so playback starts before the download ends.
"""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import IO

import cv2
import numpy as np

from ..errors import FaceGenderError


def ffmpeg_exe() -> str:
    """The FFmpeg binary shipped in the imageio-ffmpeg wheel (or named by IMAGEIO_FFMPEG_EXE)."""
    try:
        import imageio_ffmpeg

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except (ImportError, RuntimeError) as exc:
        raise FaceGenderError(f"no FFmpeg to encode videos ({exc}); "
                              "install the imageio-ffmpeg package") from exc


def even_size(width: int, height: int) -> tuple[int, int]:
    """The largest even size within ``width x height``: yuv420p needs even sides."""
    return max(2, width - width % 2), max(2, height - height % 2)


class H264Writer:
    """Write BGR frames of one size to a browser-playable H.264 MP4 through FFmpeg.

    Frames of another size are resized; odd sides are cropped by one pixel.
    Use as a context manager: leaving it normally finishes the file and
    raises :class:`FaceGenderError` if FFmpeg failed; leaving on an error
    stops FFmpeg and leaves whatever it wrote for the caller to remove.
    """

    def __init__(self, path: Path, width: int, height: int, fps: float, *,
                 crf: int = 23, preset: str = "veryfast", timeout_s: float = 120.0) -> None:
        self.path, self.timeout_s = path, timeout_s
        self.size = even_size(width, height)
        rate = Fraction(fps).limit_denominator(1001)
        cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-loglevel", "error",
               "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{self.size[0]}x{self.size[1]}",
               "-r", f"{rate.numerator}/{rate.denominator}", "-i", "-", "-an",
               "-c:v", "libx264", "-preset", preset, "-crf", str(crf), "-pix_fmt", "yuv420p",
               "-movflags", "+faststart", "-f", "mp4", str(path)]
        # FFmpeg's messages go to a file: a pipe nobody reads could fill and block it.
        self._stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        try:
            self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                          stderr=self._stderr)
        except OSError as exc:
            self._stderr.close()
            raise FaceGenderError(f"cannot start the video encoder {cmd[0]}: {exc}") from exc
        self.frames_written = 0

    def write(self, frame: np.ndarray) -> None:
        """Append one ``(H, W, 3)`` ``uint8`` BGR frame."""
        w, h = self.size
        if frame.shape[1] != w or frame.shape[0] != h:
            if frame.shape[1] - w in (0, 1) and frame.shape[0] - h in (0, 1):
                frame = frame[:h, :w]
            else:
                frame = cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA)
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.write(np.ascontiguousarray(frame, dtype=np.uint8).tobytes())
        except BrokenPipeError as exc:
            raise self._failure() from exc
        self.frames_written += 1

    def _failure(self) -> FaceGenderError:
        self._stop()
        self._stderr.seek(0)
        lines = self._stderr.read().decode(errors="replace").strip().splitlines()
        why = lines[-1] if lines else (f"exit status {self._proc.returncode}"
                                       if self.frames_written else "no frame was written")
        return FaceGenderError(f"the video encoder (ffmpeg) failed writing {self.path}: {why}")

    def _stop(self, kill: bool = False) -> None:
        if self._proc.stdin is not None and not self._proc.stdin.closed:
            with contextlib.suppress(BrokenPipeError):
                self._proc.stdin.close()
        if kill:
            self._proc.kill()
        try:
            self._proc.wait(timeout=self.timeout_s)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()

    def close(self) -> None:
        """Finish the file; raise if FFmpeg reports a failure or nothing was written."""
        try:
            self._stop()
            if self._proc.returncode != 0 or self.frames_written == 0:
                raise self._failure()
        finally:
            self._stderr.close()

    def __enter__(self) -> H264Writer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.close()
        else:
            self._stop(kill=True)
            self._stderr.close()
