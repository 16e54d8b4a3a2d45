"""Typed value objects passed between the stages.

Coordinate convention, everywhere in facegender: a box is ``(x, y, w, h)`` in
pixels of the original image, ``x`` to the right and ``y`` down from the
top-left corner, ``w`` and ``h`` positive, the box fully inside the image.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

GENDERS: tuple[str, str] = ("female", "male")
"""Class order of every probability vector: index 0 female, 1 male."""


@dataclass(frozen=True)
class Box:
    """A face rectangle ``(x, y, w, h)`` in original-image pixels."""

    x: int
    y: int
    w: int
    h: int
    angle: float = 0.0
    """In-plane turn of the face inside the box: its eye line's direction in degrees,
    0 upright, positive when turned clockwise as seen, 180 upside down. Set by detectors
    that know it, so alignment turns the face upright before looking for its landmarks.
    Not part of :meth:`to_dict`: the API's box stays ``x, y, w, h``."""
    doubtful: bool = False
    """The finder's face check did not see a face here (a weak first-pass face the check
    scored low in every turn: a jersey's number, a logo, a hand); its answer is never sure.
    Not part of :meth:`to_dict` (the answer's ``uncertain_below`` says it)."""

    @property
    def area(self) -> int:
        return self.w * self.h

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (self.x, self.y, self.w, self.h)

    def iou(self, other: Box) -> float:
        """Intersection over union, 0 for disjoint boxes."""
        x1, y1 = max(self.x, other.x), max(self.y, other.y)
        x2 = min(self.x + self.w, other.x + other.w)
        y2 = min(self.y + self.h, other.y + other.h)
        inter = max(0, x2 - x1) * max(0, y2 - y1)
        union = self.area + other.area - inter
        return inter / union if union else 0.0

    def to_dict(self) -> dict[str, int]:
        return {"x": self.x, "y": self.y, "w": self.w, "h": self.h}

    @staticmethod
    def clip(x0: float, y0: float, x1: float, y1: float, width: int, height: int,
             min_inside: float = 0.5, angle: float = 0.0) -> Box | None:
        """The part of the box ``x0, y0, x1, y1`` inside a ``width`` x ``height`` image.

        None when under ``min_inside`` of its area is inside (a face mostly out of the
        frame has too little to classify) or less than a pixel is; every detector maps
        its boxes back to the photo through this one rounding.
        """
        cx0, cy0 = max(0.0, x0), max(0.0, y0)
        cx1, cy1 = min(float(width), x1), min(float(height), y1)
        if (cx1 - cx0 < 1 or cy1 - cy0 < 1
                or (cx1 - cx0) * (cy1 - cy0) < min_inside * (x1 - x0) * (y1 - y0)):
            return None
        bx, by = int(round(cx0)), int(round(cy0))
        return Box(bx, by, max(1, min(width - bx, int(round(cx1 - cx0)))),
                   max(1, min(height - by, int(round(cy1 - cy0)))), angle)


NEVER_SURE = 1.01
"""An ``uncertain_below`` no confidence reaches: the answer is always marked uncertain."""


@dataclass(frozen=True)
class Prediction:
    """The classifier's answer for one face crop."""

    gender: str
    p_female: float
    p_male: float
    uncertain: bool
    threshold: float | None = None
    """The confidence this face needed to be sure (its age group's, or the small faces'),
    where the model sets one per face; above 1: never sure. In the API as ``uncertain_below``."""

    @property
    def confidence(self) -> float:
        """Probability of the predicted class, in [0.5, 1]."""
        return max(self.p_female, self.p_male)

    def to_dict(self) -> dict[str, Any]:
        return {
            "gender": self.gender,
            "confidence": round(self.confidence, 4),
            "probabilities": {"female": round(self.p_female, 4), "male": round(self.p_male, 4)},
            "uncertain": self.uncertain,
            **({} if self.threshold is None else {"uncertain_below": round(self.threshold, 4)}),
        }


class Predicted:
    """``gender`` and ``confidence`` read from a ``prediction``: faces and tracks alike.

    A face stores its prediction, a track works it out from its frames; the
    declaration exists for type checkers only, so it leaves a dataclass field of
    the same name alone at run time.
    """

    if TYPE_CHECKING:
        @property
        def prediction(self) -> Prediction: ...

    @property
    def gender(self) -> str:
        return self.prediction.gender

    @property
    def confidence(self) -> float:
        return self.prediction.confidence


@dataclass(frozen=True)
class Face(Predicted):
    """One detected and classified face.

    ``crop`` is the face as the eigen-face pipeline reads it, a ``(100, 100)`` float
    array in [0, 1] (None when nothing asked for it: an embedding model answers without
    it), and ``reconstruction`` its eigen-face reconstruction (same shape) when asked;
    both stay out of ``to_dict``.
    """

    box: Box
    prediction: Prediction
    crop: np.ndarray | None = field(default=None, repr=False, compare=False)
    reconstruction: np.ndarray | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {"box": self.box.to_dict(), **self.prediction.to_dict()}
