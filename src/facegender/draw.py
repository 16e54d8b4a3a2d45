"""Draw boxes and labels on an image: pure functions, array in, new array out.

Used by the web result page, the CLI and the video writer, so every picture
of a result looks the same: female faces orange, male faces blue, uncertain
ones dashed-grey-ish (a lighter tint), label "gender 93%" above the box.
"""

from __future__ import annotations

import cv2
import numpy as np

from .types import Face

COLORS_BGR = {"female": (60, 76, 231), "male": (219, 152, 52)}
"""Female red-orange, male blue; chosen to stay distinct for the common colour blindnesses
together with the text label, which always names the gender."""
UNCERTAIN_BGR = (140, 140, 140)


def label_of(face: Face) -> str:
    """The short label drawn on a box, e.g. ``"female 93%"`` or ``"male 61% ?"``."""
    mark = " ?" if face.prediction.uncertain else ""
    return f"{face.gender} {face.confidence:.0%}{mark}"


def draw_faces(image: np.ndarray, faces: list[Face],
               labels: list[str] | None = None) -> np.ndarray:
    """A copy of a BGR image with a coloured box and a label on every face.

    Line width and font size follow the image size, so labels stay legible on
    both a 320 px thumbnail and a 4000 px photo. ``labels`` replaces the
    default :func:`label_of` texts (the video writer adds track numbers).
    """
    out = image.copy()
    if out.ndim == 2:
        out = cv2.cvtColor(out, cv2.COLOR_GRAY2BGR)
    h, w = out.shape[:2]
    thick = max(1, round(max(h, w) / 400))
    scale = max(0.4, max(h, w) / 1200)
    texts = labels if labels is not None else [label_of(f) for f in faces]
    for face, text in zip(faces, texts, strict=True):
        b = face.box
        color = UNCERTAIN_BGR if face.prediction.uncertain else COLORS_BGR[face.gender]
        cv2.rectangle(out, (b.x, b.y), (b.x + b.w - 1, b.y + b.h - 1), color, thick)
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
        ty = b.y - 4 if b.y - th - base - 4 >= 0 else min(h - 1, b.y + b.h + th + 4)
        # a face at the photo's right edge keeps its whole label: moved left, not cut off
        lx = max(0, min(b.x, w - tw - 5))
        cv2.rectangle(out, (lx, ty - th - base), (lx + tw + 4, ty + base // 2), color, -1)
        cv2.putText(out, text, (lx + 2, ty - base // 2), cv2.FONT_HERSHEY_SIMPLEX, scale,
                    (255, 255, 255), thick, cv2.LINE_AA)
    return out


def to_uint8(gray01: np.ndarray) -> np.ndarray:
    """A float image in [0, 1] to ``uint8`` for display."""
    return (np.clip(gray01, 0.0, 1.0) * 255).round().astype(np.uint8)
