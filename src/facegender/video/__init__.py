"""Faces through time: read a video or camera, track faces, write an annotated MP4.

Frames are analysed like photos; an IoU tracker follows each face and averages
its probabilities, and the annotated copy is H.264 that browsers play.
"""

from __future__ import annotations

from .annotate import FrameResult, TrackedFace, VideoSummary, analyze_video, annotate_video
from .reader import VideoInfo, VideoReader, iter_frames
from .track import IouTracker, Track
from .writer import H264Writer

__all__ = [
    "FrameResult",
    "H264Writer",
    "IouTracker",
    "Track",
    "TrackedFace",
    "VideoInfo",
    "VideoReader",
    "VideoSummary",
    "analyze_video",
    "annotate_video",
    "iter_frames",
]
