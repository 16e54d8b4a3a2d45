"""facegender: find every face in a photo and tell, for each, female or male.

The public surface, re-exported here; importing it loads no model and does
no work (models load on :func:`load_model`)::

    import facegender
    model = facegender.load_model()          # the shipped default
    faces = facegender.analyze(bgr_image, model)
"""

from __future__ import annotations

__version__ = "0.1.0"

from .analyze import Analysis, analyze, analyze_image
from .detection import DetectorSettings, HaarDetector
from .errors import (
    BadRequest,
    FaceGenderError,
    ModelError,
    PayloadTooLarge,
    UnprocessableImage,
    UnsupportedMedia,
)
from .images import decode_image, read_image
from .model import GenderModel
from .persist import load_model, save_model
from .types import GENDERS, Box, Face, Prediction
from .video import analyze_video, annotate_video

__all__ = [
    "GENDERS",
    "Analysis",
    "BadRequest",
    "Box",
    "DetectorSettings",
    "Face",
    "FaceGenderError",
    "GenderModel",
    "HaarDetector",
    "ModelError",
    "PayloadTooLarge",
    "Prediction",
    "UnprocessableImage",
    "UnsupportedMedia",
    "__version__",
    "analyze",
    "analyze_image",
    "analyze_video",
    "annotate_video",
    "decode_image",
    "load_model",
    "read_image",
    "save_model",
]
