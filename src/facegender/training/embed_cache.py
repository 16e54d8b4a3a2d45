"""Labeled photos to face-network rows, cached: the slow part of training the embedding model.

For each photo: the served face finder's largest face -> 5-point alignment -> every
output of the face network (:data:`facegender.features.resnet_onnx.OUTPUTS`, 896
columns side by side), so a model may read any of them without embedding the photos
again. Since 2026-12-03 the faces are found by the finder the model is served with
(dlib's HOG before: other boxes, so other chips, and 5.5% fewer IMDB-WIKI faces).
The rows are cached as ``.npy`` under ``$XDG_CACHE_HOME`` (``~/.cache``): a retrain of
the head (new grid, seed or split) reads them in a second.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from ..detection import FinderSettings
from ..features import CHIP_PADDING, weights_sha256
from ..features.resnet_int8 import record_sha256
from ..features.resnet_onnx import OUTPUTS
from ..threads import process_pool
from ..types import Box
from .data import LabeledSet

log = logging.getLogger(__name__)

ALL_OUTPUTS: tuple[str, ...] = tuple(OUTPUTS)
"""What the cache holds, in this column order; then the face's width (:data:`WIDTH`)."""
ROW_SIZE = sum(OUTPUTS.values()) + 1
WIDTH = ROW_SIZE - 1
"""Column of the face box's width in original pixels: small faces get their own threshold."""
_CACHE_VERSION = 3  # 3: + the face's width; 2: the finder's faces, every network output


def columns(outputs: tuple[str, ...]) -> np.ndarray:
    """Column indices of ``outputs`` in a cached row, in the order given."""
    starts = np.cumsum([0] + [OUTPUTS[o] for o in ALL_OUTPUTS])
    where = dict(zip(ALL_OUTPUTS, starts, strict=False))
    return np.concatenate([np.arange(where[o], where[o] + OUTPUTS[o]) for o in outputs])


def embeddings_cache(labeled: LabeledSet, settings: FinderSettings,
                     int8: dict[str, Any] | None = None) -> Path:
    """Cache file for a folder's rows, keyed by its path, its files, the finder's settings,
    the network's and landmark model's weights (their sha256) and, for rows of the network
    in 8-bit integers, its calibration record."""
    precision = "float" if int8 is None else f"int8:{record_sha256(int8)}"
    key = hashlib.sha256(f"{labeled.root.resolve()}|{labeled.files_hash()}|{asdict(settings)}|"
                         f"{CHIP_PADDING}|{ALL_OUTPUTS}|{_CACHE_VERSION}|"
                         f"{weights_sha256()}|{precision}".encode())
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "facegender" / "embeddings" / f"{labeled.root.name}-{key.hexdigest()[:12]}.npy"


def largest_faces(paths: list[Path], settings: FinderSettings
                  ) -> Iterator[tuple[int, np.ndarray, Box]]:
    """Each photo's index, image and largest face as the finder finds it; photos that cannot
    be read or hold no face are skipped (training reads what serving would answer)."""
    from ..detection import detector_from
    from ..errors import FaceGenderError
    from ..images import read_image

    finder = detector_from(settings)
    for i, path in enumerate(paths):
        try:
            image = read_image(path)
        except FaceGenderError:
            continue
        boxes = finder.detect(image)
        if boxes:
            yield i, image, boxes[0]


def _embed_paths(paths: list[Path], settings: FinderSettings,
                 int8: dict[str, Any] | None = None) -> np.ndarray:
    """The network rows of the largest face of each photo; a NaN row where none is found."""
    from ..features import default_embedder

    embedder = default_embedder()
    out = np.full((len(paths), ROW_SIZE), np.nan, dtype=np.float32)
    for i, image, box in largest_faces(paths, settings):
        out[i, :WIDTH] = embedder.embed(image, [box], ALL_OUTPUTS, int8)[0]
        out[i, WIDTH] = box.w
    return out


def embed_folder(
    labeled: LabeledSet, settings: FinderSettings, *, workers: int = 2, progress: bool = False,
    int8: dict[str, Any] | None = None,
) -> np.ndarray:
    """``(n, ROW_SIZE)`` float32 rows of a labeled folder (:data:`ALL_OUTPUTS`, then the
    face's width), NaN rows where no face was found; cached. About 25 ms a photo on one
    core. ``int8``: a calibration record, to run the network in 8-bit integers."""
    from tqdm import tqdm

    cache = embeddings_cache(labeled, settings, int8)
    if cache.is_file():
        log.info("network rows from cache %s", cache)
        return np.load(cache)
    paths = list(labeled.paths)
    chunks = [paths[i : i + 64] for i in range(0, len(paths), 64)]
    with process_pool(max(1, workers)) as pool:
        parts = list(tqdm(pool.map(_embed_paths, chunks, [settings] * len(chunks),
                                   [int8] * len(chunks)),
                          total=len(chunks), desc=f"embed {labeled.root.name}",
                          disable=not progress))
    rows = np.vstack(parts) if parts else np.empty((0, ROW_SIZE), np.float32)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.save(cache, rows)
    return rows
