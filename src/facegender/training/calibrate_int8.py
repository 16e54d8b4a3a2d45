"""The face network's int8 calibration for a model: each layer's range on real faces.

Why a step of training: an embedding model's head is trained on the rows of the network
it is served with. Run in 8-bit integers (:mod:`facegender.features.resnet_int8`), the
network needs its layers' ranges measured on faces like the ones it will see, so the first
step of ``facegender train --features embedding`` cuts the aligned chips of a seeded sample
of the main folder's photos (found and aligned as served; no label is read) and records
the ranges in the model's manifest, before any row is computed.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from ..detection import FinderSettings
from .data import LabeledSet
from .embed_cache import largest_faces

log = logging.getLogger(__name__)

CALIBRATION_PHOTOS = 200
"""Photos whose faces set the ranges. On IMDB-WIKI chips the int8 rows of 283 other faces
were within a cosine of 0.9994 of the float ones with 200 (reports/experiments.md)."""


def calibration_chips(labeled: LabeledSet, settings: FinderSettings, seed: int,
                      photos: int = CALIBRATION_PHOTOS) -> tuple[np.ndarray, list[str]]:
    """Aligned chips of the largest face of a seeded sample of ``photos`` photos (fewer
    when some have no face), and the sampled files' names."""
    from ..features import default_embedder
    from ..features.embedding import CHIP_SIZE

    rng = np.random.default_rng(seed)
    paths = [labeled.paths[i] for i in
             np.sort(rng.choice(len(labeled.paths), min(photos, len(labeled.paths)),
                                replace=False))]
    embedder = default_embedder()
    chips = [embedder.chips(image, [box])[0]
             for _, image, box in largest_faces(paths, settings)]
    return (np.asarray(chips, np.uint8).reshape(-1, CHIP_SIZE, CHIP_SIZE, 3),
            [p.name for p in paths])


def calibrate_network(labeled: LabeledSet, settings: FinderSettings, seed: int,
                      photos: int = CALIBRATION_PHOTOS) -> tuple[dict[str, Any], dict[str, Any]]:
    """The calibration record (:func:`facegender.features.resnet_int8.calibrate`) and what
    it was measured on (for the manifest)."""
    from ..errors import BadRequest
    from ..features.embedding import resnet_weights
    from ..features.resnet_int8 import calibrate
    from ..features.resnet_onnx import build_model

    chips, names = calibration_chips(labeled, settings, seed, photos)
    if len(chips) < 10:
        raise BadRequest(f"too few faces to calibrate the int8 network on: {len(chips)} of "
                         f"{len(names)} sampled photos (need >= 10)")
    log.info("int8 calibration on %d faces of %d photos", len(chips), len(names))
    record = calibrate(build_model(resnet_weights()), chips)
    return record, {"source": labeled.root.name, "photos": len(names), "faces": len(chips),
                    "seed": seed, "labels_read": False}
