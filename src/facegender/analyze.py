"""Image in, one classified face per detection out: the library's front door.

Stages: detect -> crop -> preprocess -> classify. Timings are kept per stage
because the web API reports them and the benchmarks compare them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .detect import HaarDetector
from .model import GenderModel
from .preprocess import crop_face, preprocess
from .types import Face

_default_detector: HaarDetector | None = None


def default_detector() -> HaarDetector:
    """A process-wide detector with the tuned settings, built on first use."""
    global _default_detector
    if _default_detector is None:
        _default_detector = HaarDetector()
    return _default_detector


@dataclass
class Analysis:
    """All faces of one image plus how long each stage took."""

    width: int
    height: int
    faces: list[Face]
    timings_ms: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "image": {"width": self.width, "height": self.height},
            "faces": [f.to_dict() for f in self.faces],
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
        }


def analyze_image(
    image: np.ndarray,
    model: GenderModel,
    *,
    detector: HaarDetector | None = None,
    min_face_size: int | None = None,
    reconstruct: bool = False,
) -> Analysis:
    """Detect, crop, preprocess and classify every face in a BGR image.

    Parameters
    ----------
    image : ndarray of shape (H, W, 3), uint8, BGR
    model : GenderModel
    detector : HaarDetector, optional
        The tuned default when omitted.
    min_face_size : int, optional
        Ignore faces smaller than this many original pixels.
    reconstruct : bool
        Also attach each face's eigen-face reconstruction.

    Returns
    -------
    Analysis with faces largest first; each Face carries its ``(100, 100)`` crop.
    """
    det = detector or default_detector()
    t0 = time.perf_counter()
    boxes = det.detect(image, min_face_size=min_face_size)
    t1 = time.perf_counter()
    crops = [preprocess(crop_face(image, b)) for b in boxes]
    rows = np.stack([c.ravel() for c in crops]) if crops else np.empty((0, 0), np.float32)
    t2 = time.perf_counter()
    preds = model.predictions(model.predict_proba(rows)) if crops else []
    t3 = time.perf_counter()
    recon = model.reconstruct(rows) if reconstruct and crops else None
    faces = [
        Face(box=b, prediction=p, crop=c, reconstruction=None if recon is None else recon[i])
        for i, (b, p, c) in enumerate(zip(boxes, preds, crops, strict=True))
    ]
    h, w = image.shape[:2]
    timings = {"detect": (t1 - t0) * 1e3, "preprocess": (t2 - t1) * 1e3,
               "classify": (t3 - t2) * 1e3}
    return Analysis(width=w, height=h, faces=faces, timings_ms=timings)


def analyze(image: np.ndarray, model: GenderModel, **kwargs: Any) -> list[Face]:
    """Every face in a BGR image, classified; see :func:`analyze_image`."""
    return analyze_image(image, model, **kwargs).faces
