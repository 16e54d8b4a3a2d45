"""Run a model over a labeled folder and measure it: ``facegender evaluate``.

Raw photos go through the whole path (detect -> largest face -> classify),
and a photo with no face found counts as wrong; crop folders are classified
as they are. Threads, not processes: OpenCV and the SVM release the GIL, and
the model is shared instead of loaded once per worker.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from .analyze import default_detector
from .data import scan_labeled
from .detect import HaarDetector
from .errors import FaceGenderError
from .images import read_image
from .model import GenderModel
from .preprocess import crop_face, preprocess


def _row(path: Path, kind: str, detector: HaarDetector) -> np.ndarray | None:
    """The model input row for one file, or None when unreadable or faceless."""
    try:
        image = read_image(path)
    except FaceGenderError:
        return None
    if kind == "crops":
        return preprocess(image).ravel()
    boxes = detector.detect(image)
    return preprocess(crop_face(image, boxes[0])).ravel() if boxes else None


def predict_folder(
    model: GenderModel, data_dir: str | Path, *, detector: HaarDetector | None = None,
    workers: int = 2, progress: bool = False,
) -> tuple[list[Path], np.ndarray, np.ndarray]:
    """Paths, labels and ``p_male`` (NaN where no face) for every image of a labeled folder."""
    from tqdm import tqdm

    labeled = scan_labeled(data_dir)
    det = detector or default_detector()
    with ThreadPoolExecutor(workers) as pool:
        rows = list(tqdm(pool.map(lambda p: _row(p, labeled.kind, det), labeled.paths),
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
