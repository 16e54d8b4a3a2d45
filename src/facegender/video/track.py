"""Follow faces from frame to frame by box overlap, and give each person one answer.

A per-frame label flickers: the same face reads "male 61%" in one frame and
"female 53%" in the next, because the classifier sees a slightly different
crop each time. Tying detections into tracks and averaging the class
probabilities over a track gives one steadier answer per person, and lets a
video summary count people instead of detections.

Matching is greedy on intersection over union (IoU): the best-overlapping
(track, detection) pair is joined first, down to ``iou_threshold``. Faces in
a video move little between analysed frames and rarely cross, so greedy
matching agrees with the Hungarian optimum in practice and needs no solver.
A detection that matches nothing starts a new track; a track unmatched for
more than ``max_missed`` analysed frames ends (the Haar detector misses a
face now and then, so one miss must not split a person in two).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..types import GENDERS, Box, Face, Predicted, Prediction


def iou_matrix(a: list[Box], b: list[Box]) -> np.ndarray:
    """Pairwise IoU of two box lists, shape ``(len(a), len(b))``, 0 for disjoint boxes."""
    if not a or not b:
        return np.zeros((len(a), len(b)))
    xa, ya, wa, ha = np.array([x.as_tuple() for x in a], dtype=np.float64).T[:, :, None]
    xb, yb, wb, hb = np.array([x.as_tuple() for x in b], dtype=np.float64).T[:, None, :]
    iw = np.clip(np.minimum(xa + wa, xb + wb) - np.maximum(xa, xb), 0, None)
    ih = np.clip(np.minimum(ya + ha, yb + hb) - np.maximum(ya, yb), 0, None)
    inter = iw * ih
    union = wa * ha + wb * hb - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def greedy_match(iou: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """``(row, column)`` pairs of an IoU matrix, best overlap first, each row and column once.

    Pairs with an IoU under ``threshold`` are never joined.
    """
    rows, cols = np.nonzero(iou >= threshold)
    order = np.argsort(-iou[rows, cols], kind="stable")
    used_r: set[int] = set()
    used_c: set[int] = set()
    pairs = []
    for r, c in zip(rows[order].tolist(), cols[order].tolist(), strict=True):
        if r not in used_r and c not in used_c:
            used_r.add(r)
            used_c.add(c)
            pairs.append((r, c))
    return pairs


@dataclass(eq=False)
class Track(Predicted):
    """One face followed over time; times in seconds from the start of the video."""

    track_id: int
    first_frame: int
    first_time: float
    last_frame: int
    last_time: float
    box: Box
    """The box of the latest sighting."""
    frames_seen: int = 0
    missed: int = 0
    """Analysed frames since the latest sighting."""
    uncertain_below: float = 0.0
    """The bar of a sighting whose answer carries none of its own (models without per-face
    bars)."""
    prob_sum: np.ndarray = field(default_factory=lambda: np.zeros(2), repr=False)
    bars: list[float | None] = field(default_factory=list, repr=False)
    """Each sighting's uncertain bar (its age group's, a small face's, a doubted box's);
    None where its answer carried none (:attr:`uncertain_below` then)."""

    def add(self, frame: int, time_s: float, face: Face) -> None:
        """Record one sighting: move the box on and add its probabilities and its bar."""
        p = face.prediction
        self.prob_sum = self.prob_sum + np.array([p.p_female, p.p_male])
        self.bars.append(p.threshold)
        self.frames_seen += 1
        self.last_frame, self.last_time, self.box, self.missed = frame, time_s, face.box, 0

    @property
    def probabilities(self) -> np.ndarray:
        """Mean ``[p_female, p_male]`` over all sightings, shape ``(2,)``."""
        return self.prob_sum / max(self.frames_seen, 1)

    @property
    def bar(self) -> float:
        """The confidence the track's averaged answer needs to be sure: the median of its
        sightings' bars.

        Why: each face's answer has the bar of its own kind of face (a child's is never
        sure, a face under 80 px needs 0.97, a doubted box is never sure), and a track held
        only the model's single adults' bar, so a woman's small, dim face in a clip was
        answered "male 92%" as sure where every frame of it was uncertain. The median: the
        bar most sightings needed, so one frame guessed a child's does not make an adult's
        track never sure.
        """
        bars = [self.uncertain_below if b is None else b for b in self.bars]
        return float(np.median(bars)) if bars else self.uncertain_below

    @property
    def prediction(self) -> Prediction:
        """The track's answer from its averaged probabilities, uncertain under :attr:`bar`."""
        p_f, p_m = (float(v) for v in self.probabilities)
        bar = self.bar
        return Prediction(GENDERS[int(p_m > p_f)], p_f, p_m, uncertain=max(p_f, p_m) < bar,
                          threshold=bar if any(b is not None for b in self.bars) else None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.track_id,
            "first_frame": self.first_frame,
            "last_frame": self.last_frame,
            "first_time_s": round(self.first_time, 3),
            "last_time_s": round(self.last_time, 3),
            "frames_seen": self.frames_seen,
            **self.prediction.to_dict(),
        }


class IouTracker:
    """Assigns each frame's faces to tracks by box overlap.

    Parameters
    ----------
    iou_threshold : float
        Smallest IoU between a track's latest box and a detection to join them.
    max_missed : int
        A track survives this many analysed frames in a row without a match
        and ends at the next miss.
    uncertain_below : float
        The bar of a face whose answer has none of its own (pass the model's
        ``threshold``); a track is uncertain under its sightings' median bar
        (:attr:`Track.bar`).
    """

    def __init__(self, iou_threshold: float = 0.3, max_missed: int = 5,
                 uncertain_below: float = 0.0) -> None:
        if not 0.0 < iou_threshold <= 1.0:
            raise ValueError(f"iou_threshold={iou_threshold!r} is out of range; allowed (0, 1]")
        if max_missed < 0:
            raise ValueError(f"max_missed={max_missed!r} is out of range; allowed 0 or more")
        self.iou_threshold = iou_threshold
        self.max_missed = max_missed
        self.uncertain_below = uncertain_below
        self.active: list[Track] = []
        self.finished: list[Track] = []
        self._next_id = 1

    @property
    def tracks(self) -> list[Track]:
        """Every track so far, ended or not, in order of first sighting."""
        return sorted(self.finished + self.active, key=lambda t: t.track_id)

    def _start(self, frame: int, time_s: float, box: Box) -> Track:
        track = Track(self._next_id, frame, time_s, frame, time_s, box,
                      uncertain_below=self.uncertain_below)
        self._next_id += 1
        self.active.append(track)
        return track

    def update(self, frame: int, time_s: float, faces: list[Face]) -> list[Track]:
        """Take one analysed frame's faces; return the track of each face, in the same order."""
        iou = iou_matrix([t.box for t in self.active], [f.box for f in faces])
        assigned: list[Track | None] = [None] * len(faces)
        for r, c in greedy_match(iou, self.iou_threshold):
            assigned[c] = self.active[r]
        matched = {id(t) for t in assigned}
        for track in self.active:
            if id(track) not in matched:
                track.missed += 1
        self.finished += [t for t in self.active if t.missed > self.max_missed]
        self.active = [t for t in self.active if t.missed <= self.max_missed]
        out = []
        for face, known in zip(faces, assigned, strict=True):
            track = known or self._start(frame, time_s, face.box)
            track.add(frame, time_s, face)
            out.append(track)
        return out
