"""Face detection: OpenCV's Haar cascade, made to find the faces people upload.

A plain ``detectMultiScale`` misses faces that fill the frame or touch its
edges (tight crops, close portraits), because the cascade's window needs some
context around the face. So we detect on a copy that is (1) downscaled to a
working size, which also makes the cost independent of the upload's size, and
(2) padded with a replicated border; boxes are mapped back to original pixels
and clipped. The detector is an object with settings in ``__init__`` so the
web app builds it once and tests or benchmarks can tune it.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..errors import check_ranges
from ..types import Box

CASCADE_FILE = "haarcascade_frontalface_alt2.xml"
SHRT_MAX = 32767
"""OpenCV's geometric transforms refuse images with a side this long or longer."""
CASCADES = ("haarcascade_frontalface_alt2.xml", "haarcascade_frontalface_default.xml",
            "haarcascade_frontalface_alt.xml")
PROFILE_CASCADE = "haarcascade_profileface.xml"
"""OpenCV's side-view cascade; it knows faces turned one way, so it also searches the mirror."""


@dataclass(frozen=True)
class DetectorSettings:
    """Tuned settings of :class:`HaarDetector` (see reports/detection.md)."""

    scale_factor: float = 1.1
    """1.15+ loses small group faces; 1.05 finds more but also coins, at twice the time."""
    min_neighbors: int = 3
    """alt2 is strict enough at 3; 2 lets textures through, 4 loses group faces."""
    min_size: int = 30
    """Smallest face side in working-copy pixels."""
    pad_fraction: float = 0.3
    """Replicated border added on each side, as a fraction of the longer side."""
    work_size: int = 640
    """Longer side of the working copy; smaller images are not upscaled."""
    min_inside: float = 0.6
    """Drop boxes with less than this fraction of their area inside the image."""
    coarse_size: int = 240
    """Longer side of the padded copy searched for large faces; 0 pads the working copy."""
    min_weight: float = 0.0
    """Drop boxes whose cascade score is below this (0 keeps all)."""
    cascade: str = CASCADE_FILE
    """OpenCV's frontal-face cascade file: alt2 finds more faces and fewer coins than default."""
    rotations: tuple[float, ...] = (-25.0, 25.0)
    """Angles (degrees) tried in turn when the upright search finds no face: tilted heads."""
    rotated_min_neighbors: int = 3
    """Neighbours for the turned search; at +-25 degrees 3 drew no false face."""
    profile_min_neighbors: int = 0
    """Neighbours for the side-view search, tried last; 0 leaves it out.

    Off by default: it helps the embedding model (3, :data:`SIDE_VIEWS`), not the eigen-face
    model, whose pixel PCA knows frontal faces (reports/experiments.md)."""
    profile_size: int = 320
    """Longer side of the padded copy the side-view search runs on (one pass)."""

    def validate(self) -> DetectorSettings:
        """Raise :class:`BadRequest` naming the bad value and the allowed range."""
        checks = [
            (1.01 <= self.scale_factor <= 2.0, "scale_factor", "1.01..2.0", self.scale_factor),
            (1 <= self.min_neighbors <= 50, "min_neighbors", "1..50", self.min_neighbors),
            (8 <= self.min_size <= 4096, "min_size", "8..4096", self.min_size),
            (0.0 <= self.pad_fraction <= 1.0, "pad_fraction", "0..1", self.pad_fraction),
            (64 <= self.work_size <= 8192, "work_size", "64..8192", self.work_size),
            (0.0 <= self.min_inside <= 1.0, "min_inside", "0..1", self.min_inside),
            (self.coarse_size == 0 or 64 <= self.coarse_size <= 8192, "coarse_size",
             "0 or 64..8192", self.coarse_size),
            (0.0 <= self.min_weight <= 100.0, "min_weight", "0..100", self.min_weight),
            (self.cascade in CASCADES, "cascade", " | ".join(CASCADES), self.cascade),
            (all(-90 <= a <= 90 for a in self.rotations), "rotations", "-90..90 each",
             self.rotations),
            (1 <= self.rotated_min_neighbors <= 50, "rotated_min_neighbors", "1..50",
             self.rotated_min_neighbors),
            (0 <= self.profile_min_neighbors <= 50, "profile_min_neighbors", "0..50",
             self.profile_min_neighbors),
            (64 <= self.profile_size <= 8192, "profile_size", "64..8192", self.profile_size),
        ]
        check_ranges(checks)
        return self


