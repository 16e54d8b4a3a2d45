"""Faces in videos: analyse frames, follow each face, write an annotated copy.

Every ``every``-th frame goes through :func:`~facegender.analyze.analyze_image`
and its faces are tied into tracks (:mod:`facegender.video.track`), so each person
gets one answer averaged over the frames they appear in. The annotated video
shows every frame; frames between two analysed ones keep the latest boxes, so
the picture does not blink. Box colours and labels follow the track's running
average, ``#id gender confidence``; the summary gives each track's final answer.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from ..analyze import Detector, analyze_image, detector_for
from ..draw import draw_faces, label_of
from ..errors import BadRequest
from ..model import GenderModel
from ..types import Face, Prediction
from .reader import MAX_SIDE, Source, VideoInfo, VideoReader, check_count, iter_frames
from .track import IouTracker, Track
from .writer import H264Writer

__all__ = ["FrameResult", "TrackedFace", "VideoSummary", "analyze_video", "annotate_video",
           "iter_frames", "make_tracker"]

log = logging.getLogger(__name__)

MAX_GAP_S = 1.0
"""How long a face may go undetected before its track ends: the Haar detector
misses a turned or blurred face for up to a second; a much longer gap risks
joining two people who appear at the same place after a cut."""
MIN_SEEN = 3
"""Tracks seen in fewer analysed frames are left out of the summary: nearly
all are one-off false detections (a hand, a pattern), not people."""


@dataclass(frozen=True)
class TrackedFace:
    """One face of one frame, with the track it belongs to and that track's answer so far."""

    track_id: int
    face: Face
    track: Prediction

    def to_dict(self) -> dict[str, Any]:
        return {"track": {"id": self.track_id, "gender": self.track.gender,
                          "confidence": round(self.track.confidence, 4),
                          "uncertain": self.track.uncertain},
                **self.face.to_dict()}


@dataclass(frozen=True)
class FrameResult:
    """The faces of one analysed frame; ``time_s`` counts from the start of the video."""

    index: int
    time_s: float
    faces: list[TrackedFace]

    def to_dict(self) -> dict[str, Any]:
        return {"frame": self.index, "time_s": round(self.time_s, 3),
                "faces": [f.to_dict() for f in self.faces]}


@dataclass
class VideoSummary:
    """What :func:`annotate_video` did: counts, timeline and the tracks found."""

    info: VideoInfo
    every: int
    frames_read: int = 0
    frames_analyzed: int = 0
    elapsed_s: float = 0.0
    tracks: list[Track] = field(default_factory=list)
    """Tracks seen in at least ``min_seen`` analysed frames, in order of appearance."""
    brief_tracks: int = 0
    """Tracks left out for being seen in fewer frames (their faces are still drawn)."""

    @property
    def duration_s(self) -> float:
        """Length of the part read, in seconds of video."""
        return self.frames_read / self.info.fps

    @property
    def processing_fps(self) -> float:
        """Frames read per second of wall time, analysis and encoding included."""
        return self.frames_read / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.info.name,
            "width": self.info.width,
            "height": self.info.height,
            "fps": round(self.info.fps, 3),
            "every": self.every,
            "frames_read": self.frames_read,
            "frames_analyzed": self.frames_analyzed,
            "duration_s": round(self.duration_s, 3),
            "elapsed_s": round(self.elapsed_s, 3),
            "processing_fps": round(self.processing_fps, 2),
            "tracks": [t.to_dict() for t in self.tracks],
            "brief_tracks": self.brief_tracks,
        }


def make_tracker(fps: float, every: int, model: GenderModel) -> IouTracker:
    """A tracker whose tracks survive :data:`MAX_GAP_S` of missed detections at this frame step."""
    return IouTracker(iou_threshold=0.3, max_missed=max(2, round(MAX_GAP_S * fps / every)),
                      uncertain_below=model.threshold)


def analyze_frame(frame: np.ndarray, index: int, time_s: float, model: GenderModel,
                  tracker: IouTracker, detector: Detector) -> FrameResult:
    """Detect and classify the faces of one BGR frame and hand them to the tracker."""
    faces = analyze_image(frame, model, detector=detector).faces
    tracks = tracker.update(index, time_s, faces)
    return FrameResult(index, time_s, [TrackedFace(t.track_id, f, t.prediction)
                                       for f, t in zip(faces, tracks, strict=True)])


def analyze_video(source: Source, model: GenderModel, every: int = 1,
                  max_frames: int | None = None, *,
                  tracker: IouTracker | None = None) -> Iterator[FrameResult]:
    """Yield the tracked faces of every ``every``-th frame, as the video is read.

    Parameters
    ----------
    source : path or int
        A video file OpenCV can decode, or a camera index.
    model : GenderModel
    every : int
        Analyse one frame in this many.
    max_frames : int, optional
        Stop after reading this many frames (analysed or not).
    tracker : IouTracker, optional
        Pass one to read its ``tracks`` afterwards; by default one made by
        :func:`make_tracker` for the source's frame rate.

    Raises
    ------
    UnsupportedMedia, UnprocessableImage, BadRequest
        See :class:`facegender.video.reader.VideoReader`.
    """
    check_count("every", every)
    detector = detector_for(model)
    with VideoReader(source) as reader:
        if tracker is None:
            tracker = make_tracker(reader.info.fps, every, model)
        for index, t, frame in reader.frames(every, max_frames):
            yield analyze_frame(frame, index, t, model, tracker, detector)


def draw_tracked(frame: np.ndarray, faces: list[TrackedFace]) -> np.ndarray:
    """A copy of the frame with each face boxed in its track's colour and ``#id`` label."""
    shown = [Face(f.face.box, f.track) for f in faces]
    return draw_faces(frame, shown, labels=[f"#{f.track_id} {label_of(s)}"
                                            for f, s in zip(faces, shown, strict=True)])


