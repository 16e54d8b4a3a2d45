"""Face embeddings: dlib's 5-point alignment and its pretrained 128-d ResNet.

The embedding model classifies these vectors instead of pixels. dlib and the
model files come from the optional ``embedding`` extra (``dlib-bin`` and
``face_recognition_models``); nothing is imported or loaded before the first
call, and a missing extra is a :class:`ModelError` that says what to install.
``face_recognition_models`` is located with :func:`importlib.util.find_spec`
instead of imported, because its ``__init__`` imports the deprecated
``pkg_resources``.

:class:`DlibDetector` is dlib's HOG frontal-face detector on a padded,
downscaled copy (the same trick :mod:`facegender.detect` uses for Haar), with
the same ``detect(image, min_face_size=None) -> list[Box]`` interface as
:class:`facegender.detect.HaarDetector`. Both classes keep their dlib objects
per thread: dlib objects hold scratch buffers and are not thread-safe.
"""

from __future__ import annotations

import importlib.util
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .detect import SIDE_VIEWS
from .errors import BadRequest, ModelError
from .resnet import ResNetWeights, embed_chips, parse_weights
from .types import Box

LANDMARKS_FILE = "shape_predictor_5_face_landmarks.dat"
RESNET_FILE = "dlib_face_recognition_resnet_model_v1.dat"
EMBEDDING_SIZE = 128
CHIP_SIZE = 150
"""Side of the aligned face chip the ResNet was trained on."""
CHIP_PADDING = 0.25
"""dlib's default context around the aligned face."""
BATCH = 8
"""Chips per ResNet pass: 4-8 cost the least per face (5.1 vs 5.9 ms alone, 6.0 at 16)."""


def _dlib() -> Any:
    try:
        import dlib
    except ImportError as exc:
        raise ModelError(
            "the embedding model needs dlib: pip install 'facegender[embedding]'") from exc
    return dlib


def models_dir() -> Path:
    """Folder of the installed ``face_recognition_models`` weights, without importing it."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("the embedding model needs face_recognition_models: "
                         "pip install 'facegender[embedding]'")
    return Path(list(spec.submodule_search_locations)[0]) / "models"


def to_rgb(image: np.ndarray) -> np.ndarray:
    """BGR (H, W, 3), BGRA or gray ``uint8`` to contiguous RGB (H, W, 3), what dlib expects."""
    if image.ndim == 2:
        return np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_GRAY2RGB))
    if image.ndim == 3 and image.shape[2] == 3:
        return np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
    if image.ndim == 3 and image.shape[2] == 4:
        return np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_BGRA2RGB))
    raise ValueError(f"expected (H, W), (H, W, 3) or (H, W, 4) uint8, got shape {image.shape}")


@dataclass(frozen=True)
class DlibSettings:
    """Settings of :class:`DlibDetector` (see reports/embedding.md)."""

    work_size: int = 320
    """Longer side of the searched copy; HOG's 80 px window then finds faces >= 1/4 of it.

    400 finds no more pixabay faces than 320 at twice the time (reports/embedding.md)."""
    pad_fraction: float = 0.2
    """Replicated border on each side, as a fraction of the longer side: faces at the edge."""
    upsample: int = 0
    """dlib's pyramid upsampling; each step finds 2x smaller faces at ~4x the cost."""
    min_score: float = -0.2
    """Drop detections scoring below this (dlib's own threshold is 0)."""
    haar_fallback: bool = True
    """Ask :class:`facegender.detect.HaarDetector` (with side views) when HOG finds no face."""

    def validate(self) -> DlibSettings:
        """Raise :class:`BadRequest` naming the bad value and the allowed range."""
        checks = [
            (80 <= self.work_size <= 4096, "work_size", "80..4096", self.work_size),
            (0.0 <= self.pad_fraction <= 1.0, "pad_fraction", "0..1", self.pad_fraction),
            (0 <= self.upsample <= 2, "upsample", "0..2", self.upsample),
            (-2.0 <= self.min_score <= 2.0, "min_score", "-2..2", self.min_score),
        ]
        for ok, name, allowed, value in checks:
            if not ok:
                raise BadRequest(f"{name}={value!r} is out of range; allowed {allowed}")
        return self


