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
REGION_GRID = 16
"""A face's chip is cut from a region of the photo whose corner lies on this grid, so dlib's
image pyramid (up to 4 halvings) samples the same pixels as it does on the whole photo."""


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
    """Aligned face chips of given boxes: dlib's 5 landmarks, then each face's chip
    (:func:`face_chip`).

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
        for i, b in enumerate(boxes):
            patch, shape = _shape(dlib, predictor, rgb, b)  # a turned face's upright patch
            for chips, (size, padding) in zip(out, specs, strict=True):
                chips[i] = face_chip(dlib, patch, shape, size, padding)
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


def face_chip(dlib: Any, rgb: np.ndarray, shape: Any, size: int, padding: float) -> np.ndarray:
    """dlib's aligned chip of one face (``get_face_chip``), cut from the face's surroundings.

    Why: dlib shrinks a face larger than its chip through an image pyramid of the whole
    image it is given, and ``get_face_chips`` builds one pyramid for all of a photo's faces
    at the depth its largest face needs. On a 2,000 px group photo that was most of the
    chips' time (24 faces: 17.6 ms, 10.3 ms cut from their surroundings), and a face's chip
    depended on the other faces in the photo (one of the 24 moved by up to 10 grey levels).
    Cut from a region whose corner lies on :data:`REGION_GRID`, a chip is the same to the
    last bit as ``get_face_chip`` on the whole photo.
    """
    details = dlib.get_face_chip_details(shape, size, padding)
    r = details.rect
    cx, cy = (r.left() + r.right()) / 2, (r.top() + r.bottom()) / 2
    reach = 0.75 * max(r.width(), r.height()) + REGION_GRID  # the square turned, and more
    h, w = rgb.shape[:2]
    x0 = max(0, int(cx - reach) // REGION_GRID * REGION_GRID)
    y0 = max(0, int(cy - reach) // REGION_GRID * REGION_GRID)
    x1, y1 = min(w, int(cx + reach) + 1), min(h, int(cy + reach) + 1)
    box = shape.rect
    moved = dlib.full_object_detection(
        dlib.rectangle(box.left() - x0, box.top() - y0, box.right() - x0, box.bottom() - y0),
        dlib.points([dlib.point(shape.part(k).x - x0, shape.part(k).y - y0)
                     for k in range(shape.num_parts)]))
    return np.asarray(dlib.get_face_chip(np.ascontiguousarray(rgb[y0:y1, x0:x1]), moved,
                                         size, padding), dtype=np.uint8)


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
