"""Which detector serves a model: the one its manifest says it was measured with.

A model's reported accuracy is only true with the detector that cut its
training faces, so the manifest names it and serving rebuilds it from there.
This reads the manifest only (any object with a ``manifest`` dict), so the
detection stage never imports the classifier.
"""

from __future__ import annotations

from typing import Any, Protocol

from .dlib_chain import DlibDetector, DlibSettings, dlib_detector
from .haar import CASCADES, DetectorSettings, HaarDetector, haar_detector

Detector = HaarDetector | DlibDetector


class HasManifest(Protocol):
    """Anything carrying a model manifest (a :class:`facegender.GenderModel`)."""

    manifest: dict[str, Any]


_DLIB_STEPS_ADDED_LATER = {"cnn_work_size": 0, "small_face_size": 0}
"""DlibDetector steps newer than some manifests: off where a manifest does not name them."""


def detector_from(settings: DetectorSettings | DlibSettings) -> Detector:
    """The process-wide detector for some settings: dlib's for DlibSettings, else Haar."""
    if isinstance(settings, DlibSettings):
        return dlib_detector(settings)
    return haar_detector(settings)


def detector_for(model: HasManifest) -> Detector:
    """The detector a model was trained with: dlib's HOG when its manifest says so, else Haar.

    ``detector_added_after_training`` in a manifest names steps turned on for
    serving after the model was trained and measured (each with its
    re-measurement in the manifest's note); they are served but never used to
    rebuild the training crops.
    """
    det = {**model.manifest.get("detector", {}),
           **model.manifest.get("detector_added_after_training", {})}
    if det.get("kind") == "hog":
        return dlib_detector(dlib_settings(det))
    return haar_detector(haar_settings(det))


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
