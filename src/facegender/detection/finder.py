"""The default face finder: BlazeFace passes from cheap to costly, stopping at the first hit.

Most photos are answered by the first pass (the full-range model on a copy
whose longer side is 320 px, ~5 ms on one core). Only when it finds nothing
do the later passes run: the same model with a border (faces that fill the
frame; its weak candidates too, for faces turned to the side), then the
short-range model (selfies), then the full-range model on the copy turned by
90, 270 and 180 degrees (phone photos without their orientation tag): see
:mod:`.later_passes`. When the faces
found are small for the photo (a group, a scene), a larger copy is searched as well
(in one run of the model resized to it, :mod:`.tflite_graph`), for faces too small for
the whole-photo pass.
Every face a later pass or the small-face search finds must pass the face check
(:meth:`FaceFinder.check`) unless it scores ``trust_score`` (a later pass's candidate only
after a cheaper look at 128 px, :func:`.face_check.screened_check`), and the later passes
stop after ``max_runs`` network runs. dlib's chain (:mod:`.dlib_chain`) is a setting, off
by default: it is 10-100x slower and where it finds what BlazeFace missed it
also finds clothes and hands.

Boxes are mapped to the shape dlib's boxes have (0.93x the side, centred 0.01 of
a side lower), because dlib's 5-point landmark model, which aligns every face for
both classifiers, was trained on dlib's boxes. A face found turned carries its
in-plane angle (from BlazeFace's eye keypoints) in :attr:`Box.angle`, so the
aligner can turn it upright before it looks for landmarks.
"""

from __future__ import annotations

import functools
from dataclasses import replace
from typing import Any

import numpy as np

