"""``facegender train --features embedding``: photos to dlib embeddings to a calibrated SVM.

detect the largest face (dlib HOG on a padded copy, Haar when HOG finds
none) -> 5-point alignment -> 128-d ResNet embedding (cached as ``.npy``
under ``~/.cache/facegender/embeddings``, so reruns skip the slow part) ->
seeded stratified split (train / validation / test) -> grid search of
StandardScaler + RBF SVM on train -> sigmoid-calibrated refit on train ->
uncertain threshold on validation -> metrics on the untouched test split ->
skops + manifest -> report. Extra labeled folders (``extra``) are split the
same way: their train and validation parts join the training, their test
part is measured on its own and never trained on.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from .. import __version__
from ..detection import SIDE_VIEWS, DlibSettings, FinderSettings
from ..errors import BadRequest
from ..features import CHIP_PADDING, EMBEDDING_SIZE, weights_sha256
from ..model import GenderModel, build_embedding_pipeline
from ..persist import save_model
from ..threads import process_pool
from .data import LabeledSet, scan_labeled
from .evaluate import choose_threshold, classification_metrics, confident_answers
from .train_eigenface import jsonable, split_indices, strip_curves

log = logging.getLogger(__name__)

DEFAULT_GRID: dict[str, list[Any]] = {"svm__C": [0.3, 1.0, 3.0, 10.0],
                                      "svm__gamma": ["scale", 0.003, 0.01]}
TINY_GRID: dict[str, list[Any]] = {"svm__C": [1.0], "svm__gamma": ["scale"]}
_CACHE_VERSION = 1


def embeddings_cache(labeled: LabeledSet, settings: DlibSettings) -> Path:
    """Cache file for a folder's embeddings, keyed by its path, its files, the detectors
    and the network's and landmark model's weights (their sha256).

    It lives under ``$XDG_CACHE_HOME`` (``~/.cache``), so it survives between runs: a
    retrain of the head (new grid, seed or split) reads 15,000 vectors in a second
    instead of embedding the photos again (about 10 min on 2 cores).
    """
    fallback = asdict(SIDE_VIEWS) if settings.haar_fallback else None
    key = hashlib.sha256(f"{labeled.root.resolve()}|{labeled.files_hash()}|{asdict(settings)}|"
                         f"{fallback}|{CHIP_PADDING}|{_CACHE_VERSION}|"
                         f"{weights_sha256()}".encode())
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "facegender" / "embeddings" / f"{labeled.root.name}-{key.hexdigest()[:12]}.npy"


def _embed_paths(paths: list[Path], settings: DlibSettings) -> np.ndarray:
    """Embedding of the largest face of each photo; a NaN row where none is found."""
    from ..detection import DlibDetector
    from ..errors import FaceGenderError
    from ..features import default_embedder
    from ..images import read_image

    hog, embedder = DlibDetector(settings), default_embedder()
    out = np.full((len(paths), EMBEDDING_SIZE), np.nan, dtype=np.float32)
    for i, path in enumerate(paths):
        try:
            image = read_image(path)
        except FaceGenderError:
            continue
        boxes = hog.detect(image)
        if boxes:
            out[i] = embedder.embed(image, boxes[:1])[0]
    return out


def embed_folder(
    labeled: LabeledSet, settings: DlibSettings, *, workers: int = 2, progress: bool = False,
) -> np.ndarray:
    """``(n, 128)`` float32 embeddings of a labeled folder, NaN rows where no face; cached."""
    from tqdm import tqdm

    cache = embeddings_cache(labeled, settings)
    if cache.is_file():
        log.info("embeddings from cache %s", cache)
        return np.load(cache)
    paths = list(labeled.paths)
    chunks = [paths[i : i + 64] for i in range(0, len(paths), 64)]
    with process_pool(max(1, workers)) as pool:
        parts = list(tqdm(pool.map(_embed_paths, chunks, [settings] * len(chunks)),
                          total=len(chunks), desc=f"embed {labeled.root.name}",
                          disable=not progress))
    emb = np.vstack(parts) if parts else np.empty((0, EMBEDDING_SIZE), np.float32)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.save(cache, emb)
    return emb


def sample_per_class(labeled: LabeledSet, per_class: int | None, seed: int) -> LabeledSet:
    """At most ``per_class`` photos of each class, drawn with ``seed``; all when None.

    Embedding costs about a tenth of a second per photo on one core, so a
    seeded sample answers most questions in minutes instead of an hour.
    """
    if per_class is None:
        return labeled
    rng = np.random.default_rng(seed)
    keep = [rng.choice(idx, min(per_class, len(idx)), replace=False)
            for idx in (np.flatnonzero(labeled.labels == c) for c in (0, 1))]
    return labeled.subset(np.sort(np.concatenate(keep)))


def _split_found(
    emb: np.ndarray, labels: np.ndarray, seed: int
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Rows with a face, their labels, and their train / validation / test indices."""
    found = ~np.isnan(emb).any(axis=1)
    X, y = emb[found], labels[found]
    if len(y) < 20 or min(np.bincount(y, minlength=2)) < 5:
        raise BadRequest(f"too few faces to train on: {np.bincount(y, minlength=2).tolist()} "
                         "(need >= 5 per class)")
    return X, y, list(split_indices(y, seed))


