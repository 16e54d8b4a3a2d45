"""Image in, one classified face per detection out: the library's front door.

Stages: detect -> crop -> preprocess -> classify. Timings are kept per stage
because the web API reports them and the benchmarks compare them. An
embedding model (``model.features == "embedding"``) is fed dlib embeddings of
the original image's boxes instead of the preprocessed crops, and by default
its boxes come from the detector its manifest names; the 100x100 crops are
still made, for display.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .detection import Detector, detector_for
from .features import default_embedder, face_images, preprocess, preprocess_batch
from .model import GenderModel
from .types import NEVER_SURE, Box, Face, Prediction

__all__ = ["Analysis", "Detector", "analyze", "analyze_image", "detector_for", "face_features",
           "warm_up"]


def face_features(image: np.ndarray, boxes: list[Box], model: GenderModel) -> np.ndarray:
    """The model's input rows for ``boxes`` of a BGR image.

    ``(n, 128)`` embeddings for an embedding model, else ``(n, 10000)``
    preprocessed faces (aligned chips or square crops, as the model was trained).
    """
    if model.features == "embedding":
        return default_embedder().embed(image, boxes, model.network_outputs, model.int8)
    return preprocess_batch(face_images(image, boxes, model.align_padding))


@dataclass
class Analysis:
    """All faces of one image plus how long each stage took."""

    width: int
    height: int
    faces: list[Face]
    timings_ms: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "image": {"width": self.width, "height": self.height},
            "faces": [f.to_dict() for f in self.faces],
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
        }


def never_sure(prediction: Prediction) -> Prediction:
    """The answer for a box the finder doubts is a face: uncertain whatever the model's
    confidence (``uncertain_below`` over 1, as for faces the model is never sure of)."""
    return replace(prediction, uncertain=True, threshold=NEVER_SURE)


def analyze_image(
    image: np.ndarray,
    model: GenderModel,
    *,
    detector: Detector | None = None,
    min_face_size: int | None = None,
    reconstruct: bool = False,
    explainer: GenderModel | None = None,
    crops: bool | None = None,
) -> Analysis:
    """Detect, crop, preprocess and classify every face in a BGR image.

    Parameters
    ----------
    image : ndarray of shape (H, W, 3), uint8, BGR
    model : GenderModel
    detector : HaarDetector or DlibDetector, optional
        The model's own (see :func:`detector_for`) when omitted.
    min_face_size : int, optional
        Ignore faces smaller than this many original pixels.
    reconstruct : bool
        Also attach each face's eigen-face reconstruction: by ``model`` when it is an
        eigen-face model, else by ``explainer`` (none when that is not given either).
    explainer : GenderModel, optional
        An eigen-face model whose PCA shows what an embedding model's faces look like to
        the explainable pipeline; it does not change the answers.
    crops : bool, optional
        Attach each face's ``(100, 100)`` crop. By default only where something reads
        it: an eigen-face model (the crops are its input) or ``reconstruct``. Why: an
        embedding model answers from its network's values; cutting and normalising crops
        nobody looks at cost 1.0 ms a portrait and 2.6 ms a group photo (latency.md).

    Returns
    -------
    Analysis with faces largest first; with crops, each Face carries its ``(100, 100)``
    crop (the aligned chip when the eigen-face model reading it was trained on aligned
    chips), else ``crop`` is None.
    """
    det = detector or detector_for(model)
    t0 = time.perf_counter()
    boxes = det.detect(image, min_face_size=min_face_size)
    t1 = time.perf_counter()
    embedding = model.features == "embedding"
    pixels = explainer if embedding and explainer is not None else model  # who reads the crops
    want_crops = not embedding or (reconstruct if crops is None else crops)
    if embedding and want_crops and pixels.align_padding is not None:
        # both chips from one landmark pass
        rows, faces_bgr = default_embedder().embed_and_cut(image, boxes, pixels.align_padding,
                                                           model.network_outputs, model.int8)
        cut = [preprocess(f) for f in faces_bgr]
    else:
        cut = ([preprocess(f) for f in face_images(image, boxes, pixels.align_padding)]
               if want_crops else [])
        if embedding:
            rows = default_embedder().embed(image, boxes, model.network_outputs, model.int8)
        else:
            rows = (np.stack([c.ravel() for c in cut]) if cut
                    else np.empty((0, 0), np.float32))
    t2 = time.perf_counter()
    preds = model.predict(rows, np.array([b.w for b in boxes])) if boxes else []
    preds = [never_sure(p) if b.doubtful else p for b, p in zip(boxes, preds, strict=True)]
    t3 = time.perf_counter()
    recon = None
    if reconstruct and cut:
        if not embedding:  # the rows are already the pixels its PCA reads
            recon = model.reconstruct(rows)
        elif explainer is not None:
            recon = explainer.reconstruct(np.stack([c.ravel() for c in cut]))
    faces = [
        Face(box=b, prediction=p, crop=cut[i] if cut else None,
             reconstruction=None if recon is None else recon[i])
        for i, (b, p) in enumerate(zip(boxes, preds, strict=True))
    ]
    h, w = image.shape[:2]
    timings = {"detect": (t1 - t0) * 1e3, "preprocess": (t2 - t1) * 1e3,
               "classify": (t3 - t2) * 1e3}
    return Analysis(width=w, height=h, faces=faces, timings_ms=timings)


def analyze(image: np.ndarray, model: GenderModel, **kwargs: Any) -> list[Face]:
    """Every face in a BGR image, classified; see :func:`analyze_image`."""
    return analyze_image(image, model, **kwargs).faces


def warm_up(model: GenderModel, detector: Detector | None = None,
            explainer: GenderModel | None = None) -> float:
    """Load now what the first analysis would load lazily; returns the ms it took.

    Why: every model part loads on first use (no work at import time), so the
    first request a fresh gunicorn worker serves paid about 1 s: BlazeFace's
    interpreters, dlib's landmark model, the ONNX graph's build and session,
    the classifier's first call. A server calls this once per worker, before
    serving (``gunicorn_conf.post_worker_init``). Interpreters are per thread:
    warm the thread that will serve. Runs on a blank image and a made-up box,
    so no photo ships for it: every stage runs, whatever it finds.
    """
    t0 = time.perf_counter()
    blank = np.full((96, 96, 3), 128, np.uint8)
    det = detector or detector_for(model)
    warm = getattr(det, "warm_up", None)
    if callable(warm):
        warm()
    else:
        det.detect(blank)
    box = [Box(16, 16, 64, 64)]
    model.predict(face_features(blank, box, model), np.array([box[0].w]))
    if explainer is not None:
        explainer.reconstruct(face_features(blank, box, explainer))
    return (time.perf_counter() - t0) * 1e3
