"""Run a model over a labeled folder and measure it: ``facegender evaluate``.

Raw photos go through the whole path (detect -> largest face -> classify),
and a photo with no face found counts as wrong; crop folders are classified
as they are. The model decides its detector and its input rows (pixels or
embeddings, see :func:`facegender.analyze.face_features`). Threads, not
processes: OpenCV and the SVM release the GIL, and the model is shared
instead of loaded once per worker.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from ..analyze import Detector, detector_for, face_features
from ..errors import FaceGenderError
from ..features import preprocess, whole_image_box
from ..images import read_image
from ..model import GenderModel
from .data import scan_labeled


def _row(path: Path, kind: str, detector: Detector, model: GenderModel) -> np.ndarray | None:
    """The model input row for one file, or None when unreadable or faceless."""
    try:
        image = read_image(path)
    except FaceGenderError:
        return None
    if kind == "crops":
        if model.features != "embedding" and model.align_padding is None:
            return preprocess(image).ravel()
        boxes = [whole_image_box(image)]
    else:
        boxes = detector.detect(image)[:1]
    return face_features(image, boxes, model)[0] if boxes else None


def predict_folder(
    model: GenderModel, data_dir: str | Path, *, detector: Detector | None = None,
    workers: int = 2, progress: bool = False,
) -> tuple[list[Path], np.ndarray, np.ndarray]:
    """Paths, labels and ``p_male`` (NaN where no face) for every image of a labeled folder."""
    from tqdm import tqdm

    labeled = scan_labeled(data_dir)
    det = detector or detector_for(model)
    with ThreadPoolExecutor(workers) as pool:
        rows = list(tqdm(pool.map(lambda p: _row(p, labeled.kind, det, model), labeled.paths),
                         total=len(labeled), desc="evaluate", disable=not progress))
    p_male = np.full(len(rows), np.nan)
    found = [i for i, r in enumerate(rows) if r is not None]
    if found:
        stacked = np.stack([rows[i] for i in found])  # type: ignore[misc]
        p_male[found] = model.predict_proba(stacked)[:, 1]
    return list(labeled.paths), labeled.labels, p_male


def evaluate_folder(
    model: GenderModel, data_dir: str | Path, **kwargs: Any
) -> dict[str, Any]:
    """End-to-end metrics of ``model`` on a labeled folder; see :func:`predict_folder`."""
    from .evaluate import classification_metrics

    _, y, p_male = predict_folder(model, data_dir, **kwargs)
    return classification_metrics(y, p_male)