class HaarDetector:
    """Finds frontal faces; thread-safe (one cascade per thread).

    Parameters
    ----------
    settings : DetectorSettings, optional
        Tuned defaults when omitted.
    """

    def __init__(self, settings: DetectorSettings | None = None) -> None:
        self.settings = (settings or DetectorSettings()).validate()
        self._local = threading.local()

    def _cascade(self, name: str) -> cv2.CascadeClassifier:
        cascades = self._local.__dict__.setdefault("cascades", {})
        if name not in cascades:
            path = Path(cv2.data.haarcascades) / name  # type: ignore[attr-defined]
            cascade = cv2.CascadeClassifier(str(path))
            if cascade.empty():  # pragma: no cover - broken OpenCV install
                raise RuntimeError(f"cannot load the Haar cascade {path}")
            cascades[name] = cascade
        return cascades[name]

    def detect(self, image: np.ndarray, *, min_face_size: int | None = None) -> list[Box]:
        """Detect faces, largest first.

        Parameters
        ----------
        image : ndarray of shape (H, W, 3) BGR or (H, W) grayscale, uint8
        min_face_size : int, optional
            Smallest face side in *original* pixels; overrides nothing else.

        Returns
        -------
        list of Box in original-image pixels, sorted by area, largest first.
        """
        gray = to_gray(image)
        s = self.settings
        boxes = self._upright(gray, min_face_size, s.min_neighbors)
        if not boxes and s.rotations:
            boxes = self._rotated(gray, min_face_size)
        if not boxes and s.profile_min_neighbors:
            boxes = self._profile(gray, min_face_size)
        return sorted(boxes, key=lambda b: b.area, reverse=True)

    def _profile(self, gray: np.ndarray, min_face_size: int | None) -> list[Box]:
        """Faces seen from the side: the profile cascade on the image, then on its mirror.

        The frontal cascades miss heads turned more than about 45 degrees; this
        finds a face in about a third of the IMDB-WIKI photos where they found
        none, with no false face on the no-face photos (reports/detection.md).
        Only photos where every frontal search found nothing pay for it.
        """
        h, w = gray.shape
        s = self.settings
        scale = min(1.0, s.profile_size / max(h, w))
        min_side = self._min_side(scale, min_face_size)
        for mirrored in (False, True):
            image = cv2.flip(gray, 1) if mirrored else gray
            found = self._search(image, scale, s.pad_fraction, min_side,
                                 s.profile_min_neighbors, PROFILE_CASCADE)
            if found:
                return [Box(w - b.x - b.w, b.y, b.w, b.h) for b in found] if mirrored else found
        return []

    def _min_side(self, scale: float, min_face_size: int | None) -> int:
        """Smallest face side to search for on a copy scaled by ``scale``."""
        return max(self.settings.min_size, round((min_face_size or 0) * scale))

    def _upright(self, gray: np.ndarray, min_face_size: int | None,
                 neighbors: int) -> list[Box]:
        """The fine pass on the working copy plus a coarse padded pass for large faces."""
        h, w = gray.shape
        s = self.settings
        scale = min(1.0, s.work_size / max(h, w))
        min_side = self._min_side(scale, min_face_size)
        coarse = s.coarse_size / max(h, w) if s.coarse_size else scale
        if coarse >= scale:  # small photo: one padded pass finds every face
            return self._search(gray, scale, s.pad_fraction, min_side, neighbors, s.cascade)
        boxes = self._search(gray, scale, 0.0, min_side, neighbors, s.cascade)
        big = self._search(gray, coarse, s.pad_fraction, max(s.min_size, round(
            min_side * coarse / scale)), neighbors, s.cascade)
        # The fine pass places boxes better; take the coarse ones it missed.
        return boxes + [b for b in big if all(b.iou(f) < 0.3 for f in boxes)]

    def _rotated(self, gray: np.ndarray, min_face_size: int | None) -> list[Box]:
        """Faces of a tilted head: search copies turned by each angle; upright boxes out.

        The cascade only knows upright faces, so a head tilted by more than
        about 10 degrees is missed. Only photos where the upright search found
        nothing pay for this, so group photos and speed on ordinary photos are
        unchanged. A box keeps its size; its center is turned back.
        """
        h, w = gray.shape
        s = self.settings
        if max(h, w) >= SHRT_MAX:  # cv2.warpAffine asserts sides < 32767 (a 40000x100 strip)
            return []
        for angle in s.rotations:
            m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
            turned = cv2.warpAffine(gray, m, (w, h), flags=cv2.INTER_LINEAR,
                                    borderMode=cv2.BORDER_REPLICATE)
            found = self._upright(turned, min_face_size, s.rotated_min_neighbors)
            if not found:
                continue
            back = cv2.invertAffineTransform(m)
            boxes = []
            for b in found:
                cx, cy = back @ np.array([b.x + b.w / 2, b.y + b.h / 2, 1.0])
                box = _to_original((round(cx - b.w / 2), round(cy - b.h / 2), b.w, b.h),
                                   0, 1.0, w, h, s.min_inside)
                if box is not None:
                    boxes.append(box)
            if boxes:
                return boxes
        return []

    def _search(self, gray: np.ndarray, scale: float, pad_fraction: float,
                min_side: int, neighbors: int, cascade: str) -> list[Box]:
        """Run the cascade on ``gray`` scaled by ``scale`` and padded; original pixels out."""
        h, w = gray.shape
        s = self.settings
        work = gray if scale == 1.0 else cv2.resize(
            gray, (max(1, round(w * scale)), max(1, round(h * scale))),
            interpolation=cv2.INTER_AREA,
        )
        pad = round(pad_fraction * max(work.shape))
        if pad:
            work = cv2.copyMakeBorder(work, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        if s.min_weight > 0:
            found, _, weights = self._cascade(cascade).detectMultiScale3(
                work, scaleFactor=s.scale_factor, minNeighbors=neighbors,
                minSize=(min_side, min_side), outputRejectLevels=True,
            )
            keep = np.ravel(weights) >= s.min_weight
            found = [f for f, ok in zip(found, keep, strict=True) if ok]
        else:
            found = self._cascade(cascade).detectMultiScale(
                work, scaleFactor=s.scale_factor, minNeighbors=neighbors,
                minSize=(min_side, min_side),
            )
        return [
            box for box in (
                _to_original(tuple(int(v) for v in f), pad, scale, w, h, s.min_inside)
                for f in found
            ) if box is not None
        ]


def _to_original(
    found: tuple[int, ...], pad: int, scale: float, width: int, height: int, min_inside: float
) -> Box | None:
    """Map a box from the padded working copy back to the original, clipped."""
    x, y, bw, bh = found
    x0, y0 = (x - pad) / scale, (y - pad) / scale
    return Box.clip(x0, y0, x0 + bw / scale, y0 + bh / scale, width, height, min_inside)


SIDE_VIEWS = DetectorSettings(profile_min_neighbors=3)
"""The tuned settings plus the side-view search (3 neighbours drew no false face)."""


def to_gray(image: np.ndarray) -> np.ndarray:
    """BGR (H, W, 3) or gray (H, W) ``uint8`` to gray (H, W) ``uint8``."""
    if image.ndim == 2:
        return image
    if image.ndim == 3 and image.shape[2] == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY)
    raise ValueError(f"expected (H, W), (H, W, 3) or (H, W, 4) uint8, got shape {image.shape}")


@functools.lru_cache(maxsize=8)
def haar_detector(settings: DetectorSettings) -> HaarDetector:
    """A process-wide :class:`HaarDetector` per settings, built on first use (thread-safe)."""
    return HaarDetector(settings)


def default_detector() -> HaarDetector:
    """The process-wide Haar detector with the tuned settings."""
    return haar_detector(DetectorSettings())
