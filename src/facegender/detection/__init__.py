"""Stage 1, find faces: boxes (and the landmarks that align them) in a BGR image.

BlazeFace passes and CenterFace behind them (the default finder), OpenCV's Haar
cascades (the course's detector), dlib's HOG/CNN chain, the 5-point landmarks, and
which detector a model's manifest asks for. Nothing here knows about classifiers or the web.
"""

from __future__ import annotations

from .choice import (
    Detector,
    detector_for,
    detector_from,
    dlib_settings,
    finder_settings,
    haar_settings,
    recorded_settings,
)
from .dlib_chain import DlibDetector, DlibSettings, dlib_detector
from .finder import FaceFinder, face_finder
from .finder_settings import FinderSettings
from .haar import (
    CASCADES,
    SIDE_VIEWS,
    DetectorSettings,
    HaarDetector,
    default_detector,
    haar_detector,
    to_gray,
)
from .landmarks import LANDMARKS_FILE, Aligner, default_aligner, model_file
from .pose import head_pose

__all__ = [
    "head_pose",
    "CASCADES",
    "LANDMARKS_FILE",
    "SIDE_VIEWS",
    "Aligner",
    "Detector",
    "DetectorSettings",
    "DlibDetector",
    "DlibSettings",
    "FaceFinder",
    "FinderSettings",
    "HaarDetector",
    "default_aligner",
    "default_detector",
    "detector_for",
    "detector_from",
    "dlib_detector",
    "dlib_settings",
    "face_finder",
    "finder_settings",
    "haar_detector",
    "haar_settings",
    "recorded_settings",
    "model_file",
    "to_gray",
]