from ..errors import BadRequest
from ..threads import cap
from ..types import Box
from .blazeface import BlazeFace, Found
from .centerface import CenterFace
from .dlib_chain import dlib_detector
from .face_check import FOUR_TURNS, Checked, check_face, screened_check
from .finder_settings import FinderSettings
from .later_passes import later_passes
from .passes import (
    box_iou,
    dlib_shaped,
    eye_angle,
    faces_are_small,
    merge_found,
    search_pass,
    work_copy,
    wrap_angle,
)
from .small_faces import SmallFaceSearch
from .tflite_graph import NATIVE


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
        self._checker = BlazeFace("full", runtime, 0.01)
        self._quick = (None if s.later_check_size == NATIVE else
                       BlazeFace("full", runtime, 0.01, input_shape=(s.later_check_size,) * 2))
        self._edges = BlazeFace("full", runtime, s.edge_min_score)
        self._small = SmallFaceSearch(s, runtime)
        self._second = (CenterFace(s.second_score, s.second_box_scale, s.second_box_shift,
                                   threads=cap()) if s.second_model else None)

    def warm_up(self) -> None:
        """Load this thread's interpreters of every pass now (see :func:`..analyze.warm_up`)."""
        for model in (self._full, self._short, self._checker, self._edges, self._quick):
            if model is not None:
                model.warm_up()
        self._small.warm_up()
        if self._second is not None:
            self._second.warm_up()

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
        found, angles, doubts = self._find(image)
        h, w = image.shape[:2]
        boxes = []
        for (x0, y0, x1, y1), angle, doubt in zip(found.boxes, angles, doubts, strict=True):
            box = dlib_shaped(x0, y0, x1, y1, self.settings, w, h, angle)
            if box is not None and not (min_face_size and max(box.w, box.h) < min_face_size):
                boxes.append(replace(box, doubtful=True) if doubt else box)
        boxes.sort(key=lambda b: b.area, reverse=True)
        if not boxes and self.settings.dlib_fallback:
            boxes = self._dlib(image, min_face_size)
        return boxes

    def _dlib(self, image: np.ndarray, min_face_size: int | None) -> list[Box]:
        """dlib's chain's faces that pass the face check (its Haar step boxes hands and shirts)."""
        work, factor = work_copy(image, self.settings.work_size, self.settings.shrink)
        kept = []
        for b in dlib_detector().detect(image, min_face_size=min_face_size):
            box = np.array([b.x, b.y, b.x + b.w, b.y + b.h], np.float32) * factor
            checked = self.check(work, box)
            if checked.score >= self.settings.check_score:
                kept.append(Box(b.x, b.y, b.w, b.h,
                                wrap_angle(checked.angle, self.settings.min_angle)))
        return kept

    def find(self, image: np.ndarray) -> tuple[Found, list[float]]:
        """Raw detections in original pixels (BlazeFace's square boxes) and each face's angle.

        The angle is the eye line's direction in degrees (clockwise as seen, 0 upright,
        180 upside down), 0 when the tilt is under ``min_angle``.
        """
        found, angles, _ = self._find(image)
        return found, angles

    def _find(self, image: np.ndarray) -> tuple[Found, list[float], list[bool]]:
        """:meth:`find`, and for each face whether the face check doubts it (:meth:`_turned`)."""
        s = self.settings
        work, factor = work_copy(image, s.work_size, s.shrink)
        found = search_pass(self._full, work, 0.0, 0)
        if s.edge_pad and len(found.scores) >= s.edge_min_faces:
            edges = search_pass(self._edges, work, s.edge_pad, 0)
            found = merge_found(found, self._checked(work, edges, unlike=found))
        if len(found.scores):
            if s.small_face_size and faces_are_small(found, work, s.small_face_ratio):
                found = self._with_small_faces(image, found, factor)
            found, angles, doubts = self._turned(work, found)
        else:
            found, angles = self._fallback(work)
            doubts = [False] * len(angles)
        return Found(found.boxes / factor, found.keypoints / factor, found.scores), angles, doubts

    def _checked(self, work: np.ndarray, found: Found, unlike: Found) -> Found:
        """The faces of ``found`` that pass the face check, leaving out those in ``unlike``."""
        s = self.settings
        keep = [i for i, box in enumerate(found.boxes)
                if all(box_iou(box, o) < 0.3 for o in unlike.boxes)
                and (found.scores[i] >= s.trust_score
                     or self.check(work, box, turns=(0,)).score >= s.check_score)]
        return Found(found.boxes[keep], found.keypoints[keep], found.scores[keep])

    def _turned(self, work: np.ndarray, found: Found
                ) -> tuple[Found, list[float], list[bool]]:
        """The first pass's faces and their angles, turned as the photo is turned.

        On a photo turned by 90 or 180 degrees the upright pass still finds many faces,
        with a low score, keypoints placed as if upright (or half turned) and a box
        shifted along the face. So when the best face scores under ``orient_below`` or
        its eyes say it lies on its side, it is looked at in four turns; when a turn
        wins, the photo is taken as turned and every face is looked at again in that
        turn, for its box and its angle. The best face is doubted (``doubts``) when its
        score is under ``orient_below`` and the check scores it under ``doubt_below`` in every
        turn it looked at: the same network, with context, sees no face there.
        """
        s = self.settings
        angles = [eye_angle(k) for k in found.keypoints]
        doubts = [False] * len(angles)
        if found.scores[0] >= s.orient_below and abs(angles[0]) < 45:
            return found, [wrap_angle(a, s.min_angle) for a in angles], doubts
        best = self.check(work, found.boxes[0], turn_margin=s.turn_margin, sure=s.orient_sure)
        doubts[0] = bool(found.scores[0] < s.orient_below and best.score < s.doubt_below)
        turn = 90 * round(((best.angle - angles[0] + 180) % 360 - 180) / 90) if best.score else 0
        boxes = found.boxes.copy()
        if best.score:
            boxes[0], angles[0] = best.box, best.angle - turn
        if not turn:
            return (Found(boxes, found.keypoints, found.scores),
                    [wrap_angle(a, s.min_angle) for a in angles], doubts)
        for i, box in enumerate(found.boxes):
            checked = best if i == 0 else self.check(
                work, box, turns=(int(-90 * round((angles[i] + turn) / 90)) % 360,))
            if checked.score:
                boxes[i], angles[i] = checked.box, checked.angle
            else:
                angles[i] += turn
        return (Found(boxes, found.keypoints, found.scores),
                [wrap_angle(a, s.min_angle) for a in angles], doubts)

    def _fallback(self, work: np.ndarray) -> tuple[Found, list[float]]:
        """The later passes (:func:`.later_passes.later_passes`) with this finder's models."""
        return later_passes(work, self.settings, self._full, self._short, self.check,
                            None if self._quick is None else self._later_check, self._second)

    def _later_check(self, image: np.ndarray, box: np.ndarray, *,
                     turns: tuple[int, ...] = FOUR_TURNS, turn_margin: float = 0.0,
                     sure: float = 1.0, upright_prior: float = 0.0) -> Checked:
        """The later passes' face check (:func:`.face_check.screened_check`)."""
        assert self._quick is not None
        return screened_check(self._quick, self._checker, image, box,
                              margin=self.settings.check_margin,
                              screen=self.settings.later_screen, sure=sure, turns=turns,
                              turn_margin=turn_margin, upright_prior=upright_prior,
                              shrink=self.settings.shrink)

    def check(self, image: np.ndarray, box: np.ndarray, *,
              turns: tuple[int, ...] = FOUR_TURNS, turn_margin: float = 0.0,
              sure: float = 1.0, upright_prior: float = 0.0) -> Checked:
        """The face check (:func:`.face_check.check_face`) with this finder's checker,
        context margin and shrink. ``box`` is ``x0, y0, x1, y1`` in ``image``'s pixels."""
        return check_face(self._checker, image, box, margin=self.settings.check_margin,
                          turns=turns, turn_margin=turn_margin, sure=sure,
                          upright_prior=upright_prior, shrink=self.settings.shrink)

    def _with_small_faces(self, image: np.ndarray, found: Found, factor: float) -> Found:
        """Add the faces a search of a larger copy finds (in ``factor``'s pixels).

        The copy's longer side is ``small_face_size`` (:mod:`.small_faces`). A face only
        this search finds must pass the face check, on the larger copy: at its score bar
        alone it boxes dogs and galaxies.
        """
        big, big_factor = work_copy(image, self.settings.small_face_size, self.settings.shrink)
        k = factor / big_factor
        more = self._small.search(big)
        known = Found(found.boxes / k, found.keypoints / k, found.scores)
        new = self._checked(big, more, unlike=known)
        return merge_found(found, Found(new.boxes * k, new.keypoints * k, new.scores))


def face_finder(settings: FinderSettings | None = None) -> FaceFinder:
    """A process-wide :class:`FaceFinder` per settings, built on first use."""
    return _finder(settings or FinderSettings())


@functools.lru_cache(maxsize=8)
def _finder(settings: FinderSettings) -> FaceFinder:
    return FaceFinder(settings)
