"""SSD post-processing of MediaPipe's face detectors, in numpy: anchors, decoding, blending.

Ports of MediaPipe's ``SsdAnchorsCalculator``, ``TensorsToDetectionsCalculator`` and
``NonMaxSuppressionCalculator`` (WEIGHTED) with the options of its face detection
graphs, so the networks' raw outputs become the boxes and keypoints MediaPipe reports.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

import numpy as np

SCORE_CLIPPING = 100.0
NMS_IOU = 0.3
NUM_KEYPOINTS = 6


@functools.cache
def ssd_anchors(
    input_size: int | tuple[int, int], strides: tuple[int, ...],
    interpolated_scale_aspect_ratio: float
) -> np.ndarray:
    """Anchor centres, (N, 2) float32 (x, y) in [0, 1], MediaPipe's order.

    ``input_size``: the square input's side, or ``(height, width)`` of a non-square one
    (:mod:`.tflite_graph`).

    Port of SsdAnchorsCalculator for the face models' options
    (fixed_anchor_size: true, aspect_ratios: [1.0], anchor_offset 0.5), so
    every anchor has w = h = 1 and only its centre matters.  Consecutive layers
    with the same stride share one feature map, each layer adding one anchor
    per cell for aspect ratio 1.0 plus one interpolated-scale anchor when
    ``interpolated_scale_aspect_ratio > 0``.
    """
    height, width = (input_size, input_size) if isinstance(input_size, int) else input_size
    centres: list[np.ndarray] = []
    layer = 0
    while layer < len(strides):
        stride = strides[layer]
        per_cell = 0
        while layer < len(strides) and strides[layer] == stride:
            per_cell += 1 + (1 if interpolated_scale_aspect_ratio > 0.0 else 0)
            layer += 1
        rows, cols = int(np.ceil(height / stride)), int(np.ceil(width / stride))
        ys, xs = np.meshgrid((np.arange(rows) + 0.5) / rows, (np.arange(cols) + 0.5) / cols,
                             indexing="ij")
        grid = np.stack([xs.ravel(), ys.ravel()], axis=1)  # row-major: y outer, x inner
        centres.append(np.repeat(grid, per_cell, axis=0))
    out = np.concatenate(centres).astype(np.float32)
    out.setflags(write=False)
    return out


# --------------------------------------------------------------------------
# Numpy post-processing
# --------------------------------------------------------------------------


def decode(
    raw_boxes: np.ndarray,
    raw_scores: np.ndarray,
    anchors: np.ndarray,
    scale: float | np.ndarray,
    min_score: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """TensorsToDetections: returns boxes (K,4 xmin,ymin,xmax,ymax), kps (K,6,2), scores (K,).

    All in normalised tensor coordinates.  reverse_output_order=true means the
    regressor holds (x_centre, y_centre, w, h) offsets in input pixels. ``scale``: the
    square input's side, or a float32 ``(width, height)`` of a non-square one.
    """
    if not np.isscalar(scale):
        scale = np.tile(np.asarray(scale, np.float32), 2 + NUM_KEYPOINTS)
    logits = np.clip(raw_scores.reshape(-1).astype(np.float64), -SCORE_CLIPPING, SCORE_CLIPPING)
    scores = (1.0 / (1.0 + np.exp(-logits))).astype(
        np.float32
    )  # float64: exp(100) overflows float32
    keep = np.flatnonzero(scores >= min_score)
    if keep.size == 0:
        return (
            np.zeros((0, 4), np.float32),
            np.zeros((0, NUM_KEYPOINTS, 2), np.float32),
            np.zeros(0, np.float32),
        )
    reg = raw_boxes.reshape(-1, 4 + 2 * NUM_KEYPOINTS)[keep] / scale
    anc = anchors[keep]
    centre = reg[:, 0:2] + anc
    half = reg[:, 2:4] / 2.0
    boxes = np.concatenate([centre - half, centre + half], axis=1)
    kps = reg[:, 4:].reshape(-1, NUM_KEYPOINTS, 2) + anc[:, None, :]
    ok = (half > 0).all(axis=1)  # MediaPipe drops degenerate boxes
    return boxes[ok], kps[ok], scores[keep][ok]


def iou_one_to_many(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    ix = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
    iy = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None)
    inter = ix * iy
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    union = area + areas - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def weighted_nms(
    boxes: np.ndarray, keypoints: np.ndarray, scores: np.ndarray, iou_threshold: float = NMS_IOU
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MediaPipe's WEIGHTED non-max suppression.

    Why weighted: BlazeFace fires on several neighbouring anchors per face;
    averaging them (weights = scores) gives steadier boxes and keypoints than
    keeping the single best one.  Greedy by descending score: the best
    remaining detection absorbs every remaining one with IoU > threshold
    (itself included); the output keeps the best score and the score-weighted
    mean of the absorbed boxes' corners and keypoints.
    Works in any coordinate frame (normalised or pixels).
    """
    merged = list(weighted_nms_iter(boxes, keypoints, scores, iou_threshold))
    if not merged:
        return boxes[:0], keypoints[:0], scores[:0]
    out_b, out_k, out_s = zip(*merged, strict=True)
    return (
        np.asarray(out_b, np.float32),
        np.asarray(out_k, np.float32),
        np.asarray(out_s, np.float32),
    )


def weighted_nms_iter(
    boxes: np.ndarray, keypoints: np.ndarray, scores: np.ndarray, iou_threshold: float = NMS_IOU
) -> Iterator[tuple[np.ndarray, np.ndarray, float]]:
    """:func:`weighted_nms`'s detections one at a time, best score first.

    Why a generator: a caller that wants only the best detection with some
    property (the face check wants the best one holding a point) stops at the
    first, instead of merging hundreds of weak candidates it will not look at.
    """
    order = np.argsort(-scores, kind="stable")
    while order.size:
        best = order[0]
        absorbed = iou_one_to_many(boxes[best], boxes[order]) > iou_threshold
        absorbed[0] = True  # a degenerate best box still stands for itself
        members = order[absorbed]
        w = scores[members].astype(np.float64)
        yield ((boxes[members] * w[:, None]).sum(axis=0) / w.sum(),
               (keypoints[members] * w[:, None, None]).sum(axis=0) / w.sum(),
               float(scores[best]))
        order = order[~absorbed]
