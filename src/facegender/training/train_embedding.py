"""``facegender train --features embedding``: photos to face-network features to a calibrated SVM.

the served finder's largest face -> 5-point alignment -> the face network's rows
(:mod:`.embed_cache`, cached) -> seeded stratified split (train / validation / test)
of each source -> grid search of StandardScaler + RBF SVM on train, on the network
outputs chosen (:data:`DEFAULT_OUTPUTS`) -> one fit on train, its sigmoid learned on
validation -> an age-group model on the faces with known ages, and uncertain thresholds
per age group and for small faces, on validation (:mod:`.uncertainty`) -> metrics on the
untouched test parts -> skops + manifest -> report. Extra labeled folders (``extra``) are split
the same way: their train and validation parts join the training, their test part is
measured on its own and never trained on.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from .. import __version__
from ..detection import FinderSettings
from ..errors import BadRequest
from ..features import CHIP_PADDING, guess_groups, weights_sha256
from ..features.resnet_onnx import width
from ..model import GenderModel, build_embedding_pipeline, calibrate_on_held_out
from ..persist import save_model
from .calibrate_int8 import calibrate_network
from .data import LabeledSet, scan_labeled
from .embed_cache import WIDTH, columns, embed_folder
from .evaluate import choose_threshold, classification_metrics, confident_answers
from .train_eigenface import jsonable, split_indices, strip_curves
from .uncertainty import (
    ADULTS,
    SMALL_FACE_PX,
    YOUNG_MIN_PROBABILITY,
    age_groups_manifest,
    ages_of,
    fit_age_groups,
    small_face_threshold,
    thresholds_by_group,
)

log = logging.getLogger(__name__)

DEFAULT_GRID: dict[str, list[Any]] = {"svm__C": [1.0, 3.0, 10.0], "svm__gamma": ["scale"]}
TINY_GRID: dict[str, list[Any]] = {"svm__C": [1.0], "svm__gamma": ["scale"]}
PCA_COMPONENTS = 300
"""Rows wider than this are projected on their first 300 principal axes before the SVM:
on the validation parts the 768 columns of ``level3_mean`` + ``level2_grid2x2`` kept their
accuracy so (IMDB-WIKI 0.949 either way, UTKFace 0.882 vs 0.884) with 3,634 support vectors
of 300 values instead of 3,818 of 768. The default rows are narrower and go in whole."""
DEFAULT_OUTPUTS: tuple[str, ...] = ("level4_mean",)
"""The 256 values the network's 128-d embedding is a projection of. On the validation parts
(all photos, finder faces, C=3) IMDB-WIKI 0.945 -> 0.953 accuracy, ROC-AUC 0.975 -> 0.981,
UTKFace 0.876 / 0.945 -> 0.876 / 0.946; trained on one source and tested on the other, the
best accuracy both ways (IMDB-WIKI to UTKFace 0.822 -> 0.834, back 0.937 -> 0.938), where the
wider inner rows ranked as well but their boundary moved more between sources (recalls
0.85 / 0.98 from UTKFace to IMDB-WIKI). reports/experiments.md."""


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
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[np.ndarray]]:
    """Which rows hold a face, those rows, their labels, and their train / validation /
    test indices."""
    found = ~np.isnan(emb).any(axis=1)
    X, y = emb[found], labels[found]
    if len(y) < 20 or min(np.bincount(y, minlength=2)) < 5:
        raise BadRequest(f"too few faces to train on: {np.bincount(y, minlength=2).tolist()} "
                         "(need >= 5 per class)")
    return found, X, y, list(split_indices(y, seed))


def train_embedding(
    data_dir: str | Path,
    out_dir: str | Path,
    *,
    seed: int = 0,
    grid: dict[str, list[Any]] | None = None,
    extra: list[str | Path] | None = None,
    per_class: int | None = None,
    settings: FinderSettings | None = None,
    outputs: tuple[str, ...] = DEFAULT_OUTPUTS,
    workers: int = 2,
    progress: bool = True,
    report: bool = True,
    name: str = "embedding",
    external: list[str | Path] | None = None,
    int8: bool = True,
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
    settings : the face finder's (the served one's by default)
    outputs : the face network's outputs the classifier reads, side by side
    external : labeled folders measured end to end after training; never tuned on
    int8 : run the face network in 8-bit integers, calibrated first on faces of a seeded
        sample of ``data_dir`` (:mod:`.calibrate_int8`): ~2.5x faster rows, the model served
        the same way; False: in float, as every model before 2026-12-04
    """
    t_start = time.perf_counter()
    settings = (settings or FinderSettings()).validate()
    width(outputs)
    record, calibrated_on = (calibrate_network(scan_labeled(data_dir), settings, seed)
                             if int8 else (None, None))
    parts: dict[str, dict[str, Any]] = {}
    for folder in [data_dir, *(extra or [])]:
        labeled = sample_per_class(scan_labeled(folder), per_class, seed)
        rows = embed_folder(labeled, settings, workers=workers, progress=progress, int8=record)
        found, X, y, (tr, va, te) = _split_found(rows[:, columns(outputs)], labeled.labels, seed)
        ages = ages_of(labeled)
        parts[labeled.root.name] = {"X": X, "y": y, "tr": tr, "va": va, "te": te,
                                    "widths": rows[found, WIDTH],
                                    "ages": None if ages is None else ages[found],
                                    "photos": len(labeled), "per_class": labeled.counts(),
                                    "sampled_per_class": per_class,
                                    "files_sha256": labeled.files_hash()}
    main_name = scan_labeled(data_dir).root.name
    X_tr, y_tr = _stack(parts, "tr")
    X_va, y_va = _stack(parts, "va")
    grid = grid or DEFAULT_GRID
    n_components = PCA_COMPONENTS if width(outputs) > PCA_COMPONENTS else None
    search = GridSearchCV(build_embedding_pipeline(seed=seed, n_components=n_components), grid,
                          scoring="balanced_accuracy", n_jobs=workers, refit=False,
                          cv=StratifiedKFold(3, shuffle=True, random_state=seed)).fit(X_tr, y_tr)
    params = dict(search.best_params_)
    pipe = build_embedding_pipeline(seed=seed, n_components=n_components).set_params(**params)
    # one SVM fit, its sigmoid on validation: a head retrains from the cached rows within a minute
    model = GenderModel(pipeline=calibrate_on_held_out(pipe.fit(X_tr, y_tr), X_va, y_va))
    p_val = model.predict_proba(X_va)[:, 1]
    threshold, _ = choose_threshold(y_va, p_val)
    w_va = np.concatenate([p["widths"][p["va"]] for p in parts.values()])
    by_group = _age_groups(model, parts, X_va, y_va, p_val, w_va, seed)
    small = small_face_threshold(y_va, p_val, w_va)
    model.manifest = {
        "name": name, "version": __version__, "features": "embedding", "seed": seed,
        "embedding": {"weights_sha256": weights_sha256(),
                      "network": "dlib_face_recognition_resnet_model_v1", "landmarks":
                      "shape_predictor_5_face_landmarks", "chip_size": 150,
                      "chip_padding": CHIP_PADDING, "outputs": list(outputs),
                      "size": width(outputs), "pca_components": n_components,
                      "precision": "int8" if record else "float",
                      **({"int8_calibration": record, "int8_calibrated_on": calibrated_on}
                         if record else {})},
        "detector": {"kind": "blazeface", **settings.to_manifest()},
        "serving_detector": settings.to_manifest(),
        "hyperparameters": {k: jsonable(v) for k, v in params.items()},
        "cv_balanced_accuracy": float(search.best_score_),
        "grid": {k: [jsonable(v) for v in vs] for k, vs in grid.items()},
        "uncertain_threshold": by_group[ADULTS]["threshold"] if by_group else threshold,
        "training_data": {
            "source": main_name, "extra_sources": [n for n in parts if n != main_name],
            "per_source": {n: {"photos": p["photos"], "photos_per_class": p["per_class"],
                               "faces": len(p["y"]), "files_sha256": p["files_sha256"],
                               "sampled_per_class": p["sampled_per_class"],
                               "ages_known": p["ages"] is not None,
                               "split": {"train": len(p["tr"]), "validation": len(p["va"]),
                                         "test_kept_aside": len(p["te"])}}
                           for n, p in parts.items()},
            "split": {"train": len(y_tr), "validation": len(y_va)},
            "note": "each source split 70/15/15 stratified with the seed; test parts never "
                    "trained or tuned on",
        },
    }
    if small:
        model.manifest["small_faces"] = small
    if by_group:
        model.manifest.update(age_groups_manifest(
            by_group, [n for n, p in parts.items() if p["ages"] is not None]))
    model.manifest["uncertain_share_validation"] = confident_answers(
        y_va, p_val, model.thresholds(X_va, w_va))["uncertain_share"]
    metrics = {"validation": classification_metrics(y_va, p_val, seed=seed)}
    for pname, p in parts.items():  # each test part, with each face's threshold
        X_te, y_te = p["X"][p["te"]], p["y"][p["te"]]
        p_te = model.predict_proba(X_te)[:, 1]
        metrics["test" if pname == main_name else f"test:{pname}"] = {
            **classification_metrics(y_te, p_te, seed=seed),
            **confident_answers(y_te, p_te, model.thresholds(X_te, p["widths"][p["te"]]))}
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