class DlibDetector:
    """dlib's HOG frontal-face detector on a padded copy of ``work_size``; thread-safe."""

    def __init__(self, settings: DlibSettings | None = None) -> None:
        self.settings = (settings or DlibSettings()).validate()
        self._local = threading.local()

    def _detector(self) -> Any:
        det = getattr(self._local, "detector", None)
        if det is None:
            det = self._local.detector = _dlib().get_frontal_face_detector()
        return det

    def detect(self, image: np.ndarray, *, min_face_size: int | None = None) -> list[Box]:
        """Detect faces, largest first.

        Parameters
        ----------
        image : ndarray of shape (H, W, 3) BGR or (H, W) grayscale, uint8
        min_face_size : int, optional
            Drop faces smaller than this many original pixels.

        Returns
        -------
        list of Box in original-image pixels, clipped, sorted by area, largest first.
        """
        h, w = image.shape[:2]
        s = self.settings
        scale = s.work_size / max(h, w)  # small photos are upscaled: HOG needs 80 px faces
        work = cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))),
                          interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        pad = round(s.pad_fraction * max(work.shape[:2]))
        if pad:
            work = cv2.copyMakeBorder(work, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        rects, scores, _ = self._detector().run(to_rgb(work), s.upsample, s.min_score)
        boxes: list[Box] = []
        for r, _ in sorted(zip(rects, scores, strict=True), key=lambda t: -t[1]):
            box = _clip((r.left() - pad) / scale, (r.top() - pad) / scale,
                        (r.right() - pad) / scale, (r.bottom() - pad) / scale, w, h)
            if box is None or (min_face_size and max(box.w, box.h) < min_face_size):
                continue
            if all(box.iou(b) < 0.3 for b in boxes):  # one box per face across pyramid levels
                boxes.append(box)
        if not boxes and s.haar_fallback:
            from .analyze import haar_detector  # analyze imports this module

            return haar_detector(SIDE_VIEWS).detect(image, min_face_size=min_face_size)
        return sorted(boxes, key=lambda b: b.area, reverse=True)


def _clip(x0: float, y0: float, x1: float, y1: float, width: int, height: int) -> Box | None:
    """The part of a box inside the image, or None when less than half of it is inside."""
    cx0, cy0, cx1, cy1 = max(0.0, x0), max(0.0, y0), min(float(width), x1), min(float(height), y1)
    if cx1 - cx0 < 1 or cy1 - cy0 < 1 or (cx1 - cx0) * (cy1 - cy0) < 0.5 * (x1 - x0) * (y1 - y0):
        return None
    bx, by = int(round(cx0)), int(round(cy0))
    return Box(bx, by, max(1, min(width - bx, int(round(cx1 - cx0)))),
               max(1, min(height - by, int(round(cy1 - cy0)))))


class Embedder:
    """128-d face embeddings of given boxes; models load on first use.

    dlib finds the 5 landmarks and cuts the aligned 150x150 chip (one shape
    predictor per thread: dlib objects are not thread-safe); the ResNet itself
    runs in numpy (:mod:`facegender.resnet`, 7x faster than dlib's BLAS-less
    build, same vectors). Its weights are read-only arrays shared by all threads.
    """

    def __init__(self) -> None:
        self._local = threading.local()
        self._weights: ResNetWeights | None = None
        self._weights_lock = threading.Lock()

    def _landmarks(self) -> Any:
        predictor = getattr(self._local, "landmarks", None)
        if predictor is None:
            path = _model_file(LANDMARKS_FILE)
            predictor = self._local.landmarks = _dlib().shape_predictor(str(path))
        return predictor

    def _resnet(self) -> ResNetWeights:
        with self._weights_lock:
            if self._weights is None:
                self._weights = parse_weights(_model_file(RESNET_FILE).read_bytes())
            return self._weights

    def chips(self, image: np.ndarray, boxes: list[Box]) -> np.ndarray:
        """Aligned RGB face chips of the boxes: (len(boxes), 150, 150, 3) uint8."""
        dlib = _dlib()
        landmarks = self._landmarks()
        rgb = to_rgb(image)
        shapes = dlib.full_object_detections()
        for b in boxes:
            shapes.append(landmarks(rgb, dlib.rectangle(b.x, b.y, b.x + b.w - 1, b.y + b.h - 1)))
        return np.asarray(dlib.get_face_chips(rgb, shapes, CHIP_SIZE, CHIP_PADDING),
                          dtype=np.uint8).reshape(len(boxes), CHIP_SIZE, CHIP_SIZE, 3)

    def embed_chips(self, chips: np.ndarray) -> np.ndarray:
        """Embed aligned chips in batches of :data:`BATCH` (the fastest size per face)."""
        weights = self._resnet()
        parts = [embed_chips(weights, chips[i:i + BATCH]) for i in range(0, len(chips), BATCH)]
        return np.vstack(parts) if parts else np.empty((0, EMBEDDING_SIZE), dtype=np.float32)

    def embed(self, image: np.ndarray, boxes: list[Box]) -> np.ndarray:
        """Align each box's face by its 5 landmarks and embed it.

        Parameters
        ----------
        image : ndarray of shape (H, W, 3) BGR or (H, W) grayscale, uint8
        boxes : list of Box in original-image pixels (Haar or dlib boxes)

        Returns
        -------
        ndarray of shape (len(boxes), 128), float32, rows of unit-ish length.
        """
        if not boxes:
            return np.empty((0, EMBEDDING_SIZE), dtype=np.float32)
        return self.embed_chips(self.chips(image, boxes))


def _model_file(name: str) -> Path:
    """Path of one of the installed dlib model files, or a :class:`ModelError` naming it."""
    path = models_dir() / name
    if not path.is_file():
        raise ModelError(f"dlib model file {path} is missing")
    return path


_lock = threading.Lock()
_embedder: Embedder | None = None
_detectors: dict[DlibSettings, DlibDetector] = {}


def default_embedder() -> Embedder:
    """A process-wide :class:`Embedder`, built on first use (its dlib models load lazily)."""
    global _embedder
    with _lock:
        if _embedder is None:
            _embedder = Embedder()
        return _embedder


def dlib_detector(settings: DlibSettings | None = None) -> DlibDetector:
    """A process-wide :class:`DlibDetector` per settings, built on first use."""
    key = settings or DlibSettings()
    with _lock:
        if key not in _detectors:
            _detectors[key] = DlibDetector(key)
        return _detectors[key]


def embed_crops(crops: list[np.ndarray]) -> np.ndarray:
    """Embed face crops, each taken as one face filling the crop: ``(n, 128)`` float32."""
    emb = default_embedder()
    if not crops:
        return np.empty((0, EMBEDDING_SIZE), dtype=np.float32)
    return emb.embed_chips(np.concatenate(
        [emb.chips(c, [Box(0, 0, c.shape[1], c.shape[0])]) for c in crops]))
