"""Build and judge models: labeled folders in, a saved model and its report out.

Scanning labeled folders (and importing IMDB-WIKI), the crop step, training of
the eigen-face and embedding models, metrics with confidence intervals, checks
by group, and the markdown reports with their plots.
"""

from __future__ import annotations

from .assess import evaluate_folder
from .crop import SQUARE_CROPS, CropRecipe, crop_folder
from .data import LabeledSet, scan_labeled
from .imdbwiki import import_imdbwiki
from .inspect_report import write_inspect_report
from .report import metrics_table, write_eval_plots
from .train_eigenface import TINY_GRID as _EIGENFACE_GRID
from .train_eigenface import train
from .train_embedding import TINY_GRID as _EMBEDDING_GRID
from .train_embedding import train_embedding

QUICK_GRIDS = {"eigenface": _EIGENFACE_GRID, "embedding": _EMBEDDING_GRID}
"""The one-point grids ``facegender train --quick`` uses, per kind of model."""

__all__ = [
    "QUICK_GRIDS",
    "SQUARE_CROPS",
    "CropRecipe",
    "LabeledSet",
    "crop_folder",
    "evaluate_folder",
    "import_imdbwiki",
    "metrics_table",
    "scan_labeled",
    "train",
    "train_embedding",
    "write_eval_plots",
    "write_inspect_report",
]
