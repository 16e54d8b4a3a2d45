"""The face check: does BlazeFace see a face filling this box, and at what angle?

Why a module of its own: every face a later pass of the finder finds, the tiles' faces and
the dlib fallback's boxes must pass it before they get a label (a box on a shirt or a hand
must not be answered "male 97%"), and the first pass's unsure faces are looked at in four
turns by it to learn a turned photo's angle. It was chosen by measurement against the
reconstruction error, the embedding's distance and dlib's HOG score (reports/detection.md).
"""

from __future__ import annotations

from typing import NamedTuple

import cv2
import numpy as np

from .blazeface import BlazeFace
from .passes import TURN_CODES, block_average, eye_angle, unturn

FOUR_TURNS = (0, 90, 270, 180)
"""The face check's turns, in the order it looks at them (degrees clockwise)."""


class Checked(NamedTuple):
    """The face check's answer: its score, the face's angle and its box (x0, y0, x1, y1)."""

    score: float
    angle: float
    box: np.ndarray
    runs: int = 1
    """Network runs the check took (one per turn looked at)."""


def view(image: np.ndarray, cx: float, cy: float, half: float, size: int, side: int,
         shrink: str = "area") -> np.ndarray:
    """The square of half-side ``half`` centred on ``(cx, cy)`` (black outside the image),
    ``side`` pixels wide (``side <= size``, the square's side in the image's pixels).

    ``"area"``: cut at full size, then area-averaged to ``side``. ``"fast"``: the image
    averaged over whole blocks (:func:`.passes.block_average`), then the square cut from
    it at ``side`` by one bilinear warp; the same place to a fraction of a pixel. Why: a
    close-up's face box is most of the photo, so its square (three times the box) was a
    ~900 px crop, mostly black, warped and then area-averaged by a factor that is not
    whole: ~6 ms a check, 3 checks a close-up (reports/detection.md).
    """
    if shrink == "fast" and side < size:
        small, kx, ky = block_average(image, int(size / side))
        s = side / size  # pixel centres: image x = kx * i + (kx - 1) / 2 in ``small``
        m = np.array([[kx * s, 0, (kx / 2 + half - cx) * s - 0.5],
                      [0, ky * s, (ky / 2 + half - cy) * s - 0.5]], dtype=np.float32)
        return cv2.warpAffine(small, m, (side, side), flags=cv2.INTER_LINEAR)
    m = np.array([[1, 0, half - cx], [0, 1, half - cy]], dtype=np.float32)
    crop = cv2.warpAffine(image, m, (size, size))
    return (crop if side == size
            else cv2.resize(crop, (side, side), interpolation=cv2.INTER_AREA))


