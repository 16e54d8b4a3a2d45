"""The default face finder: BlazeFace passes from cheap to costly, stopping at the first hit.

Most photos are answered by the first pass (the full-range model on a copy
whose longer side is 320 px, ~5 ms on one core). Only when it finds nothing
do the later passes run: the same model with a border (faces that fill the
frame), on the copy turned by 90, 270 and 180 degrees (phone photos without
their orientation tag), then the short-range model (selfies). When the faces
found are small for the photo (a group, a scene), overlapping tiles of a
larger copy are searched as well, with a stricter score, for faces too small
for the whole-photo pass. dlib's chain (:mod:`.dlib_chain`) is a setting, off
by default: it is 10-100x slower and where it finds what BlazeFace missed it
also finds clothes and hands.

Boxes are mapped to the shape dlib's boxes have (same centre, 0.94x the
side), because dlib's 5-point landmark model, which aligns every face for
both classifiers, was trained on dlib's boxes. A face found turned carries its
in-plane angle (from BlazeFace's eye keypoints) in :attr:`Box.angle`, so the
aligner can turn it upright before it looks for landmarks.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

import cv2
import numpy as np

from ..errors import BadRequest
from ..types import Box
from .blazeface import BlazeFace, Found, nothing, weighted_nms

ROTATIONS = ((cv2.ROTATE_90_CLOCKWISE, 90), (cv2.ROTATE_90_COUNTERCLOCKWISE, 270),
             (cv2.ROTATE_180, 180))
"""Turned copies tried in order when the upright passes find nothing (code, degrees)."""
TURN_CODES = {degrees: code for code, degrees in ROTATIONS}


class Checked(NamedTuple):
    """The face check's answer: its score, the face's angle and its box (x0, y0, x1, y1)."""

    score: float
    angle: float
    box: np.ndarray


@dataclass(frozen=True)
class FinderSettings:
    """Settings of :class:`FaceFinder` (measured in reports/detection.md)."""

    kind: str = "blazeface"
    """Recorded in manifests so :func:`detector_for` can rebuild this detector."""
    work_size: int = 320
    """Longer side of the searched copy: the network sees 192 px anyway, so more costs
    resizing only; smaller photos are not enlarged."""
    min_score: float = 0.5
    """BlazeFace score a face needs (MediaPipe's own: 0.5 short range, 0.6 full range;
    0.6 lost a group face, a scene face and 3% of the IMDB-WIKI photos)."""
    edge_pad: float = 0.25
    """Border of a second search on photos where the first found ``edge_min_faces`` or more
    (groups, scenes): faces cut by the frame's edge need context the photo does not have.
    Its new faces must pass the face check. 0 = off."""
    edge_min_faces: int = 2
    edge_min_score: float = 0.5
    min_inside: float = 0.4
    """Share of a face's box that must be inside the photo for it to count (0.5 lost a
    face cut by the edge of a selfie)."""
    tight_pad: float = 0.25
    """Border, as a fraction of the longer side, of the second pass for faces filling the
    frame (UTKFace's chips: 12% found without, 98% with); 0 = off."""
    rotations: bool = True
    """Search copies turned by 90, 270 and 180 degrees when nothing upright is found."""
    short_range: bool = True
    """The short-range model last: large faces and selfies the other passes missed."""
    small_face_size: int = 640
    """Longer side of the copy whose overlapping tiles are searched when the largest face
    found is under ``small_face_ratio`` of the photo's shorter side; 0 = off."""
    small_face_ratio: float = 0.25
    small_face_min_score: float = 0.5
    """Score a face from the tiles needs; it must also pass the face check (at 0.5 without
    the check tiles boxed dogs and galaxies; at 0.7 they missed a pianist in the clip)."""
    box_scale: float = 0.93
    """dlib's box side over BlazeFace's for the same face: the median over the 316 of 400
    IMDB-WIKI photos where both find one face (benchmarks/box_mapping.py)."""
    box_shift: float = 0.01
    """dlib's box centre minus BlazeFace's, downwards, as a fraction of the side (same fit)."""
    min_angle: float = 20.0
    """Turned faces (eye line tilted by at least this many degrees) carry their angle so
    the aligner turns them upright; smaller tilts dlib's landmarks handle by themselves."""
    orient_below: float = 0.65
    """A first-pass best face scoring under this is checked in four turns: 83-97% of the faces
    the upright pass finds on turned IMDB-WIKI photos score under 0.65, 19% of upright ones."""
    turn_margin: float = 0.15
    """How much better a turned view of a face must score in the face check than the upright
    one before it is taken as turned: profiles score nearly as well turned as upright. On
    300 IMDB-WIKI photos and 80 of each turn: 0.1 turned 0.3% of the upright faces the
    wrong way, 0.15 none (and 84-91% of the turned ones right), 0.2 fewer turned right."""
    check_score: float = 0.55
    """The face check's score (:meth:`FaceFinder.check`) a face needs when only a later
    pass, the border pass or dlib found it. On 50 false boxes (clothes, hands, coins, dogs,
    textures; all 6 the dlib chain makes) and 649 real faces of IMDB-WIKI, UTKFace and the
    detection photos, false ones scored at most 0.42 and 2 real faces under 0.5; in its
    four turns a coin scored 0.51, so 0.55 (no IMDB-WIKI or UTKFace face lost by it)."""
    sure_score: float = 0.75
    """A later pass's face whose upright check scores this much is taken as upright without
    looking at its turns (three more network runs)."""
    check_margin: float = 1.0
    """Context around the box the face check sees, in box sides on each side."""
    runtime: str = "litert"
    """``"litert"`` (Google's TFLite runtime) or ``"opencv"`` (cv2.dnn): same boxes, LiteRT
    about 2x faster."""
    dlib_fallback: bool = False
    """When every pass finds nothing, ask dlib's HOG/Haar/CNN chain (slow; off)."""

    def validate(self) -> FinderSettings:
        """Raise :class:`BadRequest` naming the bad value and the allowed range."""
        checks = [
            (self.kind == "blazeface", "kind", "'blazeface'", self.kind),
            (64 <= self.work_size <= 4096, "work_size", "64..4096", self.work_size),
            (0.05 <= self.min_score <= 1.0, "min_score", "0.05..1", self.min_score),
            (0.0 <= self.tight_pad <= 1.0, "tight_pad", "0..1", self.tight_pad),
            (self.small_face_size == 0 or self.work_size < self.small_face_size <= 4096,
             "small_face_size", "0 (off) or work_size..4096", self.small_face_size),
            (0.0 < self.small_face_ratio <= 1.0, "small_face_ratio", "0..1",
             self.small_face_ratio),
            (0.05 <= self.small_face_min_score <= 1.0, "small_face_min_score", "0.05..1",
             self.small_face_min_score),
            (0.5 <= self.box_scale <= 1.5, "box_scale", "0.5..1.5", self.box_scale),
            (-0.5 <= self.box_shift <= 0.5, "box_shift", "-0.5..0.5", self.box_shift),
            (0.0 <= self.min_angle <= 180.0, "min_angle", "0..180", self.min_angle),
            (1 <= self.edge_min_faces <= 1000, "edge_min_faces", "1..1000", self.edge_min_faces),
            (0.05 <= self.edge_min_score <= 1.0, "edge_min_score", "0.05..1",
             self.edge_min_score),
            (0.1 <= self.min_inside <= 1.0, "min_inside", "0.1..1", self.min_inside),
            (0.0 <= self.edge_pad <= 1.0, "edge_pad", "0..1", self.edge_pad),
            (0.05 <= self.check_score <= 1.0, "check_score", "0.05..1", self.check_score),
            (0.0 <= self.check_margin <= 3.0, "check_margin", "0..3", self.check_margin),
            (0.0 <= self.sure_score <= 1.0, "sure_score", "0..1", self.sure_score),
            (0.0 <= self.orient_below <= 1.0, "orient_below", "0..1", self.orient_below),
            (0.0 <= self.turn_margin <= 1.0, "turn_margin", "0..1", self.turn_margin),
            (self.runtime in ("litert", "opencv"), "runtime", "'litert' or 'opencv'",
             self.runtime),
        ]
        for ok, name, allowed, value in checks:
            if not ok:
                raise BadRequest(f"{name}={value!r} is out of range; allowed {allowed}")
        return self

    def to_manifest(self) -> dict[str, Any]:
        """The settings as a manifest records them."""
        return asdict(self)


class FaceFinder:
    """Faces in a BGR image as :class:`Box` es, largest first; thread-safe.

    Same ``detect(image, min_face_size=None) -> list[Box]`` interface as the
    Haar and dlib detectors, plus :meth:`find`, which also returns scores and
    keypoints.
    """

    def __init__(self, settings: FinderSettings | None = None) -> None:
        self.settings = (settings or FinderSettings()).validate()
        s = self.settings
        runtime: Any = s.runtime
        self._full = BlazeFace("full", runtime, s.min_score)
        self._short = BlazeFace("short", runtime, s.min_score)
        self._tiles = BlazeFace("full", runtime, s.small_face_min_score)
        self._checker = BlazeFace("full", runtime, 0.01)
        self._edges = BlazeFace("full", runtime, s.edge_min_score)

    def detect(self, image: np.ndarray, min_face_size: int | None = None) -> list[Box]:
        """Every face as a dlib-shaped box in original pixels, clipped, largest first.

        Parameters
        ----------
        image : ndarray (H, W, 3) BGR, (H, W, 4) BGRA or (H, W) gray, uint8
        min_face_size : int, optional
            Drop faces smaller than this many original pixels.
        """
        if image.ndim not in (2, 3) or image.size == 0:
            raise BadRequest(f"expected a non-empty (H, W[, C]) image, got shape {image.shape}")
        found, angles = self.find(image)
        h, w = image.shape[:2]
        boxes = []
        for (x0, y0, x1, y1), angle in zip(found.boxes, angles, strict=True):
            box = _dlib_shaped(x0, y0, x1, y1, self.settings, w, h, angle)
            if box is not None and not (min_face_size and max(box.w, box.h) < min_face_size):
                boxes.append(box)
        boxes.sort(key=lambda b: b.area, reverse=True)
        if not boxes and self.settings.dlib_fallback:
            boxes = self._dlib(image, min_face_size)
        return boxes

    def _dlib(self, image: np.ndarray, min_face_size: int | None) -> list[Box]:
        """dlib's chain's faces that pass the face check (its Haar step boxes hands and shirts)."""
        from .dlib_chain import dlib_detector

        work, factor = _work_copy(image, self.settings.work_size)
        kept = []
        for b in dlib_detector().detect(image, min_face_size=min_face_size):
            box = np.array([b.x, b.y, b.x + b.w, b.y + b.h], np.float32) * factor
            checked = self.check(work, box)
            if checked.score >= self.settings.check_score:
                kept.append(Box(b.x, b.y, b.w, b.h,
                                _wrap(checked.angle, self.settings.min_angle)))
        return kept

    def find(self, image: np.ndarray) -> tuple[Found, list[float]]:
        """Raw detections in original pixels (BlazeFace's square boxes) and each face's angle.

        The angle is the eye line's direction in degrees (clockwise as seen, 0 upright,
        180 upside down), 0 when the tilt is under ``min_angle``.
        """
        s = self.settings
        work, factor = _work_copy(image, s.work_size)
        found = _search(self._full, work, 0.0, 0)
        if s.edge_pad and len(found.scores) >= s.edge_min_faces:
            found = _merge(found, self._checked(work, _search(self._edges, work, s.edge_pad, 0),
                                                unlike=found))
        if len(found.scores):
            if s.small_face_size and _small(found, work, s.small_face_ratio):
                found = self._with_tiles(image, found, factor)
            found, angles = self._turned(work, found)
        else:
            found, angles = self._fallback(work)
        return Found(found.boxes / factor, found.keypoints / factor, found.scores), angles

    def _checked(self, work: np.ndarray, found: Found, unlike: Found) -> Found:
        """The faces of ``found`` that pass the face check, leaving out those in ``unlike``."""
        keep = [i for i, box in enumerate(found.boxes)
                if all(_iou(box, o) < 0.3 for o in unlike.boxes)
                and self.check(work, box, turns=(0,)).score >= self.settings.check_score]
        return Found(found.boxes[keep], found.keypoints[keep], found.scores[keep])

    def _turned(self, work: np.ndarray, found: Found) -> tuple[Found, list[float]]:
        """The first pass's faces and their angles, turned as the photo is turned.

        On a photo turned by 90 or 180 degrees the upright pass still finds many faces,
        with a low score, keypoints placed as if upright (or half turned) and a box
        shifted along the face. So when the best face scores under ``orient_below`` or
        its eyes say it lies on its side, it is looked at in four turns; when a turn
        wins, the photo is taken as turned and every face is looked at again in that
        turn, for its box and its angle.
        """
        s = self.settings
        angles = [_angle(k, 0.0) for k in found.keypoints]
        if found.scores[0] >= s.orient_below and abs(angles[0]) < 45:
            return found, [_wrap(a, s.min_angle) for a in angles]
        best = self.check(work, found.boxes[0], turn_margin=s.turn_margin)
        turn = 90 * round(((best.angle - angles[0] + 180) % 360 - 180) / 90) if best.score else 0
        boxes = found.boxes.copy()
        if best.score:
            boxes[0], angles[0] = best.box, best.angle - turn
        if not turn:
            return (Found(boxes, found.keypoints, found.scores),
                    [_wrap(a, s.min_angle) for a in angles])
        for i, box in enumerate(found.boxes):
            checked = best if i == 0 else self.check(
                work, box, turns=(int(-90 * round((angles[i] + turn) / 90)) % 360,))
            if checked.score:
                boxes[i], angles[i] = checked.box, checked.angle
            else:
                angles[i] += turn
        return (Found(boxes, found.keypoints, found.scores),
                [_wrap(a, s.min_angle) for a in angles])

    def _fallback(self, work: np.ndarray) -> tuple[Found, list[float]]:
        """The later passes, when the first finds nothing: each face they find is checked.

        A face found only with a border, by the short-range model or on a turned copy
        gets the face check in its four turns: the best turn gives its angle (the
        keypoints alone point the wrong way on most turned faces) and a score it
        must reach, which keeps textures, coins and animals out.
        """
        s = self.settings
        passes: list[tuple[BlazeFace, float, int]] = []
        if s.tight_pad:
            passes.append((self._full, s.tight_pad, 0))
        if s.short_range:
            passes.append((self._short, 0.0, 0))
        if s.rotations:
            passes += [(self._full, s.tight_pad, deg) for _, deg in ROTATIONS]
        for model, pad, degrees in passes:
            found = _search(model, work, pad, degrees)
            keep, angles = [], []
            for i, box in enumerate(found.boxes):
                # what the full-range model saw upright counts for upright (profiles look
                # nearly as much like a face turned); the short-range model's does not
                # (it takes upside-down faces for upright ones)
                prior = float(found.scores[i]) if model is self._full and not degrees else 0.0
                checked = self.check(work, box, turn_margin=s.turn_margin, sure=s.sure_score,
                                     upright_prior=prior)
                if checked.score >= s.check_score:
                    keep.append(i)
                    found.boxes[i] = checked.box
                    angles.append(_wrap(checked.angle, s.min_angle))
            if keep:
                return Found(found.boxes[keep], found.keypoints[keep], found.scores[keep]), angles
        return nothing(), []

    def check(self, image: np.ndarray, box: np.ndarray, *,
              turns: tuple[int, ...] = (0, 90, 270, 180), turn_margin: float = 0.0,
              sure: float = 1.0, upright_prior: float = 0.0) -> Checked:
        """The face check: how sure BlazeFace is that a face fills ``box``, and its angle.

        The full-range model looks at the box with its side of context all round (a
        square three times the box, black outside the photo); a view's score is the
        best of a detection holding the box's centre, 0 when none does. ``turns`` are
        the turns of that square it looks at (degrees clockwise): the score is the best
        view's, and the angle and a better placed box come from the upright view unless
        a turn beats it (or ``upright_prior``, what a search already saw upright) by
        ``turn_margin``. No turn is tried once the upright view scores ``sure``.
        Real faces score 0.82-0.88 (median), clothes, hands and textures at most 0.42
        (reports/detection.md). ``box`` is ``x0, y0, x1, y1`` in ``image``'s pixels.
        """
        x0, y0, x1, y1 = (float(v) for v in box)
        half = max(x1 - x0, y1 - y0, 1.0) * (0.5 + self.settings.check_margin)
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        m = np.array([[1, 0, half - cx], [0, 1, half - cy]], dtype=np.float32)
        size = max(1, round(2 * half))
        crop = cv2.warpAffine(image, m, (size, size))
        shift = np.tile(np.array([cx - half, cy - half], np.float32), 2)
        views: dict[int, Checked] = {}
        for degrees in turns:
            found = self._checker.detect(crop if not degrees else
                                         cv2.rotate(crop, TURN_CODES[degrees]))
            c = size / 2
            holds = ((found.boxes[:, 0] <= c) & (c <= found.boxes[:, 2])
                     & (found.boxes[:, 1] <= c) & (c <= found.boxes[:, 3]))
            if holds.any():
                i = int(np.argmax(np.where(holds, found.scores, -1.0)))
                corners = _unturn(found.boxes[i].reshape(2, 2), degrees, size, size)
                views[degrees] = Checked(
                    float(found.scores[i]),
                    _angle(_unturn(found.keypoints[i], degrees, size, size), 0.0),
                    np.concatenate([corners.min(axis=0), corners.max(axis=0)]) + shift)
            if degrees == 0 and 0 in views and views[0].score >= sure:
                break
        if not views:
            return Checked(0.0, 0.0, np.asarray(box, np.float32))
        score = max(v.score for v in views.values())
        upright = max(views[0].score if 0 in views else 0.0, upright_prior)
        turned = max((v for d, v in views.items() if d), key=lambda v: v.score, default=None)
        if turned is not None and turned.score > upright + turn_margin:
            return turned._replace(score=score)
        if 0 in views:
            return views[0]._replace(score=score)
        return Checked(score, 0.0, np.asarray(box, np.float32))

    def _with_tiles(self, image: np.ndarray, found: Found, factor: float) -> Found:
        """Add faces from overlapping tiles of a larger copy (in ``factor``'s pixels).

        A face only the tiles find must pass the face check, on the larger copy: at
        the tiles' score bar alone they box dogs and galaxies.
        """
        big, big_factor = _work_copy(image, self.settings.small_face_size)
        tile = self.settings.work_size
        k = factor / big_factor
        parts = []
        for x, y in _tiles(big.shape[1], big.shape[0], tile):
            t = self._tiles.detect(big[y:y + tile, x:x + tile])
            shift = np.array([x, y], np.float32)
            parts.append(Found(t.boxes + np.tile(shift, 2), t.keypoints + shift, t.scores))
        tiled = _nms(*parts)
        known = Found(found.boxes / k, found.keypoints / k, found.scores)
        new = self._checked(big, tiled, unlike=known)
        return _merge(found, Found(new.boxes * k, new.keypoints * k, new.scores))

def _iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two ``x0, y0, x1, y1`` boxes."""
    iw = max(0.0, float(min(a[2], b[2]) - max(a[0], b[0])))
    ih = max(0.0, float(min(a[3], b[3]) - max(a[1], b[1])))
    inter = iw * ih
    union = float((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1])) - inter
    return inter / union if union > 0 else 0.0


def _merge(a: Found, b: Found) -> Found:
    """Two searches' faces as one list: overlapping ones blended, best score first."""
    if not len(b.scores):
        return a
    if not len(a.scores):
        return b
    return _nms(a, b)


def _nms(*parts: Found) -> Found:
    """Several searches' faces blended where they overlap, best score first."""
    boxes, keypoints, scores = (np.concatenate(p) for p in zip(*parts, strict=True))
    merged = weighted_nms(boxes, keypoints, scores)
    order = np.argsort(-merged[2], kind="stable")
    return Found(merged[0][order], merged[1][order], merged[2][order])


def _work_copy(image: np.ndarray, size: int) -> tuple[np.ndarray, float]:
    """A BGR copy whose longer side is at most ``size`` (never enlarged) and its scale."""
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    elif image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    h, w = image.shape[:2]
    f = min(1.0, size / max(h, w))
    if f == 1.0:
        return image, 1.0
    return cv2.resize(image, (max(1, round(w * f)), max(1, round(h * f))),
                      interpolation=cv2.INTER_AREA), f


def _search(model: BlazeFace, work: np.ndarray, pad: float, degrees: int) -> Found:
    """One pass on the work copy, turned by ``degrees`` first; results in its pixels."""
    if not degrees:
        return model.detect(work, pad)
    found = model.detect(cv2.rotate(work, TURN_CODES[degrees]), pad)
    h, w = work.shape[:2]
    corners = _unturn(found.boxes.reshape(-1, 2, 2), degrees, w, h)
    boxes = np.concatenate([corners.min(axis=1), corners.max(axis=1)], axis=1)
    return Found(boxes.astype(np.float32), _unturn(found.keypoints, degrees, w, h), found.scores)


def _unturn(points: np.ndarray, degrees: int, w: int, h: int) -> np.ndarray:
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


def _small(found: Found, work: np.ndarray, ratio: float) -> bool:
    """Whether the largest face found is small for the photo (a group or a scene)."""
    sides = np.maximum(found.boxes[:, 2] - found.boxes[:, 0], found.boxes[:, 3] - found.boxes[:, 1])
    return float(sides.max()) < ratio * min(work.shape[:2])


def _tiles(w: int, h: int, tile: int) -> list[tuple[int, int]]:
    """Top-left corners of ``tile``-sided windows covering w x h with about half overlap."""

    def starts(n: int) -> list[int]:
        if n <= tile:
            return [0]
        k = int(np.ceil((n - tile) / (tile / 2))) + 1
        return sorted({round(i * (n - tile) / (k - 1)) for i in range(k)})

    return [(x, y) for y in starts(h) for x in starts(w)]


def _angle(keypoints: np.ndarray, min_angle: float) -> float:
    """The eye line's direction in degrees (0 upright, clockwise as seen); 0 under ``min_angle``.

    BlazeFace's first keypoint is the subject's right eye, seen on the left of an
    upright face, so the line from it to the other eye points right when upright.
    """
    dx, dy = keypoints[1] - keypoints[0]
    angle = float(np.degrees(np.arctan2(dy, dx)))
    return round(angle, 1) if abs(angle) >= min_angle else 0.0


def _wrap(angle: float, min_angle: float) -> float:
    """An angle in (-180, 180], rounded to 0.1; 0 when under ``min_angle``."""
    angle = (angle + 180.0) % 360.0 - 180.0
    angle = 180.0 if angle == -180.0 else angle
    return round(angle, 1) if abs(angle) >= min_angle else 0.0


def _dlib_shaped(x0: float, y0: float, x1: float, y1: float, s: FinderSettings,
                 width: int, height: int, angle: float) -> Box | None:
    """BlazeFace's square box as dlib's box of the same face, clipped to the image.

    None when less than half of it is inside (a face mostly out of the frame has no
    landmarks to align).
    """
    side = max(x1 - x0, y1 - y0) * s.box_scale
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2 + s.box_shift * side
    bx0, by0, bx1, by1 = cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2
    ix0, iy0 = max(0.0, bx0), max(0.0, by0)
    ix1, iy1 = min(float(width), bx1), min(float(height), by1)
    if ix1 - ix0 < 1 or iy1 - iy0 < 1 or (ix1 - ix0) * (iy1 - iy0) < s.min_inside * side * side:
        return None
    x, y = int(round(ix0)), int(round(iy0))
    return Box(x, y, max(1, min(width - x, int(round(ix1 - ix0)))),
               max(1, min(height - y, int(round(iy1 - iy0)))), angle)


_lock = threading.Lock()
_finders: dict[FinderSettings, FaceFinder] = {}


def face_finder(settings: FinderSettings | None = None) -> FaceFinder:
    """A process-wide :class:`FaceFinder` per settings, built on first use."""
    key = settings or FinderSettings()
    with _lock:
        if key not in _finders:
            _finders[key] = FaceFinder(key)
        return _finders[key]
