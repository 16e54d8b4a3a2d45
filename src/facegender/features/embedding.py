"""Face embeddings: dlib's pretrained 128-d ResNet on 5-point aligned chips.

The embedding model classifies these vectors instead of pixels. The network
runs in numpy (:mod:`facegender.features.resnet`) from the weights of the installed
``face_recognition_models``; alignment is :mod:`facegender.detection.landmarks`, the
detector :mod:`facegender.detection.dlib_chain`. Nothing loads before the first call.
"""

from __future__ import annotations

import threading

import numpy as np

from ..detection import default_aligner, model_file
from ..types import Box
from .resnet import ResNetWeights, embed_chips, parse_weights

RESNET_FILE = "dlib_face_recognition_resnet_model_v1.dat"
EMBEDDING_SIZE = 128
CHIP_SIZE = 150
"""Side of the aligned face chip the ResNet was trained on."""
CHIP_PADDING = 0.25
"""dlib's default context around the aligned face."""
BATCH = 8
"""Chips per ResNet pass: 4-8 cost the least per face (5.1 vs 5.9 ms alone, 6.0 at 16)."""


class Embedder:
    """128-d face embeddings of given boxes; models load on first use.

    dlib finds the 5 landmarks and cuts the aligned 150x150 chip
    (:mod:`facegender.detection.landmarks`); the ResNet itself runs in numpy
    (:mod:`facegender.features.resnet`, 7x faster than dlib's BLAS-less build, same vectors).
    Its weights are read-only arrays shared by all threads.
    """

    def __init__(self) -> None:
        self._weights: ResNetWeights | None = None
        self._weights_lock = threading.Lock()

    def _resnet(self) -> ResNetWeights:
        with self._weights_lock:
            if self._weights is None:
                self._weights = parse_weights(model_file(RESNET_FILE).read_bytes())
            return self._weights

    def chips(self, image: np.ndarray, boxes: list[Box]) -> np.ndarray:
        """Aligned RGB face chips of the boxes: (len(boxes), 150, 150, 3) uint8."""
        return default_aligner().chips(image, boxes, CHIP_SIZE, CHIP_PADDING)

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


_lock = threading.Lock()
_embedder: Embedder | None = None


def default_embedder() -> Embedder:
    """A process-wide :class:`Embedder`, built on first use (its dlib models load lazily)."""
    global _embedder
    with _lock:
        if _embedder is None:
            _embedder = Embedder()
        return _embedder


def embed_crops(crops: list[np.ndarray]) -> np.ndarray:
    """Embed face crops, each taken as one face filling the crop: ``(n, 128)`` float32."""
    emb = default_embedder()
    if not crops:
        return np.empty((0, EMBEDDING_SIZE), dtype=np.float32)
    return emb.embed_chips(np.concatenate(
        [emb.chips(c, [Box(0, 0, c.shape[1], c.shape[0])]) for c in crops]))
