"""Labeled photo folders: find them, list them, and describe them.

Two layouts are understood, the course's own: raw photos under
``female/`` and ``male/``, or face crops under ``Crop_Female/`` and
``Crop_Male/`` (what ``facegender crop`` writes). Labels are integers in the
order of :data:`facegender.types.GENDERS`: 0 female, 1 male.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import BadRequest
from ..images import is_image_path
from ..types import GENDERS

RAW_DIRS = {"female": "female", "male": "male"}
CROP_DIRS = {"female": "Crop_Female", "male": "Crop_Male"}


@dataclass(frozen=True)
class LabeledSet:
    """Image paths with integer labels (0 female, 1 male)."""

    root: Path
    kind: str  # "raw" or "crops"
    paths: tuple[Path, ...]
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.paths)

    def counts(self) -> dict[str, int]:
        return {g: int((self.labels == i).sum()) for i, g in enumerate(GENDERS)}

    def files_hash(self) -> str:
        """sha256 over the sorted relative paths and labels: names the data a model saw."""
        h = hashlib.sha256()
        for p, y in zip(self.paths, self.labels, strict=True):
            h.update(f"{p.relative_to(self.root).as_posix()}\t{int(y)}\n".encode())
        return h.hexdigest()

    def subset(self, idx: np.ndarray) -> LabeledSet:
        return LabeledSet(self.root, self.kind, tuple(self.paths[i] for i in idx), self.labels[idx])


def layout_of(root: Path) -> str:
    """``"crops"`` or ``"raw"``, or raise :class:`BadRequest` naming what is expected."""
    if all((root / d).is_dir() for d in CROP_DIRS.values()):
        return "crops"
    if all((root / d).is_dir() for d in RAW_DIRS.values()):
        return "raw"
    raise BadRequest(
        f"{root} is not a labeled folder: expected female/ and male/ (raw photos) "
        "or Crop_Female/ and Crop_Male/ (face crops)"
    )


def scan_labeled(root: str | Path) -> LabeledSet:
    """List the images of a labeled folder, sorted, with their labels."""
    base = Path(root)
    kind = layout_of(base)
    dirs = CROP_DIRS if kind == "crops" else RAW_DIRS
    paths: list[Path] = []
    labels: list[int] = []
    for i, gender in enumerate(GENDERS):
        folder = base / dirs[gender]
        found = sorted(p for p in folder.rglob("*") if p.is_file() and is_image_path(p))
        paths += found
        labels += [i] * len(found)
    return LabeledSet(base, kind, tuple(paths), np.asarray(labels, dtype=np.int64))


def inspect_images(paths: list[Path]) -> dict[str, Any]:
    """Header-level facts about images: sizes, colour modes, formats, unreadable files.

    Reads headers only (Pillow's lazy open), so it scans thousands of photos
    in seconds.
    """
    from PIL import Image, UnidentifiedImageError

    widths: list[int] = []
    heights: list[int] = []
    modes: Counter[str] = Counter()
    formats: Counter[str] = Counter()
    unreadable: list[str] = []
    for p in paths:
        try:
            with Image.open(p) as img:
                widths.append(img.width)
                heights.append(img.height)
                modes[img.mode] += 1
                formats[img.format or "unknown"] += 1
        except (OSError, UnidentifiedImageError, SyntaxError, ValueError):
            unreadable.append(str(p))
    return {
        "n": len(paths),
        "widths": widths,
        "heights": heights,
        "modes": dict(modes),
        "formats": dict(formats),
        "unreadable": unreadable,
    }
