"""The finder's pure steps on arrays: searches on turned copies, merging, box shapes, angles.

Every function takes and returns numpy arrays or :class:`~.blazeface.Found`; no model
state lives here, so each step can be tested and reasoned about on its own.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..types import Box
from .blazeface import BlazeFace, Found
from .finder_settings import FinderSettings
from .ssd import weighted_nms

ROTATIONS = ((cv2.ROTATE_90_CLOCKWISE, 90), (cv2.ROTATE_90_COUNTERCLOCKWISE, 270),
             (cv2.ROTATE_180, 180))
"""Turned copies tried in order when the upright passes find nothing (code, degrees)."""
TURN_CODES = {degrees: code for code, degrees in ROTATIONS}


def box_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two ``x0, y0, x1, y1`` boxes."""
    iw = max(0.0, float(min(a[2], b[2]) - max(a[0], b[0])))
    ih = max(0.0, float(min(a[3], b[3]) - max(a[1], b[1])))
    inter = iw * ih
    union = float((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1])) - inter
    return inter / union if union > 0 else 0.0


def merge_found(a: Found, b: Found) -> Found:
    """Two searches' faces as one list: overlapping ones blended, best score first."""
    if not len(b.scores):
        return a
    if not len(a.scores):
        return b
    return nms_found(a, b)


def nms_found(*parts: Found) -> Found:
    """Several searches' faces blended where they overlap, best score first."""
    boxes, keypoints, scores = (np.concatenate(p) for p in zip(*parts, strict=True))
    merged = weighted_nms(boxes, keypoints, scores)
    order = np.argsort(-merged[2], kind="stable")
    return Found(merged[0][order], merged[1][order], merged[2][order])


def work_copy(image: np.ndarray, size: int, shrink: str = "area") -> tuple[np.ndarray, float]:
    """A BGR copy whose longer side is at most ``size`` (never enlarged) and its scale.

    ``shrink``: ``"area"``, OpenCV's area average in one step; ``"fast"``, its area
    average by a whole factor (:func:`block_average`), then bilinear for the last step of
    less than 2x. Why: area averaging by a factor that is not whole takes OpenCV's slow
    path, 1.7 ms for a 500 px photo and 4-5 ms at 1200 px, most of the finder's first
    pass (reports/detection.md).
    """
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    elif image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    h, w = image.shape[:2]
    f = min(1.0, size / max(h, w))
    if f == 1.0:
        return image, 1.0
    interpolation = cv2.INTER_AREA
    if shrink == "fast":
        image, kx, ky = block_average(image, int(1 / f))
        h, w = image.shape[0] * ky, image.shape[1] * kx
        f = size / max(h, w)
        interpolation = cv2.INTER_LINEAR
    return cv2.resize(image, (max(1, round(w * f)), max(1, round(h * f))),
                      interpolation=interpolation), f


