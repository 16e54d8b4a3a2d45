"""``facegender train``: labeled photos to a saved, evaluated, reported model.

crop (when given raw photos; by default the BlazeFace finder and landmark-aligned
chips, see :class:`facegender.training.crop.CropRecipe`) -> preprocess -> seeded
stratified split (train / validation / test) -> successive-halving search on train ->
refit on train and its mirror images -> sigmoid calibration and the uncertain threshold
on validation -> metrics on the untouched test split -> skops + manifest -> report.
Same data and seed, same model.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split

from .. import __version__
from ..detection import FinderSettings
from ..errors import BadRequest
from ..features import mirror, preprocess
from ..images import read_image
from ..model import GenderModel, build_pipeline, calibrate_on_held_out
from ..persist import save_model
from .crop import SQUARE_CROPS, CropRecipe, crop_folder, recorded_recipe
from .data import LabeledSet, scan_labeled
from .eigenface_ages import crop_ages, eigenface_age_groups
from .evaluate import choose_threshold, classification_metrics, confident_answers
from .uncertainty import ADULTS, age_groups_manifest

log = logging.getLogger(__name__)

DEFAULT_GRID: dict[str, list[Any]] = {
    "features__pca__n_components": [100],
    "features__hog__pca__n_components": [100, 200],
    "features__lbp__pca__n_components": [100],
    "svm__C": [3.0, 10.0],
    "svm__gamma": ["scale"],
}
"""The region a first, coarse search found (2026-12-04 night, pixel PCA 100/150, HOG and LBP
PCA 100/200, C 1/3/10: 24 cells): on IMDB-WIKI alone and on both sources it chose pixel PCA
100 and LBP 100, HOG 100 with C 3 or HOG 200 with C 10. The four cells left keep training on
all of IMDB-WIKI from cold near 3 minutes (issue 17): the 24 cells' search took 132 s of
252."""
LBP_COMPONENTS = 100
"""The texture branch's principal axes (:class:`..features.LbpFeatures`, since 2026-12-04):
the eigen-face model reads its pixels', its HOG's and its LBP histograms' axes side by side.
A grid may set ``features__lbp__pca__n_components``; this is the value otherwise."""
TINY_GRID: dict[str, list[Any]] = {
    "features__pca__n_components": [10, 20], "features__hog__pca__n_components": [20],
    "features__lbp__pca__n_components": [20],
    "svm__C": [1.0, 10.0], "svm__gamma": ["scale"],
}


def default_crops_dir(data_dir: Path, recipe: CropRecipe) -> Path:
    """Cache folder for the crops of ``data_dir``, keyed by its path and the crop recipe."""
    key = hashlib.sha256(f"{data_dir.resolve()}|{recipe.describe()}".encode())
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "facegender" / "crops" / f"{data_dir.name}-{key.hexdigest()[:12]}"


def load_rows(labeled: LabeledSet, progress: bool = False) -> np.ndarray:
    """Preprocess every crop of a crop folder into ``(n, 10000)`` float32 rows."""
    from tqdm import tqdm

    rows = np.empty((len(labeled), 100 * 100), dtype=np.float32)
    for i, p in enumerate(tqdm(labeled.paths, desc="preprocess", disable=not progress)):
        rows[i] = preprocess(read_image(p)).ravel()
    return rows


def split_indices(
    labels: np.ndarray, seed: int, val: float = 0.15, test: float = 0.15
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stratified train / validation / test indices, fixed by ``seed``."""
    idx = np.arange(len(labels))
    rest, test_idx = train_test_split(idx, test_size=test, stratify=labels, random_state=seed)
    train_idx, val_idx = train_test_split(
        rest, test_size=val / (1 - test), stratify=labels[rest], random_state=seed
    )
    return np.sort(train_idx), np.sort(val_idx), np.sort(test_idx)


