"""Shared fixtures: real photos from ../shared/data and skimage, and a tiny trained model."""

from __future__ import annotations

import shutil
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
def tiny_raw(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    """A labeled raw folder: the first 150 IMDB-WIKI photos of each class (sorted names)."""
    root = tmp_path_factory.mktemp("tiny-raw")
    for gender in ("female", "male"):
        dst = root / gender
        dst.mkdir()
        for p in sorted((shared_data / "imdbwiki" / gender).iterdir())[:150]:
            shutil.copy(p, dst / p.name)
    return root


@pytest.fixture(scope="session")
def tiny_external(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    """A labeled folder from another source: 20 UTKFace chips of each class."""
    root = tmp_path_factory.mktemp("tiny-utk")
    for gender in ("female", "male"):
        (root / gender).mkdir()
        for p in sorted((shared_data / "utkface" / gender).iterdir())[:20]:
            shutil.copy(p, root / gender / p.name)
    return root


@pytest.fixture(scope="session")
def tiny_model_dir(
    tmp_path_factory: pytest.TempPathFactory, tiny_raw: Path, tiny_external: Path
) -> Path:
    """A model trained end to end (crop, grid search, calibrate, report) on ``tiny_raw``."""
    from facegender.train import TINY_GRID, train

    out = tmp_path_factory.mktemp("tiny-model")
    train(tiny_raw, out / "model", crops_dir=out / "crops", grid=TINY_GRID, workers=2,
          progress=False, seed=0, external=[tiny_external])
    return out / "model"


@pytest.fixture(scope="session")
def tiny_model(tiny_model_dir: Path):
    from facegender import load_model

    return load_model(tiny_model_dir)
