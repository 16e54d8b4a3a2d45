"""Stage 2, make features: what a classifier reads for each found face.

The 100x100 gray chip (square crop or landmark-aligned) and its preprocessing,
the HOG and LBP features of the eigen-face pipeline and its fast numpy forward pass,
and dlib's face network's values (its ResNet run by onnxruntime, in float or, for models
trained so since 2026-12-04, in 8-bit integers: :mod:`.resnet_int8`).
"""

from __future__ import annotations

from .embedding import (
    CHIP_PADDING,
    EMBEDDING_SIZE,
    Embedder,
    default_embedder,
    embed_crops,
    weights_sha256,
)
from .fast import compile_groups, compile_pipeline, compile_shared, guess_groups
from .hog import HogFeatures
from .lbp import LbpFeatures
from .preprocess import (
    ALIGN_PADDING,
    CROP_MARGIN,
    FACE_SIZE,
    crop_face,
    face_images,
    mirror,
    preprocess,
    preprocess_batch,
    whole_image_box,
)

__all__ = [
    "ALIGN_PADDING",
    "CHIP_PADDING",
    "CROP_MARGIN",
    "EMBEDDING_SIZE",
    "FACE_SIZE",
    "Embedder",
    "HogFeatures",
    "LbpFeatures",
    "compile_groups",
    "compile_pipeline",
    "compile_shared",
    "crop_face",
    "default_embedder",
    "embed_crops",
    "face_images",
    "guess_groups",
    "mirror",
    "preprocess",
    "preprocess_batch",
    "weights_sha256",
    "whole_image_box",
]