def _check_paths(in_path: Path, out_path: Path, jsonl_path: Path | None) -> None:
    if out_path.suffix.lower() != ".mp4":
        raise BadRequest(f"{out_path}: the annotated video is an H.264 MP4; name it *.mp4")
    for path in (out_path, jsonl_path):
        if path is not None and in_path.exists() and path.exists() and in_path.samefile(path):
            raise BadRequest(f"{path}: refusing to overwrite the input video")


def annotate_video(in_path: str | Path, out_path: str | Path, model: GenderModel,
                   every: int = 1, max_frames: int | None = None,
                   jsonl_path: str | Path | None = None, progress: bool = True, *,
                   min_seen: int = MIN_SEEN, max_side: int = MAX_SIDE,
                   max_duration_s: float | None = None,
                   on_progress: Callable[[int, int | None], None] | None = None) -> VideoSummary:
    """Write a copy of a video with every face boxed and labelled, and summarise its tracks.

    Parameters
    ----------
    in_path : path
        Any video file OpenCV can decode.
    out_path : path
        The H.264 MP4 to write (yuv420p, even sides: plays in browsers).
        Written to a side file first, so a failed run leaves no half video.
    model : GenderModel
    every : int
        Analyse one frame in this many; the others show the latest boxes.
    max_frames : int, optional
        Stop after this many frames; the output has as many frames as were read.
    jsonl_path : path, optional
        Also write one JSON line per analysed frame (:meth:`FrameResult.to_dict`).
    progress : bool
        Show a tqdm bar with frames per second on stderr.
    min_seen : int
        Tracks seen in fewer analysed frames are only counted in ``brief_tracks``.
    max_side, max_duration_s : optional
        Refuse larger frames or longer videos (:class:`~facegender.video.reader.VideoReader`);
        the web app sets both from its configuration.
    on_progress : callable, optional
        Called after every frame written with ``(frames_read, frames_expected)``
        (the second is None when the header does not say). The web app's video
        jobs report progress through it, and cancel a job by raising from it:
        the exception ends the run and no output is left behind.

    Raises
    ------
    UnsupportedMedia, UnprocessableImage, BadRequest
        Bad input video or options; see :class:`facegender.video.reader.VideoReader`.
    FaceGenderError
        The encoder failed.
    """
    in_path, out_path = Path(in_path), Path(out_path)
    jsonl = None if jsonl_path is None else Path(jsonl_path)
    _check_paths(in_path, out_path, jsonl)
    check_count("every", every)
    check_count("max_frames", max_frames)
    started = time.perf_counter()
    tmp, jsonl_tmp = _side_file(out_path), None if jsonl is None else _side_file(jsonl)
    try:
        with VideoReader(in_path, max_side=max_side,
                         max_duration_s=max_duration_s) as reader, ExitStack() as stack:
            info, summary = reader.info, VideoSummary(reader.info, every)
            writer = stack.enter_context(H264Writer(_writable(tmp), info.width, info.height,
                                                    info.fps))
            lines = None if jsonl_tmp is None else stack.enter_context(
                _writable(jsonl_tmp).open("w", encoding="utf-8"))
            _annotate_frames(reader, writer, lines, model, summary, max_frames, progress,
                             on_progress)
        os.replace(tmp, out_path)
        if jsonl is not None and jsonl_tmp is not None:
            os.replace(jsonl_tmp, jsonl)
    finally:
        for leftover in (tmp, jsonl_tmp):
            if leftover is not None:
                with suppress(OSError):  # its folder may be what could not be made
                    leftover.unlink(missing_ok=True)
    seen = [t for t in summary.tracks if t.frames_seen >= min_seen]
    summary.tracks, summary.brief_tracks = seen, len(summary.tracks) - len(seen)
    summary.elapsed_s = time.perf_counter() - started
    log.info("%s: %d frames at %.1f frames/s, %d tracks", summary.info.name,
             summary.frames_read, summary.processing_fps, len(summary.tracks))
    return summary


def _side_file(path: Path) -> Path:
    """Where ``path`` is written until it is complete: a hidden name beside it."""
    return path.with_name(f".{path.name}.part")


def _writable(path: Path) -> Path:
    """Make the folder of ``path`` and the empty file; :class:`BadRequest` when we may not."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    except OSError as exc:
        raise BadRequest(f"{path.parent}: cannot write there ({exc.strerror})") from exc
    return path


def _annotate_frames(reader: VideoReader, writer: H264Writer, jsonl: IO[str] | None,
                     model: GenderModel, summary: VideoSummary, max_frames: int | None,
                     progress: bool,
                     on_progress: Callable[[int, int | None], None] | None = None) -> None:
    """The frame loop of :func:`annotate_video`: analyse, track, draw, write, count."""
    from tqdm import tqdm

    info, every = reader.info, summary.every
    tracker, detector = make_tracker(info.fps, every, model), detector_for(model)
    known = [x for x in (info.frame_count, max_frames) if x is not None]
    total = min(known) if known else None
    shown: list[TrackedFace] = []
    with tqdm(reader.frames(1, max_frames), total=total, unit="frame", desc=info.name,
              disable=not progress, leave=False) as bar:
        for index, t, frame in bar:
            if index % every == 0:
                result = analyze_frame(frame, index, t, model, tracker, detector)
                shown = result.faces
                summary.frames_analyzed += 1
                if jsonl is not None:
                    jsonl.write(json.dumps(result.to_dict()) + "\n")
            writer.write(draw_tracked(frame, shown))
            summary.frames_read += 1
            if on_progress is not None:
                on_progress(summary.frames_read, total)
    summary.tracks = tracker.tracks