def train_embedding(
    data_dir: str | Path,
    out_dir: str | Path,
    *,
    seed: int = 0,
    grid: dict[str, list[Any]] | None = None,
    extra: list[str | Path] | None = None,
    per_class: int | None = None,
    settings: DlibSettings | None = None,
    workers: int = 2,
    progress: bool = True,
    report: bool = True,
    name: str = "embedding",
    external: list[str | Path] | None = None,
) -> GenderModel:
    """Train, evaluate, save and report an embedding model; returns it.

    Parameters
    ----------
    data_dir : labeled folder of photos (``female/`` + ``male/``)
    out_dir : where ``model.skops``, ``manifest.json`` and ``report/`` go
    seed : fixes the splits and the SVM: same data and seed, same model
    grid : ``GridSearchCV`` grid over ``svm__C`` and ``svm__gamma``
    extra : more labeled folders to train on; each keeps its own test part aside
    per_class : use a seeded sample of at most this many photos per class of each folder
    external : labeled folders measured end to end after training; never tuned on
    """
    t_start = time.perf_counter()
    settings = (settings or DlibSettings()).validate()
    parts: dict[str, dict[str, Any]] = {}
    for folder in [data_dir, *(extra or [])]:
        labeled = sample_per_class(scan_labeled(folder), per_class, seed)
        emb = embed_folder(labeled, settings, workers=workers, progress=progress)
        X, y, (tr, va, te) = _split_found(emb, labeled.labels, seed)
        parts[labeled.root.name] = {"X": X, "y": y, "tr": tr, "va": va, "te": te,
                                    "photos": len(labeled), "per_class": labeled.counts(),
                                    "sampled_per_class": per_class,
                                    "files_sha256": labeled.files_hash()}
    main_name = scan_labeled(data_dir).root.name
    X_tr = np.vstack([p["X"][p["tr"]] for p in parts.values()])
    y_tr = np.concatenate([p["y"][p["tr"]] for p in parts.values()])
    X_va = np.vstack([p["X"][p["va"]] for p in parts.values()])
    y_va = np.concatenate([p["y"][p["va"]] for p in parts.values()])
    grid = grid or DEFAULT_GRID
    search = GridSearchCV(build_embedding_pipeline(seed=seed, calibrate=False), grid,
                          scoring="balanced_accuracy", n_jobs=workers, refit=False,
                          cv=StratifiedKFold(3, shuffle=True, random_state=seed)).fit(X_tr, y_tr)
    params = dict(search.best_params_)
    pipe = build_embedding_pipeline(seed=seed)
    pipe.set_params(**{k.replace("svm__", "svm__estimator__"): v for k, v in params.items()})
    model = GenderModel(pipeline=pipe.fit(X_tr, y_tr))
    p_val = model.predict_proba(X_va)[:, 1]
    threshold, uncertain_share = choose_threshold(y_va, p_val)
    metrics = {"validation": classification_metrics(y_va, p_val, seed=seed)}
    for pname, p in parts.items():
        key = "test" if pname == main_name else f"test:{pname}"
        metrics[key] = _test_metrics(model, p["X"][p["te"]], p["y"][p["te"]], threshold, seed)
    model.manifest = {
        "name": name, "version": __version__, "features": "embedding", "seed": seed,
        "embedding": {"weights_sha256": weights_sha256(),
                      "network": "dlib_face_recognition_resnet_model_v1", "landmarks":
                      "shape_predictor_5_face_landmarks", "chip_size": 150,
                      "chip_padding": CHIP_PADDING, "size": EMBEDDING_SIZE},
        "detector": {"kind": "hog", **asdict(settings)},
        "serving_detector": FinderSettings().to_manifest(),
        "hyperparameters": {k: jsonable(v) for k, v in params.items()},
        "cv_balanced_accuracy": float(search.best_score_),
        "grid": {k: [jsonable(v) for v in vs] for k, vs in grid.items()},
        "uncertain_threshold": threshold, "uncertain_share_validation": uncertain_share,
        "training_data": {
            "source": main_name, "extra_sources": [n for n in parts if n != main_name],
            "per_source": {n: {"photos": p["photos"], "photos_per_class": p["per_class"],
                               "faces": len(p["y"]), "files_sha256": p["files_sha256"],
                               "sampled_per_class": p["sampled_per_class"],
                               "split": {"train": len(p["tr"]), "validation": len(p["va"]),
                                         "test_kept_aside": len(p["te"])}}
                           for n, p in parts.items()},
            "split": {"train": len(y_tr), "validation": len(y_va)},
            "note": "each source split 70/15/15 stratified with the seed; test parts never "
                    "trained or tuned on",
        },
    }
    for folder in external or []:
        from .assess import evaluate_folder

        log.info("external check on %s", folder)
        metrics[f"external:{Path(folder).name}"] = evaluate_folder(model, folder, progress=progress)
    model.manifest["metrics"] = {k: strip_curves(v) for k, v in metrics.items()}
    model.manifest["train_seconds"] = round(time.perf_counter() - t_start, 1)
    out = save_model(model, out_dir)
    if report:
        from .report_embedding import write_embedding_report

        write_embedding_report(model, metrics, out / "report")
    log.info("saved %s to %s", name, out)
    return model


def _test_metrics(model: GenderModel, X: np.ndarray, y: np.ndarray, threshold: float,
                  seed: int) -> dict[str, Any]:
    """Test metrics plus the share left uncertain and the accuracy of confident answers."""
    p = model.predict_proba(X)[:, 1]
    return {**classification_metrics(y, p, seed=seed), **confident_answers(y, p, threshold)}
