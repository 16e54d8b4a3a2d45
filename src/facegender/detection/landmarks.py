"""dlib's installed model files and its 5-point face alignment.

dlib and the model files come from ``dlib-bin`` and ``face_recognition_models``;
nothing is imported or loaded before the first call, and a missing package
is a :class:`ModelError` that says what to install. ``face_recognition_models``
is located with :func:`importlib.util.find_spec` instead of imported, because
its ``__init__`` imports the deprecated ``pkg_resources``.

Alignment puts the eyes level and at the same place in every chip. Both models
read aligned chips: the embedding model's ResNet at 150 px, and the eigen-face
model at 100 px, where it is worth 3 points of validation accuracy over square
Haar crops (reports/experiments.md).
"""

from __future__ import annotations

import functools
import importlib.util
import threading
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..errors import ModelError
from ..types import Box

LANDMARKS_FILE = "shape_predictor_5_face_landmarks.dat"


def load_dlib() -> Any:
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


def model_file(name: str) -> Path:
    """Path of one of the installed dlib model files, or a :class:`ModelError` naming it."""
    path = models_dir() / name
    if not path.is_file():
        raise ModelError(f"dlib model file {path} is missing")
    return path


def to_rgb(image: np.ndarray) -> np.ndarray:
    """BGR (H, W, 3), BGRA or gray ``uint8`` to contiguous RGB (H, W, 3), what dlib expects."""
    if image.ndim == 2:
        return np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_GRAY2RGB))
    if image.ndim == 3 and image.shape[2] == 3:
        return np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
    if image.ndim == 3 and image.shape[2] == 4:
        return np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_BGRA2RGB))
    raise ValueError(f"expected (H, W), (H, W, 3) or (H, W, 4) uint8, got shape {image.shape}")


class Aligner:
    """Aligned face chips of given boxes: dlib's 5 landmarks, then ``get_face_chips``.

    One shape predictor per thread (dlib objects hold scratch buffers and are
    not thread-safe); the 9 MB model loads on first use.
    """

    def __init__(self) -> None:
        self._local = threading.local()

    def _predictor(self) -> Any:
        predictor = getattr(self._local, "predictor", None)
        if predictor is None:
            predictor = self._local.predictor = load_dlib().shape_predictor(
                str(model_file(LANDMARKS_FILE)))
        return predictor

    def chips(self, image: np.ndarray, boxes: list[Box], size: int, padding: float
              ) -> np.ndarray:
        """Aligned RGB chips ``(len(boxes), size, size, 3)`` uint8.

        ``padding`` is dlib's context around the landmarks' face square, as a
        fraction of its side (0.25 is dlib's default).
        """
        return self.chip_sets(image, boxes, [(size, padding)])[0]

    def chip_sets(self, image: np.ndarray, boxes: list[Box],
                  specs: list[tuple[int, float]]) -> list[np.ndarray]:
        """Aligned RGB chips for each ``(size, padding)`` of ``specs``, the landmarks found once.

        Why: the embedding model reads 150 px chips and the page shows the eigen-face
        model's 100 px ones of the same faces; the landmarks (and the image's RGB copy)
        are the same for both.
        """
        out = [np.empty((len(boxes), size, size, 3), dtype=np.uint8) for size, _ in specs]
        if not boxes:
            return out
        dlib = load_dlib()
        predictor = self._predictor()
        rgb = to_rgb(image)
        upright = [i for i, b in enumerate(boxes) if not b.angle]
        if upright:
            shapes = dlib.full_object_detections()
            for i in upright:
                shapes.append(predictor(rgb, _rectangle(dlib, boxes[i])))
            for chips, (size, padding) in zip(out, specs, strict=True):
                chips[upright] = np.asarray(dlib.get_face_chips(rgb, shapes, size, padding),
                                            dtype=np.uint8).reshape(len(upright), size, size, 3)
        for i, b in enumerate(boxes):
            if b.angle:
                patch, shape = _shape(dlib, predictor, rgb, b)
                for chips, (size, padding) in zip(out, specs, strict=True):
                    chips[i] = np.asarray(dlib.get_face_chip(patch, shape, size, padding))
        return out

    def landmarks(self, image: np.ndarray, boxes: list[Box]) -> np.ndarray:
        """dlib's 5 points of each box's face, ``(len(boxes), 5, 2)`` float: two corners of
        one eye, two of the other, the base of the nose. A turned face's points are in its
        upright patch (:func:`upright_patch`): measures between them (the head's pose,
        :mod:`.pose`) do not depend on the frame."""
        out = np.zeros((len(boxes), 5, 2))
        if not boxes:
            return out
        dlib, predictor, rgb = load_dlib(), self._predictor(), to_rgb(image)
        for i, b in enumerate(boxes):
            _, shape = _shape(dlib, predictor, rgb, b)
            out[i] = [(shape.part(k).x, shape.part(k).y) for k in range(5)]
        return out


def _shape(dlib: Any, predictor: Any, rgb: np.ndarray, box: Box) -> tuple[np.ndarray, Any]:
    """dlib's landmarks of one box's face and the image they are in: a turned face's
    upright patch (:func:`upright_patch`), else the image itself."""
    patch, b = upright_patch(rgb, box) if box.angle else (rgb, box)
    return patch, predictor(patch, _rectangle(dlib, b))


def _rectangle(dlib: Any, b: Box) -> Any:
    return dlib.rectangle(b.x, b.y, b.x + b.w - 1, b.y + b.h - 1)


def upright_patch(image: np.ndarray, box: Box) -> tuple[np.ndarray, Box]:
    """A square patch around a turned face, turned so the face is upright, and its box there.

    dlib's landmark model only knows upright faces (it starts from a mean upright face
    in the box), so a face turned by more than about 20 degrees is turned back first.
    The patch is twice the box's side, so the turned face and its context fit.
    """
    side = 2 * max(box.w, box.h)
    cx, cy = box.x + box.w / 2, box.y + box.h / 2
    m = cv2.getRotationMatrix2D((cx, cy), box.angle, 1.0)
    m[:, 2] += np.array([side / 2 - cx, side / 2 - cy])
    patch = cv2.warpAffine(image, m, (side, side), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REPLICATE)
    return np.ascontiguousarray(patch), Box((side - box.w) // 2, (side - box.h) // 2,
                                            box.w, box.h)


@functools.cache
def default_aligner() -> Aligner:
    """A process-wide :class:`Aligner`, built on first use (its model loads lazily)."""
    return Aligner()
