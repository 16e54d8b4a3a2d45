"""The held-out test parts the shipped models were measured on, rebuilt exactly.

Both trainers split the faces they found 70/15/15 with seed 0
(:func:`facegender.training.train_eigenface.split_indices`); these functions redo the same steps
on the same files, so "held-out test" here is the untouched part, never one
the model trained or was tuned on. The eigen-face model's split is over the
crops of all photos of each of its training folders, imdbwiki and utkface (the
crop cache ``facegender train`` uses; made once if missing). The embedding
model's is over the photos of imdbwiki and of utkface (or the seeded sample per class
its manifest records), with the network rows its training cached.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facegender.detection import FinderSettings, recorded_settings
from facegender.features.preprocess import preprocess
from facegender.images import read_image
from facegender.model import GenderModel
from facegender.training.crop import SQUARE_CROPS, CropRecipe, crop_folder, crop_name
from facegender.training.data import scan_labeled
from facegender.training.embed_cache import columns, embed_folder
from facegender.training.train_eigenface import default_crops_dir, split_indices
from facegender.training.train_embedding import sample_per_class


@dataclass(frozen=True)
class HeldOut:
    """A model's held-out test faces: source photos, labels, and its ``p_male`` on them."""

    photos: tuple[Path, ...]
    labels: np.ndarray
    p_male: np.ndarray


def eigenface_test(model: GenderModel, folder: Path, seed: int = 0,
                   crops: Path | None = None) -> HeldOut:
    """The eigen-face model's test part of one training folder: its crops, classified as in
    training.

    ``crops``: a crop folder of ``folder`` made with the model's recipe (e.g.
    ``training_cost.py``'s full run), else the default cache; either is
    completed first (cropping is resumable). The face count is checked
    against the manifest.
    """
    recipe = SQUARE_CROPS if model.align_padding is None else CropRecipe(
        recorded_settings(model.manifest["detector"]), model.align_padding)  # as trained
    crops = crops or default_crops_dir(folder, recipe)
    crop_folder(folder, crops, workers=2, recipe=recipe, progress=False)
    labeled = scan_labeled(crops)
    td = model.manifest["training_data"]
    expected = (td if folder.name == td["source"] else td["extra_sources"][folder.name])["faces"]
    if len(labeled) != expected:
        raise RuntimeError(f"{len(labeled)} crops in {crops}, the model's manifest says "
                           f"{expected}: not the split it was tested on")
    _, _, te = split_indices(labeled.labels, seed)
    rows = np.stack([preprocess(read_image(labeled.paths[i])).ravel() for i in te])
    by_crop = {crop_name(folder, p): p for p in scan_labeled(folder).paths}
    photos = tuple(by_crop[labeled.paths[i].name] for i in te)
    return HeldOut(photos, labeled.labels[te], model.predict_proba(rows)[:, 1])


def embedding_parts(model: GenderModel, folder: Path, seed: int = 0
                    ) -> tuple[list[Path], np.ndarray, np.ndarray, list[np.ndarray]]:
    """The faces of one of the embedding model's training sources as it split them: their
    photos, labels, the network rows it reads (from its cache) and the train / validation /
    test indices."""
    source = model.manifest["training_data"]["per_source"][folder.name]
    labeled = sample_per_class(scan_labeled(folder), source["sampled_per_class"], seed)
    if labeled.files_hash() != source["files_sha256"]:
        raise RuntimeError(f"the sample of {folder} differs from the one the model trained on")
    if model.manifest["detector"].get("kind") != "blazeface":
        raise RuntimeError("an embedding model trained on dlib's faces (before 2026-12-03): "
                           "its held-out part cannot be rebuilt from today's cache")
    settings = recorded_settings(model.manifest["detector"])  # as trained, not as served
    assert isinstance(settings, FinderSettings)
    rows_all = embed_folder(labeled, settings, workers=2, int8=model.int8)  # rows as it read them
    emb = rows_all[:, columns(model.network_outputs)]
    found = np.flatnonzero(~np.isnan(emb).any(axis=1))
    if len(found) != source["faces"]:  # another face found moves every face's part
        raise RuntimeError(f"{len(found)} faces found in {folder}, the model's manifest says "
                           f"{source['faces']}: not the split it was tested on")
    y = labeled.labels[found]
    return ([labeled.paths[i] for i in found], y, emb[found], list(split_indices(y, seed)))


def embedding_test(model: GenderModel, folder: Path, seed: int = 0) -> HeldOut:
    """The embedding model's test part of one training source, from its cached network rows."""
    photos, y, rows, (_, _, te) = embedding_parts(model, folder, seed)
    return HeldOut(tuple(photos[i] for i in te), y[te], model.predict_proba(rows[te])[:, 1])
