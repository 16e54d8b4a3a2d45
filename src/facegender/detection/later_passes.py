"""The finder's later passes: what it does when its first pass finds no face.

Why a module of its own: the first pass answers most photos in one network run; the later
passes (a border, weak candidates, the short-range model, turned copies) and the face checks
that keep their candidates honest are most of the finder's rules and all of its slow
photos, and they need only the settings, two models and the face check.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .blazeface import BlazeFace, Found, nothing
from .centerface import CenterFace
from .face_check import FOUR_TURNS, Checked
from .finder_settings import FinderSettings
from .passes import ROTATIONS, box_iou, eye_angle, search_pass, work_copy, wrap_angle

CheckFn = Callable[..., Checked]
"""The finder's face check (:meth:`.finder.FaceFinder.check`)."""
LOOKED_IOU = 0.3
"""Overlap at which a second-network face counts as a place already looked at in its
turns (its box and the BlazeFace candidate's differ in shape: 0.45-0.70 on the portraits
where it applies)."""


def later_passes(work: np.ndarray, s: FinderSettings, full: BlazeFace, short: BlazeFace,
                 check: CheckFn, quick: CheckFn | None = None,
                 second: CenterFace | None = None) -> tuple[Found, list[float]]:
    """The later passes, when the first finds nothing: each face they find is checked.

    A face found only with a border, by the short-range model or on a turned copy
    gets the face check in its four turns: the best turn gives its angle (the
    keypoints alone point the wrong way on most turned faces) and a score it
    must reach, which keeps textures, coins and animals out. A face the padded
    upright pass finds with ``trust_score`` is kept without it, and one the short-range
    model scores ``short_trust_score`` is kept when it fails it (close-ups the check
    cannot judge: a face filling or cut by the frame). When none of the padded
    pass's faces passes, its ``weak_max`` best weak candidates (``weak_score`` to
    ``min_score``) get the check, upright only (:func:`upright_face`): faces turned to
    the side, small or dim. A candidate whose centre lies in a face already kept (an
    eye, a cheek) is not checked. Passes and checks together run the network at most
    ``max_runs`` times (a check left with fewer runs looks at fewer turns), so no photo
    costs more than ~18 runs. ``check`` is the finder's face check; ``quick``, when given,
    checks the passes' candidates instead (the same check behind a cheaper screen,
    :func:`.face_check.screened_check`). The weak candidates keep ``check`` (measured so).
    ``second``, when given, is asked after the padded pass (:mod:`.centerface`): the faces it
    finds are the answer (:func:`second_faces`), told which places the check has already
    refused in all four turns.
    """
    pass_check = check if quick is None else quick
    passes: list[tuple[BlazeFace, float, int]] = []
    if s.tight_pad:
        passes.append((full, s.tight_pad, 0))
    if s.short_range:
        passes.append((short, 0.0, 0))
    if s.rotations:
        passes += [(full, s.tight_pad, deg) for _, deg in ROTATIONS]
    second_at = 1 if s.tight_pad else 0  # after the padded pass (close-ups stay its)
    runs = 0
    looked: list[np.ndarray] = []  # candidates the check refused in all four turns
    for n, (model, pad, degrees) in enumerate(passes):
        if runs >= s.max_runs:
            break
        if n == second_at and second is not None:
            more, more_angles = second_faces(work, second, s, check, looked)
            if more_angles:
                return more, more_angles
        weak = nothing()
        if model is full and not degrees and s.weak_score < s.min_score:
            found, weak = model.detect_with_weak(work, pad, s.weak_score)
        else:
            found = search_pass(model, work, pad, degrees)
        runs += 1
        keep: list[int] = []
        angles: list[float] = []
        for i, box in enumerate(found.boxes):
            if runs >= s.max_runs:
                break
            if any(_holds(found.boxes[j], box) for j in keep):
                continue  # a part of a face already kept (an eye, a cheek): not checked
            # what the full-range model saw upright counts for upright (profiles look
            # nearly as much like a face turned); the short-range model's does not
            # (it takes upside-down faces for upright ones)
            prior = float(found.scores[i]) if model is full and not degrees else 0.0
            if prior >= s.trust_score:
                keep.append(i)
                angles.append(wrap_angle(eye_angle(found.keypoints[i]), s.min_angle))
                continue
            turns = FOUR_TURNS[:s.max_runs - runs]
            checked = pass_check(work, box, turn_margin=s.turn_margin, sure=s.sure_score,
                                  upright_prior=prior, turns=turns)
            runs += checked.runs
            if len(turns) == len(FOUR_TURNS) and checked.score < s.check_score:
                looked.append(box.copy())
            if checked.score >= s.check_score:
                keep.append(i)
                found.boxes[i] = checked.box
                angles.append(wrap_angle(checked.angle, s.min_angle))
            elif model is short and found.scores[i] >= s.short_trust_score:
                keep.append(i)
                angles.append(wrap_angle(eye_angle(found.keypoints[i]), s.min_angle))
        if keep:
            return Found(found.boxes[keep], found.keypoints[keep], found.scores[keep]), angles
        keep, angles = [], []
        for i, box in enumerate(weak.boxes[:s.weak_max]):
            if runs >= s.max_runs:
                break
            checked = upright_face(work, box, s, check, s.max_runs - runs)
            runs += checked.runs
            if checked.score >= s.check_score and all(
                    box_iou(checked.box, weak.boxes[j]) < 0.3 for j in keep):
                keep.append(i)
                weak.boxes[i] = checked.box
                angles.append(wrap_angle(checked.angle, s.min_angle))
        if keep:
            return Found(weak.boxes[keep], weak.keypoints[keep], weak.scores[keep]), angles
    return nothing(), []