def block_average(image: np.ndarray, k: int) -> tuple[np.ndarray, int, int]:
    """The image averaged over blocks of ``k`` x ``k`` pixels, and the blocks' width and
    height (``k``, or the side where it is shorter: a 1 px strip stays 1 px high).

    The right and bottom rows beyond the last whole block are left out (fewer than ``k``),
    so OpenCV takes its fast path for whole factors; pixel ``i`` of the result is the
    mean of pixels ``k*i`` to ``k*i + k - 1`` (to a rounding: halvings first, below).
    ``k`` under 2: the image itself.

    Why halvings: OpenCV's area average by 2 is several times faster than by any other
    whole factor (a 1280x852 photo by 4 in one step 1.6 ms, in two halvings 0.26 ms, the
    same pixels within a rounding at each halving).
    """
    h, w = image.shape[:2]
    kx, ky = max(1, min(k, w)), max(1, min(k, h))
    if max(kx, ky) < 2:
        return image, 1, 1
    image = image[:h - h % ky, :w - w % kx]
    fx, fy = kx, ky
    while fx % 2 == 0 and fy % 2 == 0:
        height, width = image.shape[:2]
        image = cv2.resize(image, (width // 2, height // 2), interpolation=cv2.INTER_AREA)
        fx, fy = fx // 2, fy // 2
    if max(fx, fy) > 1:
        height, width = image.shape[:2]
        image = cv2.resize(image, (width // fx, height // fy), interpolation=cv2.INTER_AREA)
    return image, kx, ky


def search_pass(model: BlazeFace, work: np.ndarray, pad: float, degrees: int) -> Found:
    """One pass on the work copy, turned by ``degrees`` first; results in its pixels."""
    if not degrees:
        return model.detect(work, pad)
    found = model.detect(cv2.rotate(work, TURN_CODES[degrees]), pad)
    h, w = work.shape[:2]
    corners = unturn(found.boxes.reshape(-1, 2, 2), degrees, w, h)
    boxes = np.concatenate([corners.min(axis=1), corners.max(axis=1)], axis=1)
    return Found(boxes.astype(np.float32), unturn(found.keypoints, degrees, w, h), found.scores)


def unturn(points: np.ndarray, degrees: int, w: int, h: int) -> np.ndarray:
    """Points ``(..., 2)`` found on a copy turned clockwise by ``degrees`` back to a w x h image."""
    x, y = points[..., 0], points[..., 1]
    if not degrees:
        return points.astype(np.float32)
    if degrees == 90:  # turned: x' = h - y, y' = x
        back = (y, h - x)
    elif degrees == 270:  # turned: x' = y, y' = w - x
        back = (w - y, x)
    else:
        back = (w - x, h - y)
    return np.stack(back, axis=-1).astype(np.float32)


def faces_are_small(found: Found, work: np.ndarray, ratio: float) -> bool:
    """Whether the largest face found is small for the photo (a group or a scene)."""
    sides = np.maximum(found.boxes[:, 2] - found.boxes[:, 0], found.boxes[:, 3] - found.boxes[:, 1])
    return float(sides.max()) < ratio * min(work.shape[:2])


def tile_corners(w: int, h: int, tile: int, overlap: float = 0.5) -> list[tuple[int, int]]:
    """Top-left corners of the fewest ``tile``-sided windows covering w x h, evenly spread,
    neighbours sharing at least ``overlap`` of a tile."""

    def starts(n: int) -> list[int]:
        if n <= tile:
            return [0]
        shared = overlap * tile
        k = int(np.ceil((n - shared) / (tile - shared) - 1e-9))
        return sorted({round(i * (n - tile) / (k - 1)) for i in range(k)})

    return [(x, y) for y in starts(h) for x in starts(w)]


def eye_angle(keypoints: np.ndarray) -> float:
    """The eye line's direction in degrees (0 upright, clockwise as seen), rounded to 0.1.

    BlazeFace's first keypoint is the subject's right eye, seen on the left of an
    upright face, so the line from it to the other eye points right when upright.
    """
    dx, dy = keypoints[1] - keypoints[0]
    return round(float(np.degrees(np.arctan2(dy, dx))), 1)


def wrap_angle(angle: float, min_angle: float) -> float:
    """An angle in (-180, 180], rounded to 0.1; 0 when under ``min_angle``."""
    angle = (angle + 180.0) % 360.0 - 180.0
    angle = 180.0 if angle == -180.0 else angle
    return round(angle, 1) if abs(angle) >= min_angle else 0.0


def dlib_shaped(x0: float, y0: float, x1: float, y1: float, s: FinderSettings,
                width: int, height: int, angle: float) -> Box | None:
    """BlazeFace's square box as dlib's box of the same face, clipped to the image.

    None when under ``s.min_inside`` of it is inside (a face mostly out of the frame
    has no landmarks to align).
    """
    side = max(x1 - x0, y1 - y0) * s.box_scale
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2 + s.box_shift * side
    return Box.clip(cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2, width, height,
                    s.min_inside, angle)
