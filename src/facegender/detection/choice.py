"""Which detector serves a model: the one its manifest says it was measured with.

A model's reported accuracy is only true with the detector that cut its
training faces, so the manifest names it and serving rebuilds it from there.
This reads the manifest only (any object with a ``manifest`` dict), so the
detection stage never imports the classifier.
"""

from __future__ import annotations

from typing import Any, Protocol

from .dlib_chain import DlibDetector, DlibSettings, dlib_detector
from .finder import FaceFinder, face_finder
from .finder_settings import FinderSettings
from .haar import CASCADES, DetectorSettings, HaarDetector, haar_detector

Detector = FaceFinder | HaarDetector | DlibDetector


class HasManifest(Protocol):
    """Anything carrying a model manifest (a :class:`facegender.GenderModel`)."""

    manifest: dict[str, Any]


_DLIB_STEPS_ADDED_LATER = {"cnn_work_size": 0, "small_face_size": 0}
"""DlibDetector steps newer than some manifests: off where a manifest does not name them."""


def detector_from(settings: FinderSettings | DetectorSettings | DlibSettings) -> Detector:
    """The process-wide detector for some settings (BlazeFace's, dlib's or Haar's)."""
    if isinstance(settings, FinderSettings):
        return face_finder(settings)
    if isinstance(settings, DlibSettings):
        return dlib_detector(settings)
    return haar_detector(settings)


def detector_for(model: HasManifest) -> Detector:
    """The detector a model is served and measured with, as its manifest names it.

    ``serving_detector`` (BlazeFace's finder) when the manifest has one: the
    faces it finds are aligned by the same dlib landmarks as the training
    faces (benchmarks/box_mapping.py), and the manifest's external metrics are
    measured with it. Else the detector that cut the training faces
    (``detector``: dlib's HOG chain or Haar), with the steps
    ``detector_added_after_training`` names; those are served but never used
    to rebuild the training crops.
    """
    serving = model.manifest.get("serving_detector")
    if serving:
        return face_finder(finder_settings(serving))
    det = {**model.manifest.get("detector", {}),
           **model.manifest.get("detector_added_after_training", {})}
    return detector_from(recorded_settings(det))


_FINDER_STEPS_ADDED_LATER = {"tile_overlap": 0.5, "short_trust_score": 1.01, "weak_score": 1.0,
                             "doubt_below": 0.0, "small_face_pass": "tiles",
                             "later_check_size": 192, "second_model": "",
                             "shrink": "area", "second_close_size": 0,
                             "second_upright_tilt": 0.0}
"""Finder settings newer than some manifests, at the values that reproduce the finder before
them: a record that does not name them was made without them."""


def recorded_settings(recorded: dict[str, Any]) -> FinderSettings | DlibSettings | DetectorSettings:
    """The settings of whichever detector a manifest or crop recipe recorded (by ``kind``),
    exactly as recorded: steps added since are off.

    Why: a model's held-out parts are rebuilt by finding the faces again and splitting them
    with the seed; a step that finds one more face moves every face's part, and the rebuilt
    "test" part would hold faces the model trained on (it did: 9 more IMDB-WIKI faces found
    by the close-up rule of 2026-12-03). Serving takes today's steps instead
    (:func:`finder_settings`).
    """
    kind = recorded.get("kind")
    if kind == "blazeface":
        return finder_settings({**_FINDER_STEPS_ADDED_LATER, **recorded})
    if kind == "hog":
        return dlib_settings(recorded)
    return haar_settings(recorded)


def finder_settings(recorded: dict[str, Any]) -> FinderSettings:
    """The BlazeFace finder settings a manifest recorded; defaults for what it does not name."""
    fields = FinderSettings.__dataclass_fields__
    return FinderSettings(**{k: v for k, v in recorded.items() if k in fields})


def dlib_settings(recorded: dict[str, Any]) -> DlibSettings:
    """The dlib detector settings a manifest recorded; steps it does not name are off."""
    fields = DlibSettings.__dataclass_fields__
    return DlibSettings(**{**_DLIB_STEPS_ADDED_LATER,
                           **{k: v for k, v in recorded.items() if k in fields}})


def haar_settings(recorded: dict[str, Any]) -> DetectorSettings:
    """The Haar settings a manifest recorded (JSON lists back to tuples); defaults elsewhere.

    A model is served with the detector it was cropped and measured with, so
    its reported numbers stay true after the defaults move on.
    """
    fields = DetectorSettings.__dataclass_fields__
    values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v
                              for k, v in recorded.items() if k in fields}
    if values.get("cascade") not in (None, *CASCADES):
        values.pop("cascade")
    return DetectorSettings(**values)