def train(
    data_dir: str | Path,
    out_dir: str | Path,
    *,
    seed: int = 0,
    grid: dict[str, list[Any]] | None = None,
    crops_dir: str | Path | None = None,
    workers: int | None = None,
    progress: bool = True,
    report: bool = True,
    name: str = "eigenface",
    mirror_faces: bool = True,
    external: list[str | Path] | None = None,
    recipe: CropRecipe | None = None,
    extra: list[str | Path] | None = None,
) -> GenderModel:
    """Train, evaluate, save and report a model; returns the fitted model.

    Parameters
    ----------
    data_dir : labeled folder (``female/``+``male/`` photos or ``Crop_*`` crops)
    out_dir : where ``model.skops``, ``manifest.json`` and ``report/`` go
    seed : fixes the split, PCA and SVM: same seed, same model
    grid : parameter grid for ``GridSearchCV`` (keys ``features__*``, ``svm__*``)
    mirror_faces : also train the final model on left-right mirrored crops
    external : labeled folders from other sources, measured end to end (a photo
        with no face found counts as wrong) and reported; never used to tune
    recipe : how raw photos are cropped (default: aligned chips). A folder of
        crops keeps the recipe its crop step recorded (square crops when none),
        so the model is served with faces cut the same way.
    extra : more labeled folders, cropped the same way and split with the same
        seed: their training and validation parts join the main folder's, their
        test parts are measured on their own (``test:NAME``) and never trained on
    """
    t_start = time.perf_counter()
    data = Path(data_dir)
    main = _load_source(data, crops_dir, recipe, seed, workers, progress)
    extras = [_load_source(Path(f), None, recipe, seed, workers, progress)
              for f in extra or []]
    for e in extras:
        if e.recipe != main.recipe:
            raise BadRequest(f"{e.raw.root} was cropped differently from {data}: "
                             f"{e.recipe} vs {main.recipe}")
    sources = [main, *extras]
    X_tr = np.vstack([s.X[s.tr] for s in sources])
    y_tr = np.concatenate([s.y[s.tr] for s in sources])
    X_va = np.vstack([s.X[s.va] for s in sources])
    y_va = np.concatenate([s.y[s.va] for s in sources])
    grid = grid or DEFAULT_GRID
    t_fit = time.perf_counter()
    best_params, cv_score = _search(X_tr, y_tr, grid, seed, workers)
    t_search = time.perf_counter()
    model = GenderModel(pipeline=fit_final(X_tr, y_tr, best_params, seed, mirror_faces,
                                           X_va, y_va))
    t_final = time.perf_counter()
    p_val = model.predict_proba(X_va)[:, 1]
    aged = [(s, a) for s in sources if (a := crop_ages(s.raw, s.labeled)) is not None]
    by_group = None if not aged else eigenface_age_groups(
        model, np.vstack([s.X[s.tr] for s, _ in aged]),
        np.concatenate([a[s.tr] for s, a in aged]), X_va, y_va, p_val, seed)
    if by_group:  # model.thresholds reads these; the adults' bar is the single one
        model.manifest = age_groups_manifest(by_group, [s.raw.root.name for s, _ in aged])
        threshold = by_group[ADULTS]["threshold"]
        uncertain_share = confident_answers(y_va, p_val, model.thresholds(X_va))[
            "uncertain_share"]
    else:
        threshold, uncertain_share = choose_threshold(y_va, p_val)
    metrics = {"validation": classification_metrics(y_va, p_val, seed=seed)}
    for key, src in [("test", main), *((f"test:{e.raw.root.name}", e) for e in extras)]:
        p_test = model.predict_proba(src.X[src.te])[:, 1]
        metrics[key] = {**classification_metrics(src.y[src.te], p_test, seed=seed),
                        **confident_answers(src.y[src.te], p_test, model.thresholds(
                            src.X[src.te]) if by_group else threshold)}
    model.manifest = {
        **model.manifest,
        "name": name,
        "version": __version__,
        "features": "eigenface",
        "seed": seed,
        "hyperparameters": {k: jsonable(v) for k, v in best_params.items()},
        "cv_balanced_accuracy": cv_score,
        "grid": {k: [jsonable(v) for v in vs] for k, vs in grid.items()},
        "uncertain_threshold": threshold,
        "uncertain_share_validation": uncertain_share,
        "detector": main.recipe["detector"],
        "preprocess": {"face_size": 100, "align_padding": main.recipe["align_padding"],
                       "crop_margin": main.recipe["margin"],
                       "normalise": "percentile stretch, CLAHE",
                       "mirrored_training_copies": mirror_faces},
        "training_data": {
            **main.summary(), "source": data.name,
            "extra_sources": {e.raw.root.name: e.summary() for e in extras},
            "note": "each source split 70/15/15 stratified with the seed; the training and "
                    "validation parts of every source are joined, test parts never trained "
                    "or tuned on",
        },
        "metrics": {k: strip_curves(v) for k, v in metrics.items()},
        "train_seconds": round(time.perf_counter() - t_start, 1),
        "seconds": {"faces": round(t_fit - t_start, 1), "search": round(t_search - t_fit, 1),
                    "fit": round(t_final - t_search, 1)},
    }
    if main.recipe["detector"].get("kind") == "hog":
        model.manifest["serving_detector"] = FinderSettings().to_manifest()
    elif main.recipe["detector"].get("kind") == "blazeface":  # served as it was cut
        model.manifest["serving_detector"] = dict(main.recipe["detector"])
    for folder in external or []:
        from .assess import evaluate_folder

        log.info("external check on %s", folder)
        metrics[f"external:{Path(folder).name}"] = evaluate_folder(model, folder, progress=progress)
    model.manifest["metrics"] = {k: strip_curves(v) for k, v in metrics.items()}
    out = save_model(model, out_dir)
    if report:
        from .report import write_training_report

        write_training_report(model, metrics, X_tr, y_tr, out / "report")
    log.info("saved %s to %s", name, out)
    return model


