"""Face embeddings: dlib's pretrained 128-d ResNet on 5-point aligned chips.

The embedding model classifies these vectors instead of pixels. The network runs
in onnxruntime (:mod:`.resnet_onnx`, a graph built from the weights :mod:`.resnet`
reads from the installed ``face_recognition_models``); alignment is
:mod:`facegender.detection.landmarks`.
Nothing loads before the first call.
"""

from __future__ import annotations

import functools
import hashlib
import threading
from typing import Any

import cv2
import numpy as np

from ..detection import LANDMARKS_FILE, default_aligner, model_file
from ..types import Box
from .preprocess import FACE_SIZE
from .resnet import ResNetWeights, parse_weights
from .resnet_int8 import record_sha256
from .resnet_onnx import OnnxResNet, width

RESNET_FILE = "dlib_face_recognition_resnet_model_v1.dat"
EMBEDDING_SIZE = 128
CHIP_SIZE = 150
"""Side of the aligned face chip the ResNet was trained on."""
CHIP_PADDING = 0.25
"""dlib's default context around the aligned face."""
EMBEDDING: tuple[str, ...] = ("embedding",)
"""The network outputs a model reads when its manifest names none: the 128-d vector."""
ONNX_BATCH = 32
"""Chips per onnxruntime pass: a photo's faces go through as one batch up to this many."""


class Embedder:
    """128-d face embeddings of given boxes; models load on first use.

    dlib finds the 5 landmarks and cuts the aligned 150x150 chip
    (:mod:`facegender.detection.landmarks`); the ResNet runs in onnxruntime (dlib's
    vectors within 1e-4, ~16x faster than dlib's BLAS-less build,
    ``benchmarks/embedding_speed.py``). One session is shared by all threads.
    """

    def __init__(self) -> None:
        self._sessions: dict[str, OnnxResNet] = {}
        self._record_keys: dict[int, tuple[dict[str, Any], str]] = {}
        self._session_lock = threading.Lock()

    def chips(self, image: np.ndarray, boxes: list[Box]) -> np.ndarray:
        """Aligned RGB face chips of the boxes: (len(boxes), 150, 150, 3) uint8."""
        return default_aligner().chips(image, boxes, CHIP_SIZE, CHIP_PADDING)

    def _onnx(self, int8: dict[str, Any] | None = None) -> OnnxResNet:
        """The float session, or the int8 one of a calibration record, built on first use;
        the parsed weights are not kept (the graph holds its own copy)."""
        with self._session_lock:
            key = "float" if int8 is None else self._record_key(int8)
            if key not in self._sessions:
                from ..threads import cap

                self._sessions[key] = OnnxResNet(resnet_weights(), threads=cap(), int8=int8)
            return self._sessions[key]

    def _record_key(self, record: dict[str, Any]) -> str:
        """A calibration record's :func:`.resnet_int8.record_sha256`, hashed once per record
        object. Why: a model passes the same manifest dict with every photo, and hashing its
        12 kB costs 0.3 ms (~2% of a portrait's answer). The record is kept with its key,
        so its id is not reused while it is looked up by it."""
        known = self._record_keys.get(id(record))
        if known is None or known[0] is not record:
            known = self._record_keys[id(record)] = (record, record_sha256(record))
        return known[1]

    def embed_chips(self, chips: np.ndarray, outputs: tuple[str, ...] = EMBEDDING,
                    int8: dict[str, Any] | None = None) -> np.ndarray:
        """The network's ``outputs`` (see :data:`.resnet_onnx.OUTPUTS`) for aligned chips,
        side by side: a photo's faces as one onnxruntime batch (4.1 vs 5.0 ms a face
        alone, for 20 faces on one thread). ``int8``: the model's calibration record, to
        run the network as the model was trained (:mod:`.resnet_int8`); None: in float."""
        if not len(chips):
            return np.empty((0, width(outputs)), dtype=np.float32)
        session = self._onnx(int8)
        return np.vstack([session.run(chips[i:i + ONNX_BATCH], outputs)
                          for i in range(0, len(chips), ONNX_BATCH)])

    def embed_and_cut(self, image: np.ndarray, boxes: list[Box], align_padding: float,
                      outputs: tuple[str, ...] = EMBEDDING, int8: dict[str, Any] | None = None
                      ) -> tuple[np.ndarray, list[np.ndarray]]:
        """The boxes' embeddings and the 100x100 aligned BGR faces an eigen-face model reads.

        The same as :meth:`embed` and ``face_images(image, boxes, align_padding)``, with
        the landmarks found once (the web page shows the explainable model's chips of the
        faces the embedding model answers for: about 1 ms a face saved).
        """
        chips, faces = default_aligner().chip_sets(
            image, boxes, [(CHIP_SIZE, CHIP_PADDING), (FACE_SIZE, align_padding)])
        return (self.embed_chips(chips, outputs, int8),
                [cv2.cvtColor(f, cv2.COLOR_RGB2BGR) for f in faces])

    def embed(self, image: np.ndarray, boxes: list[Box], outputs: tuple[str, ...] = EMBEDDING,
              int8: dict[str, Any] | None = None) -> np.ndarray:
        """Align each box's face by its 5 landmarks and embed it.

        Parameters
        ----------
        image : ndarray of shape (H, W, 3) BGR or (H, W) grayscale, uint8
        boxes : list of Box in original-image pixels (Haar or dlib boxes)
        outputs : network outputs to give, side by side (the 128-d embedding by default)
        int8 : the model's calibration record to run the network in 8-bit integers, or None

        Returns
        -------
        ndarray of shape (len(boxes), width(outputs)), float32.
        """
        if not boxes:
            return np.empty((0, width(outputs)), dtype=np.float32)
        return self.embed_chips(self.chips(image, boxes), outputs, int8)


def resnet_weights() -> ResNetWeights:
    """The installed ResNet's weights, parsed from dlib's file (read afresh on each call)."""
    return parse_weights(model_file(RESNET_FILE).read_bytes())


@functools.cache
def weights_sha256() -> str:
    """sha256 over the landmark model's and the ResNet's files: what every vector depends on.

    Why: cached embeddings and a trained embedding model's head are only valid for the
    weights they were made with; a newer ``face_recognition_models`` must not be fed
    vectors of the old one. Read once per process (31 MB, ~60 ms).
    """
    h = hashlib.sha256()
    for name in (LANDMARKS_FILE, RESNET_FILE):
        h.update(model_file(name).read_bytes())
    return h.hexdigest()


@functools.cache
def default_embedder() -> Embedder:
    """A process-wide :class:`Embedder`, built on first use (its dlib models load lazily)."""
    return Embedder()


def embed_crops(crops: list[np.ndarray], outputs: tuple[str, ...] = EMBEDDING,
                int8: dict[str, Any] | None = None) -> np.ndarray:
    """Embed face crops, each taken as one face filling the crop: ``(n, width)`` float32."""
    emb = default_embedder()
    if not crops:
        return np.empty((0, width(outputs)), dtype=np.float32)
    return emb.embed_chips(np.concatenate(
        [emb.chips(c, [Box(0, 0, c.shape[1], c.shape[0])]) for c in crops]), outputs, int8)
