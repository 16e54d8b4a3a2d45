"""dlib's face detectors: HOG on a padded, downscaled copy, with fallbacks.

:class:`DlibDetector` has the same ``detect(image, min_face_size=None) ->
list[Box]`` interface as :class:`facegender.detection.haar.HaarDetector` and is the
detector of both shipped models. When HOG finds only small faces it looks
again on a larger copy; when it finds nothing it asks Haar (with side views),
then dlib's CNN detector on a small copy. dlib objects are kept
per thread: they hold scratch buffers and are not thread-safe.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from ..errors import check_ranges
from ..types import Box
from .haar import SIDE_VIEWS, haar_detector
from .landmarks import load_dlib, model_file, to_rgb

CNN_FILE = "mmod_human_face_detector.dat"


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
    """Ask :class:`.haar.HaarDetector` (with side views) when HOG finds no face."""
    small_face_size: int = 640
    """Longer side of a second HOG search for smaller faces; 0 = off. It runs only when the
    largest face the first search found is under a third of the photo's shorter side (a
    group or a scene, not a portrait), so portraits cost nothing more."""
    small_face_min_score: float = 0.5
    """Score a face from that second search needs. On the group photos the faces it adds
    score 1.2-1.8; on the astronaut (a portrait whose face is a fifth of the photo) its two
    false faces score -0.14 and -0.06: 0.5 keeps the first and drops the second."""
    cnn_work_size: int = 160
    """Longer side of the copy dlib's CNN (MMOD) detector searches when HOG and Haar found no
    face; 0 = off. On the IMDB-WIKI photos both missed it found 9 of 44 (turned, occluded
    and small faces) at 0.2 s of CPU each, the same 9 as at 320 px for a quarter of the
    time, and no face in the no-face photos (reports/detection.md)."""

    def validate(self) -> DlibSettings:
        """Raise :class:`BadRequest` naming the bad value and the allowed range."""
        checks = [
            (80 <= self.work_size <= 4096, "work_size", "80..4096", self.work_size),
            (0.0 <= self.pad_fraction <= 1.0, "pad_fraction", "0..1", self.pad_fraction),
            (0 <= self.upsample <= 2, "upsample", "0..2", self.upsample),
            (-2.0 <= self.min_score <= 2.0, "min_score", "-2..2", self.min_score),
            (self.small_face_size == 0 or 80 <= self.small_face_size <= 4096,
             "small_face_size", "0 (off) or 80..4096", self.small_face_size),
            (-2.0 <= self.small_face_min_score <= 2.0, "small_face_min_score", "-2..2",
             self.small_face_min_score),
            (self.cnn_work_size == 0 or 80 <= self.cnn_work_size <= 1024, "cnn_work_size",
             "0 (off) or 80..1024", self.cnn_work_size),
        ]
        check_ranges(checks)
        return self


class DlibDetector:
    """dlib's HOG frontal-face detector on a padded copy of ``work_size``; thread-safe.

    When the faces HOG finds are all small for the photo, HOG again on a
    larger copy for smaller ones (group photos). When HOG finds no face:
    Haar with side views, then dlib's CNN detector (each only if its setting
    is on). The CNN costs ~40x HOG, so it only ever runs on photos that would
    otherwise get no answer.
    """

    def __init__(self, settings: DlibSettings | None = None) -> None:
        self.settings = (settings or DlibSettings()).validate()
        self._local = threading.local()

    def _detector(self) -> Any:
        det = getattr(self._local, "detector", None)
        if det is None:
            det = self._local.detector = load_dlib().get_frontal_face_detector()
        return det

    def _cnn(self) -> Any:
        det = getattr(self._local, "cnn", None)
        if det is None:
            det = self._local.cnn = load_dlib().cnn_face_detection_model_v1(
                str(model_file(CNN_FILE)))
        return det

    def _hog(self, image: np.ndarray, size: int, min_score: float,
             min_face_size: int | None) -> list[Box]:
        """One HOG search on a padded copy with longer side ``size``, best score first."""
        work, scale, pad = _work_copy(image, size, self.settings.pad_fraction)
        rects, scores, _ = self._detector().run(work, self.settings.upsample, min_score)
        return _to_boxes(list(zip(rects, scores, strict=True)), image, scale, pad,
                         min_face_size)

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
        s = self.settings
        boxes = self._hog(image, s.work_size, s.min_score, min_face_size)
        if boxes and s.small_face_size > s.work_size and (
                max(max(b.w, b.h) for b in boxes) < min(image.shape[:2]) / 3):
            more = self._hog(image, s.small_face_size, s.small_face_min_score, min_face_size)
            boxes += [b for b in more if all(b.iou(o) < 0.3 for o in boxes)]
        if not boxes and s.haar_fallback:
            boxes = haar_detector(SIDE_VIEWS).detect(image, min_face_size=min_face_size)
        if not boxes and s.cnn_work_size:
            work, scale, pad = _work_copy(image, s.cnn_work_size, s.pad_fraction)
            found = self._cnn()(work, 0)
            boxes = _to_boxes([(d.rect, d.confidence) for d in found], image, scale, pad,
                              min_face_size)
        return sorted(boxes, key=lambda b: b.area, reverse=True)


def _work_copy(image: np.ndarray, size: int, pad_fraction: float
               ) -> tuple[np.ndarray, float, int]:
    """RGB copy with longer side ``size`` and a replicated border; its scale and border.

    Small photos are upscaled too: the detectors' windows are 40-80 px.
    """
    h, w = image.shape[:2]
    scale = size / max(h, w)
    work = cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))),
                      interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    pad = round(pad_fraction * max(work.shape[:2]))
    if pad:
        work = cv2.copyMakeBorder(work, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    return to_rgb(work), scale, pad


def _to_boxes(found: list[tuple[Any, float]], image: np.ndarray, scale: float, pad: int,
              min_face_size: int | None) -> list[Box]:
    """dlib rectangles with scores on a work copy to clipped original-pixel boxes.

    Best score first, and a box overlapping a better one (IoU >= 0.3) is the
    same face seen at another pyramid level, so it is dropped.
    """
    h, w = image.shape[:2]
    boxes: list[Box] = []
    for r, _ in sorted(found, key=lambda t: -t[1]):
        box = Box.clip((r.left() - pad) / scale, (r.top() - pad) / scale,
                       (r.right() - pad) / scale, (r.bottom() - pad) / scale, w, h)
        if box is None or (min_face_size and max(box.w, box.h) < min_face_size):
            continue
        if all(box.iou(b) < 0.3 for b in boxes):
            boxes.append(box)
    return boxes


def dlib_detector(settings: DlibSettings | None = None) -> DlibDetector:
    """A process-wide :class:`DlibDetector` per settings, built on first use."""
    return _dlib_detector(settings or DlibSettings())


@functools.lru_cache(maxsize=8)
def _dlib_detector(settings: DlibSettings) -> DlibDetector:
    return DlibDetector(settings)