@dataclass
class _Source:
    """One labeled folder's faces as model rows, split train / validation / test."""

    raw: LabeledSet
    labeled: LabeledSet
    recipe: dict[str, Any]
    crop_summary: dict[str, Any] | None
    X: np.ndarray
    y: np.ndarray
    tr: np.ndarray
    va: np.ndarray
    te: np.ndarray

    def summary(self) -> dict[str, Any]:
        return {"layout": self.raw.kind, "photos": len(self.raw),
                "photos_per_class": self.raw.counts(), "faces": len(self.labeled),
                "faces_per_class": self.labeled.counts(), "files_sha256": self.raw.files_hash(),
                "crop_summary": self.crop_summary,
                "split": {"train": len(self.tr), "validation": len(self.va),
                          "test": len(self.te)}}


def _load_source(data: Path, crops_dir: str | Path | None, recipe: CropRecipe | None,
                 seed: int, workers: int | None, progress: bool) -> _Source:
    """Crop a raw folder (cached) or read a crop folder, preprocess, split with the seed."""
    raw = scan_labeled(data)
    crop_summary: dict[str, Any] | None = None
    if raw.kind == "raw":
        recipe = recipe or CropRecipe()
        crops = Path(crops_dir) if crops_dir else default_crops_dir(data, recipe)
        log.info("cropping %s into %s", data, crops)
        crop_summary = crop_folder(data, crops, workers=workers, recipe=recipe,
                                   progress=progress)
        labeled = scan_labeled(crops)
        described = recipe.describe()
    else:
        labeled = raw
        described = recorded_recipe(data) or SQUARE_CROPS.describe()
    if len(labeled) < 20 or min(labeled.counts().values()) < 5:
        raise BadRequest(f"too few faces to train on in {data}: {labeled.counts()} "
                         "(need >= 5 per class)")
    X = load_rows(labeled, progress)
    return _Source(raw, labeled, described, crop_summary, X, labeled.labels,
                   *split_indices(labeled.labels, seed))


def fit_final(
    X: np.ndarray, y: np.ndarray, params: dict[str, Any], seed: int, mirror_faces: bool,
    X_cal: np.ndarray, y_cal: np.ndarray,
) -> Any:
    """Fit the pipeline with the tuned ``params``, then calibrate it on held-out faces.

    Mirroring doubles the training faces (+1.8 points of validation balanced
    accuracy, reports/experiments.md). The sigmoid (Platt) is learned on
    ``X_cal`` (the validation part: faces neither the SVM nor the search saw)
    with the fitted pipeline frozen: one SVM fit instead of six (five
    cross-validated ones for the sigmoid, then the final one). On all of
    IMDB-WIKI 46 s + 3 s instead of 152 s, test balanced accuracy 0.888 either way.
    """
    if mirror_faces:
        X, y = np.vstack([X, mirror(X)]), np.concatenate([y, y])
    pipe = build_pipeline(seed=seed, lbp_components=LBP_COMPONENTS)
    pipe.set_params(**params)
    return calibrate_on_held_out(pipe.fit(X, y), X_cal, y_cal)


def _search(
    X: np.ndarray, y: np.ndarray, grid: dict[str, list[Any]], seed: int, workers: int | None
) -> tuple[dict[str, Any], float]:
    """Successive-halving search of the bare SVM pipeline; PCA fits are cached across cells.

    Why halving: every cell first meets a ninth of the faces and only the best third goes
    on to three times more; on all of IMDB-WIKI 52 s instead of the full grid's 87 s, for
    a cross-validated balanced accuracy of 0.872 either way.
    """
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    from sklearn.model_selection import HalvingGridSearchCV

    n_cells = int(np.prod([len(v) for v in grid.values()]))
    with tempfile.TemporaryDirectory(prefix="facegender-cv-") as cache:
        pipe = build_pipeline(seed=seed, lbp_components=LBP_COMPONENTS)
        pipe.set_params(memory=cache)
        cv = StratifiedKFold(3, shuffle=True, random_state=seed)
        search: Any
        if n_cells < 4 or len(y) < 150:  # too few to halve: every cell on every face
            search = GridSearchCV(pipe, grid, scoring="balanced_accuracy",
                                  n_jobs=workers or -1, refit=False, cv=cv)
        else:
            search = HalvingGridSearchCV(pipe, grid, scoring="balanced_accuracy", factor=3,
                                         n_jobs=workers or -1, refit=False, cv=cv,
                                         random_state=seed)
        search.fit(X, y)
    return dict(search.best_params_), float(search.best_score_)


def jsonable(v: Any) -> Any:
    """A numpy scalar as its Python value, for the manifest's JSON."""
    return v.item() if isinstance(v, np.generic) else v


def strip_curves(m: dict[str, Any]) -> dict[str, Any]:
    """Manifest copy of metrics without the long ROC arrays (the report has them)."""
    return {k: v for k, v in m.items() if k != "roc"}
