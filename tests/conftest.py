"""Shared fixtures: real photos from ../shared/data and skimage, and a tiny trained model."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED.is_dir():
        pytest.fail(f"the shared data folder {SHARED} is missing (CI clones it beside the repo)")
    return SHARED


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """skimage's astronaut (Eileen Collins), one female face, as BGR."""
    from skimage import data

    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)


@pytest.fixture(scope="session")
def group_photo(shared_data: Path) -> Path:
    return shared_data / "detection" / "portraits" / "obama_and_biden.jpg"


@pytest.fixture(scope="session")
def labeled_subset(
    tmp_path_factory: pytest.TempPathFactory, shared_data: Path
) -> Callable[[str, int, str], Path]:
    """Make a labeled folder of the first ``per_class`` photos (sorted names) of a shared set."""

    def make(source: str, per_class: int, name: str) -> Path:
        root = tmp_path_factory.mktemp(name)
        for gender in ("female", "male"):
            (root / gender).mkdir()
            for p in sorted((shared_data / source / gender).iterdir())[:per_class]:
                shutil.copy(p, root / gender / p.name)
        return root

    return make


@pytest.fixture(scope="session")
def tiny_raw(labeled_subset: Callable[[str, int, str], Path]) -> Path:
    """A labeled raw folder: the first 150 IMDB-WIKI photos of each class."""
    return labeled_subset("imdbwiki", 150, "tiny-raw")


@pytest.fixture(scope="session")
def tiny_external(labeled_subset: Callable[[str, int, str], Path]) -> Path:
    """A labeled folder from another source: 20 UTKFace chips of each class."""
    return labeled_subset("utkface", 20, "tiny-utk")


@pytest.fixture(scope="session")
def tiny_model_dir(
    tmp_path_factory: pytest.TempPathFactory, tiny_raw: Path, tiny_external: Path
) -> Path:
    """A model trained end to end (crop, grid search, calibrate, report) on ``tiny_raw``."""
    from facegender.training.train_eigenface import TINY_GRID, train

    out = tmp_path_factory.mktemp("tiny-model")
    train(tiny_raw, out / "model", crops_dir=out / "crops", grid=TINY_GRID, workers=2,
          progress=False, seed=0, external=[tiny_external])
    return out / "model"


@pytest.fixture(scope="session")
def tiny_model(tiny_model_dir: Path):
    from facegender import load_model

    return load_model(tiny_model_dir)


@pytest.fixture(scope="session")
def aged_utk(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    """12 UTKFace faces of each gender in each age group (0-2, 3-12, 13-19, 20-59, 60+), with their
    ``labels.csv``: a second source whose ages train the age-group model."""
    import csv

    from facegender.training.uncertainty import GROUPS

    root = tmp_path_factory.mktemp("aged-utk")
    with (shared_data / "utkface" / "labels.csv").open(newline="") as fh:
        rows = sorted(csv.DictReader(fh), key=lambda r: r["path"])
    kept = []
    for gender in ("female", "male"):
        (root / gender).mkdir()
        for _, lo, hi in GROUPS:
            mine = [r for r in rows if r["gender"] == gender and lo <= int(r["age"]) <= hi][:12]
            for r in mine:
                shutil.copy(shared_data / "utkface" / r["path"], root / r["path"])
            kept += mine
    with (root / "labels.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(kept[0]))
        writer.writeheader()
        writer.writerows(kept)
    return root