def check_face(checker: BlazeFace, image: np.ndarray, box: np.ndarray, *, margin: float,
               turns: tuple[int, ...] = FOUR_TURNS, turn_margin: float = 0.0,
               sure: float = 1.0, upright_prior: float = 0.0,
               seen_upright: Checked | None = None, shrink: str = "area") -> Checked:
    """How sure ``checker`` (the full-range model, no score bar) is that a face fills ``box``.

    It looks at the box with ``margin`` box sides of context all round (a square three
    times the box for 1.0, black outside the photo); a view's score is the best of a
    detection holding the box's centre, 0 when none does. ``turns`` are the turns of that
    square it looks at (degrees clockwise): the score is the best view's, and the angle and
    a better placed box come from the upright view unless a turn beats it (or
    ``upright_prior``, what a search already saw upright) by ``turn_margin``. No turn is
    tried once the upright view scores ``sure``. Real faces score 0.82-0.88 (median),
    clothes, hands and textures at most 0.42 (reports/detection.md). ``box`` is
    ``x0, y0, x1, y1`` in ``image``'s pixels. ``seen_upright``: the upright view when it was
    looked at already (this check with ``turns=(0,)``, same box and model), not run again.
    ``shrink``: how the square is brought to the network's input (:func:`view`).
    """
    x0, y0, x1, y1 = (float(v) for v in box)
    half = max(x1 - x0, y1 - y0, 1.0) * (0.5 + margin)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    size = max(1, round(2 * half))
    side = min(size, checker.input_shape[0])
    # cut once at the network's input, then turned: the same pixels as cutting each turn
    crop = view(image, cx, cy, half, size, side, shrink)
    k = size / side
    shift = np.tile(np.array([cx - half, cy - half], np.float32), 2)
    views: dict[int, Checked] = {}
    runs = 0
    for degrees in turns:
        if degrees == 0 and seen_upright is not None:  # looked at already: the same answer
            if seen_upright.score:
                views[0] = seen_upright._replace(runs=1)
            if seen_upright.score >= sure:
                break
            continue
        runs += 1
        found = checker.detect(
            crop if not degrees else cv2.rotate(crop, TURN_CODES[degrees]),
            holding=(side / 2, side / 2))  # a square's centre stays put when turned
        if len(found.scores):  # the best face holding the centre: the only one
            corners = unturn(found.boxes[0].reshape(2, 2), degrees, side, side) * k
            views[degrees] = Checked(
                float(found.scores[0]),
                eye_angle(unturn(found.keypoints[0], degrees, side, side)),
                np.concatenate([corners.min(axis=0), corners.max(axis=0)]) + shift)
        if degrees == 0 and 0 in views and views[0].score >= sure:
            break
    if not views:
        return Checked(0.0, 0.0, np.asarray(box, np.float32), runs)
    score = max(v.score for v in views.values())
    upright = max(views[0].score if 0 in views else 0.0, upright_prior)
    turned = max((v for d, v in views.items() if d), key=lambda v: v.score, default=None)
    if turned is not None and turned.score > upright + turn_margin:
        return turned._replace(score=score, runs=runs)
    if 0 in views:
        return views[0]._replace(score=score, runs=runs)
    return Checked(score, 0.0, np.asarray(box, np.float32), runs)


def screened_check(quick: BlazeFace, checker: BlazeFace, image: np.ndarray, box: np.ndarray,
                   *, margin: float, screen: float, sure: float,
                   turns: tuple[int, ...] = FOUR_TURNS, turn_margin: float = 0.0,
                   upright_prior: float = 0.0, shrink: str = "area") -> Checked:
    """The later passes' face check: the usual one (``checker``), but only for a candidate
    ``quick`` (the full-range model at a smaller input) scores ``screen`` or more in a turn.

    Why: on a photo where the first pass finds nothing, the later passes' checks are most
    of its network runs, and most of them refuse (textures, clothes, full profiles, in four
    turns each); at 128 px a run costs about half a 192 px one. Deciding at 128 px instead
    lost real profiles the usual check keeps (5 of 1,100 IMDB-WIKI photos, reports/
    detection.md), so the small check only refuses, far below its faces' scores; what it
    lets through gets exactly the usual check (same score, box and angle). A candidate a
    search saw upright (``upright_prior`` above 0) is first looked at upright by
    ``checker`` and kept when it scores ``sure`` there, as the usual check keeps it (tight
    portraits: no run more). ``runs`` counts both models' runs.
    """
    first = None
    if upright_prior > 0 and turns[:1] == (0,):
        first = check_face(checker, image, box, margin=margin, turns=(0,), shrink=shrink)
        if first.score >= sure:
            return first
    seen = check_face(quick, image, box, margin=margin, turns=turns, sure=screen,
                      shrink=shrink)
    runs = seen.runs + (first is not None)
    if seen.score < screen:
        return seen._replace(runs=runs)
    usual = check_face(checker, image, box, margin=margin, turns=turns, turn_margin=turn_margin,
                       sure=sure, upright_prior=upright_prior, seen_upright=first,
                       shrink=shrink)
    return usual._replace(runs=runs + usual.runs)
