"""Draw boxes and labels on an image: pure functions, array in, new array out.

Used by the web result page, the CLI and the video writer, so every picture
of a result looks the same: female faces orange, male faces blue, uncertain
ones grey, label "gender 93%" above the box (numbered when a photo has several faces).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from .types import Box, Face

COLORS_BGR = {"female": (60, 76, 231), "male": (219, 152, 52)}
"""Female red-orange, male blue; chosen to stay distinct for the common colour blindnesses
together with the text label, which always names the gender."""
UNCERTAIN_BGR = (140, 140, 140)


def label_of(face: Face) -> str:
    """The short label drawn on a box, e.g. ``"female 93%"`` or ``"male 61% ?"``."""
    mark = " ?" if face.prediction.uncertain else ""
    return f"{face.gender} {face.confidence:.0%}{mark}"


def default_labels(faces: list[Face]) -> list[str]:
    """The labels :func:`draw_faces` writes: :func:`label_of`, numbered ``"#2 male 97%"``
    in the order of the result table's rows and of the API's and the CLI's ``faces`` when
    a photo has more than one face, so a face in the picture can be found in the table."""
    if len(faces) < 2:
        return [label_of(f) for f in faces]
    return [f"#{i} {label_of(f)}" for i, f in enumerate(faces, 1)]


def draw_faces(image: np.ndarray, faces: list[Face],
               labels: list[str] | None = None) -> np.ndarray:
    """A copy of a BGR image with a coloured box and a label on every face.

    Line width and font size follow the image size (:func:`text_style`). ``labels`` replaces the
    default texts (:func:`default_labels`; the video writer's name tracks). Every box
    is drawn before any label, and labels are placed by :func:`place_labels`.
    """
    out = image.copy()
    if out.ndim == 2:
        out = cv2.cvtColor(out, cv2.COLOR_GRAY2BGR)
    h, w = out.shape[:2]
    scale, thick = text_style(w, h)
    texts = labels if labels is not None else default_labels(faces)
    colors = [UNCERTAIN_BGR if f.prediction.uncertain else COLORS_BGR[f.gender] for f in faces]
    for face, color in zip(faces, colors, strict=True):
        b = face.box
        cv2.rectangle(out, (b.x, b.y), (b.x + b.w - 1, b.y + b.h - 1), color, thick)
    sizes = [cv2.getTextSize(t, cv2.FONT_HERSHEY_SIMPLEX, scale, thick) for t in texts]
    spots = place_labels([f.box for f in faces], [label_extent(z) for z in sizes], w, h)
    for text, color, ((tw, th), base), (x, y) in zip(texts, colors, sizes, spots, strict=True):
        cv2.rectangle(out, (x, y), (x + tw + 4, y + th + base + base // 2), color, -1)
        cv2.putText(out, text, (x + 2, y + th + base - base // 2), cv2.FONT_HERSHEY_SIMPLEX,
                    scale, (255, 255, 255), thick, cv2.LINE_AA)
    return out


def label_extent(text_size: tuple[Sequence[int], int]) -> tuple[int, int]:
    """Width and height in pixels of the filled label :func:`draw_faces` draws for a text of
    ``cv2.getTextSize`` ``((width, height), baseline)``."""
    (tw, th), base = text_size
    return tw + 5, th + base + base // 2 + 1


def text_style(w: int, h: int) -> tuple[float, int]:
    """Font scale and line width for a ``w`` x ``h`` image: they follow its size, so labels
    stay legible on a 320 px thumbnail and on a 4000 px photo."""
    return max(0.4, max(h, w) / 1200), max(1, round(max(h, w) / 400))


def place_labels(boxes: list[Box], sizes: list[tuple[int, int]], w: int, h: int
                 ) -> list[tuple[int, int]]:
    """Top-left corner of each box's label of ``(width, height)`` in a ``w`` x ``h`` image.

    Above its box, else below it, else inside it at its top or bottom edge, each from the
    box's left edge or ending at its right one (and moved in at the photo's edges): of those
    that fit in the image, the first covering the least of the labels placed before it, then
    of the faces' boxes. Why: on a crowded group photo the label above a face fell on its
    neighbour's label or face (bald_guys.jpg: 24 faces, one label wholly hidden); a label
    that keeps to its box's left or right edge, and its number, still show whose it is.
    """
    faces = np.array([(b.x, b.y, b.x + b.w, b.y + b.h) for b in boxes], np.int64).reshape(-1, 4)
    placed = np.empty((0, 4), np.int64)
    out: list[tuple[int, int]] = []
    for b, (lw, lh) in zip(boxes, sizes, strict=True):
        xs = dict.fromkeys(max(0, min(x, w - lw)) for x in (b.x, b.x + b.w - lw))
        ys = [y for y in (b.y - 2 - lh, b.y + b.h + 2) if 0 <= y <= h - lh]
        inside = [max(0, min(y, h - lh)) for y in (b.y + 2, b.y + b.h - 2 - lh)]
        spots = np.array([(x, y, x + lw, y + lh) for y in [*ys, *inside] for x in xs])
        # the first of the least covering: labels first, then faces (lexsort is stable)
        best = spots[np.lexsort((_overlaps(spots, faces), _overlaps(spots, placed)))[0]]
        placed = np.vstack([placed, best])
        out.append((int(best[0]), int(best[1])))
    return out


def _overlaps(rects: np.ndarray, others: np.ndarray) -> np.ndarray:
    """For each rectangle of ``rects`` ``(n, 4)``, the area it shares with all of ``others``
    ``(m, 4)`` together (``x0, y0, x1, y1``, ends exclusive; overlaps counted once each)."""
    dx = np.minimum(rects[:, None, 2], others[None, :, 2]) - np.maximum(rects[:, None, 0],
                                                                        others[None, :, 0])
    dy = np.minimum(rects[:, None, 3], others[None, :, 3]) - np.maximum(rects[:, None, 1],
                                                                        others[None, :, 1])
    return (np.clip(dx, 0, None) * np.clip(dy, 0, None)).sum(axis=1)


def to_uint8(gray01: np.ndarray) -> np.ndarray:
    """A float image in [0, 1] to ``uint8`` for display."""
    return (np.clip(gray01, 0.0, 1.0) * 255).round().astype(np.uint8)