def _stack(parts: dict[str, dict[str, Any]], which: str) -> tuple[np.ndarray, np.ndarray]:
    """The rows and labels of every source's ``which`` part (``tr``, ``va`` or ``te``)."""
    return (np.vstack([p["X"][p[which]] for p in parts.values()]),
            np.concatenate([p["y"][p[which]] for p in parts.values()]))


def _age_groups(model: GenderModel, parts: dict[str, dict[str, Any]], X_va: np.ndarray,
                y_va: np.ndarray, p_val: np.ndarray, w_va: np.ndarray, seed: int
                ) -> dict[str, dict[str, Any]] | None:
    """Fit the age-group model on the training faces with known ages and choose each
    group's threshold on the validation faces that are not small (those get their own,
    :func:`.uncertainty.small_face_threshold`); None when no source has ages."""
    aged = [p for p in parts.values() if p["ages"] is not None]
    if not aged:
        return None
    X = np.vstack([p["X"][p["tr"]] for p in aged])
    ages = np.concatenate([p["ages"][p["tr"]] for p in aged])
    try:
        model.age_groups = fit_age_groups(X, ages, seed)
    except ValueError as exc:
        log.warning("no age groups: %s", exc)
        return None
    big = w_va >= SMALL_FACE_PX
    guessed = guess_groups(model.age_groups.predict_proba(X_va[big]), YOUNG_MIN_PROBABILITY)
    return thresholds_by_group(y_va[big], p_val[big], guessed)
