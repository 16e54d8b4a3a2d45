"""``facegender batch``: every image under a folder to one row per face.

A file that fails gives one row with its error and the run goes on.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .analyze import analyze_image
from .errors import FaceGenderError
from .images import is_image_path, read_image
from .model import GenderModel
from .types import Box, Face

BATCH_FIELDS = ["path", "face", "x", "y", "w", "h", "gender", "p_female", "p_male",
                "confidence", "uncertain", "error"]


def face_row(path: Path, index: int, face: Face) -> dict[str, Any]:
    """One CSV row for one face."""
    p = face.prediction
    return {"path": str(path), "face": index, **face.box.to_dict(), "gender": p.gender,
            "p_female": round(p.p_female, 4), "p_male": round(p.p_male, 4),
            "confidence": round(p.confidence, 4), "uncertain": p.uncertain, "error": ""}


def image_rows(path: Path, model: GenderModel, whole_image: bool = False) -> list[dict[str, Any]]:
    """Rows for one file: one per face, none when faceless, one error row on failure."""
    try:
        image = read_image(path)
    except FaceGenderError as exc:
        return [{**dict.fromkeys(BATCH_FIELDS, ""), "path": str(path), "error": exc.message}]
    if whole_image:
        h, w = image.shape[:2]
        pred = model.classify_crops([image])[0]
        return [face_row(path, 0, Face(Box(0, 0, w, h), pred))]
    return [face_row(path, i, f) for i, f in enumerate(analyze_image(image, model).faces)]


def list_images(folder: Path) -> list[Path]:
    """Image files under ``folder``, recursive, sorted."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and is_image_path(p))


def batch_rows(
    folder: Path, model: GenderModel, *, whole_image: bool = False, progress: bool = False
) -> Iterator[dict[str, Any]]:
    """Yield rows for every image under ``folder``."""
    from tqdm import tqdm

    for path in tqdm(list_images(folder), desc="batch", unit="img", disable=not progress):
        yield from image_rows(path, model, whole_image)