def second_faces(work: np.ndarray, second: CenterFace, s: FinderSettings, check: CheckFn,
                 looked: Sequence[np.ndarray] = ()) -> tuple[Found, list[float]]:
    """The faces the second network finds whose eye line is within ``second_max_tilt`` of
    upright, and their angles; none when it finds a face more tilted than that.

    Why: on turned photos its landmarks lean halfway (a face turned by 90 degrees reads
    45-65) or read a turned face as upright, so each face also gets the face check in its
    three turns (only upside down when it reads the face within ``second_upright_tilt`` of
    level: such faces were upright or upside down, never on their side): when the best
    scores ``check_score`` and ``second_flip_margin`` more than the upright view, the face is
    taken as turned so, with the check's box and angle (three runs a face, or one, and one
    more when a turn passes); otherwise its own eye line gives its angle.
    A face overlapping (IoU >= 0.3) a box of ``looked``, a candidate of the same photo the
    check has already refused in all four turns, keeps its eye line unchecked: its turns
    have been looked at, none scored ``check_score``. Why: a close-up whose padded-pass
    candidate the check refuses and CenterFace then finds (the slowest portraits) paid
    for the same three turned looks twice; on 2,783 tuning images the faces, boxes and
    angles are the same either way (2026-12-04, reports/detection.md).
    """
    found = second_search(work, second, s)
    angles = [eye_angle(k) for k in found.keypoints]
    if not angles or any(abs(a) > s.second_max_tilt for a in angles):
        return nothing(), []
    for i, box in enumerate(found.boxes):
        if any(box_iou(box, other) >= LOOKED_IOU for other in looked):
            continue
        level = abs(angles[i]) < s.second_upright_tilt  # read level: upside down at most
        turned = check(work, box, turns=(180,) if level else FOUR_TURNS[1:])
        if turned.score >= s.check_score and (
                turned.score >= check(work, box, turns=(0,)).score + s.second_flip_margin):
            found.boxes[i], angles[i] = turned.box, turned.angle
    return found, [wrap_angle(a, s.min_angle) for a in angles]


def second_search(work: np.ndarray, second: CenterFace, s: FinderSettings) -> Found:
    """The second network's faces in ``work``: first in a copy whose longer side is
    ``second_close_size``, and only when it finds none there in ``work`` itself.

    Why: the faces left to it are mostly close-ups (the first pass finds the others), which
    it scores higher and boxes tighter in the smaller copy, at a third of the work copy's
    cost (reports/detection.md).
    """
    if s.second_close_size and max(work.shape[:2]) > s.second_close_size:
        small, k = work_copy(work, s.second_close_size, s.shrink)
        found = second.detect(small)
        if len(found.scores):
            return Found(found.boxes / k, found.keypoints / k, found.scores)
    return second.detect(work)


def upright_face(work: np.ndarray, box: np.ndarray, s: FinderSettings, check: CheckFn,
                 budget: int) -> Checked:
    """The face check of a weak candidate, passed only by an upright face.

    Looked at upright first; one the check is not sure of (``check_score`` to
    ``sure_score``) is also looked at in its three turns and fails when a turn scores
    better: an upside-down face can score 0.57-0.61 upright in the check (two of the
    turned IMDB-WIKI photos), and the turned passes find those with their right
    angle. Costs one network run, or four (fails when ``budget`` has fewer).
    """
    upright = check(work, box, turns=(0,))
    if upright.score >= s.sure_score or upright.score < s.check_score:
        return upright
    if budget < 4:
        return upright._replace(score=0.0)
    turned = check(work, box, turns=FOUR_TURNS[1:])
    return upright._replace(score=upright.score if turned.score <= upright.score else 0.0,
                            runs=1 + turned.runs)


def _holds(outer: np.ndarray, inner: np.ndarray) -> bool:
    """Whether box ``inner``'s centre lies inside box ``outer`` (both x0, y0, x1, y1)."""
    cx, cy = (inner[0] + inner[2]) / 2, (inner[1] + inner[3]) / 2
    return bool(outer[0] <= cx <= outer[2] and outer[1] <= cy <= outer[3])
