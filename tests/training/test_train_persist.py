"""Training end to end on a tiny real subset; the saved artifact; the loader's refusals."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from facegender import load_model
from facegender.errors import ModelError
from facegender.persist import MANIFEST_FILE, MODEL_FILE, sha256_file

pytestmark = pytest.mark.slow


def test_artifact_manifest_and_report(tiny_model_dir: Path) -> None:
    manifest = json.loads((tiny_model_dir / MANIFEST_FILE).read_text())
    assert manifest["sha256"] == sha256_file(tiny_model_dir / MODEL_FILE)
    for key in ("name", "version", "created", "hyperparameters", "training_data", "metrics",
                "uncertain_threshold"):
        assert key in manifest
    td = manifest["training_data"]
    assert td["photos"] == 300 and td["layout"] == "raw"
    assert td["faces"] == td["crop_summary"]["written"] + td["crop_summary"]["exists"]
    assert len(td["files_sha256"]) == 64
    test = manifest["metrics"]["test"]
    lo, hi = test["balanced_accuracy_ci95"]
    assert lo <= test["balanced_accuracy"] <= hi
    ext = manifest["metrics"]["external:tiny-utk0"]
    assert ext["n"] == 40 and ext["n_with_face"] >= 30  # padded detection finds tight chips
    report = tiny_model_dir / "report"
    text = (report / "report.md").read_text()
    assert "External check: `tiny-utk0`" in text
    assert "chip aligned by dlib's 5 landmarks (padding 0.1)" in text
    for name in ("report.md", "samples.png", "mean_face.png", "eigenfaces.png",
                 "explained_variance.png", "confusion.png", "roc.png", "reliability.png"):
        assert (report / name).stat().st_size > 100, name


def test_tiny_model_beats_chance_on_held_out(tiny_model_dir: Path) -> None:
    test = json.loads((tiny_model_dir / MANIFEST_FILE).read_text())["metrics"]["test"]
    assert test["n"] >= 30
    assert test["roc_auc"] > 0.6
    assert test["balanced_accuracy"] > 0.58


def test_same_seed_same_model(tiny_model_dir: Path, tiny_raw: Path, tmp_path: Path) -> None:
    from facegender.training.train_eigenface import TINY_GRID, train

    crops = tiny_model_dir.parent / "crops"  # reuse the crops: same photos, same detector
    again = train(tiny_raw, tmp_path / "m", crops_dir=crops, grid=TINY_GRID, workers=2,
                  progress=False, report=False, seed=0)
    first = load_model(tiny_model_dir)
    rows = np.random.default_rng(0).uniform(0, 1, (5, 10000)).astype(np.float32)
    np.testing.assert_allclose(first.predict_proba(rows), again.predict_proba(rows), atol=1e-4)
    assert again.manifest["hyperparameters"] == first.manifest["hyperparameters"]


def test_extra_source_joins_training_and_keeps_its_test_part(
        tiny_model_dir: Path, tiny_raw: Path, tiny_external: Path, tmp_path: Path) -> None:
    from facegender.training.train_eigenface import TINY_GRID, train

    crops = tiny_model_dir.parent / "crops"
    model = train(tiny_raw, tmp_path / "m", crops_dir=crops, grid=TINY_GRID, workers=2,
                  progress=False, seed=0, extra=[tiny_external])
    td = model.manifest["training_data"]
    utk = td["extra_sources"][tiny_external.name]
    assert utk["photos"] == 40 and utk["faces"] >= 30  # aligned chips of tight UTKFace faces
    first = json.loads((tiny_model_dir / MANIFEST_FILE).read_text())["training_data"]
    assert td["split"] == first["split"]  # the main folder splits as without the extra
    part = model.manifest["metrics"][f"test:{tiny_external.name}"]
    assert part["n"] == utk["split"]["test"] and 0.0 <= part["balanced_accuracy"] <= 1.0
    assert model.manifest["metrics"]["validation"]["n"] == (
        first["split"]["validation"] + utk["split"]["validation"])
    report = (tmp_path / "m" / "report" / "report.md").read_text()
    assert f"Held-out test part of `{tiny_external.name}`" in report
    assert f"Also trained on the training part of `{tiny_external.name}`" in report


def test_loader_refuses_altered_file(tiny_model_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    shutil.copytree(tiny_model_dir, bad)
    data = bytearray((bad / MODEL_FILE).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (bad / MODEL_FILE).write_bytes(bytes(data))
    with pytest.raises(ModelError, match="does not match its manifest"):
        load_model(bad)


def test_loader_refuses_corrupt_file_even_with_matching_hash(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad"
    shutil.copytree(tiny_model_dir, bad)
    (bad / MODEL_FILE).write_bytes(b"this is not a zip file")
    manifest = json.loads((bad / MANIFEST_FILE).read_text())
    manifest["sha256"] = sha256_file(bad / MODEL_FILE)
    (bad / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(ModelError, match="cannot be loaded"):
        load_model(bad)


@pytest.mark.parametrize("remove", [MODEL_FILE, MANIFEST_FILE])
def test_loader_missing_files(tiny_model_dir: Path, tmp_path: Path, remove: str) -> None:
    bad = tmp_path / "bad"
    shutil.copytree(tiny_model_dir, bad)
    (bad / remove).unlink()
    with pytest.raises(ModelError, match="missing"):
        load_model(bad)


def test_classify_crops_and_reconstruct(tiny_model, astronaut) -> None:
    from facegender.features.preprocess import preprocess_batch

    preds = tiny_model.classify_crops([astronaut[60:190, 165:290]])
    assert len(preds) == 1 and preds[0].gender in ("female", "male")
    assert abs(preds[0].p_female + preds[0].p_male - 1) < 1e-6
    rec = tiny_model.reconstruct(preprocess_batch([astronaut[60:190, 165:290]]))
    assert rec is not None and rec.shape == (1, 100, 100)


def test_model_reads_faces_the_way_it_was_trained(tiny_model, astronaut) -> None:
    """Trained on aligned chips cut by the BlazeFace finder: served with the same finder
    (the manifest's own settings) and aligned chips. A model whose manifest predates
    alignment keeps Haar and square crops."""
    from dataclasses import replace

    from facegender.analyze import detector_for, face_features
    from facegender.detection import FaceFinder
    from facegender.detection.haar import HaarDetector
    from facegender.features.preprocess import ALIGN_PADDING, crop_face, face_images, preprocess

    assert tiny_model.manifest["preprocess"]["align_padding"] == ALIGN_PADDING
    assert tiny_model.manifest["detector"]["kind"] == "blazeface"
    assert tiny_model.manifest["serving_detector"] == tiny_model.manifest["detector"]
    assert isinstance(detector_for(tiny_model), FaceFinder)
    boxes = detector_for(tiny_model).detect(astronaut)
    chip = preprocess(face_images(astronaut, boxes, ALIGN_PADDING)[0]).ravel()
    np.testing.assert_array_equal(face_features(astronaut, boxes, tiny_model)[0], chip)

    old = replace(tiny_model, manifest={k: v for k, v in tiny_model.manifest.items()
                                        if k not in ("preprocess", "detector",
                                                     "serving_detector")})
    assert old.align_padding is None and isinstance(detector_for(old), HaarDetector)
    square = preprocess(crop_face(astronaut, boxes[0])).ravel()
    np.testing.assert_array_equal(face_features(astronaut, boxes, old)[0], square)


def test_halving_search_finds_a_cell_as_good_as_the_full_grid(tiny_model_dir: Path) -> None:
    """Successive halving (each cell first on a third of the faces) picks a grid cell whose
    cross-validated score is within 0.05 of the best cell of the full grid, on real faces."""
    import importlib

    from sklearn.model_selection import GridSearchCV, StratifiedKFold

    from facegender.model import build_pipeline
    from facegender.training.data import scan_labeled

    te = importlib.import_module("facegender.training.train_eigenface")
    crops = scan_labeled(tiny_model_dir.parent / "crops")
    X, y = te.load_rows(crops), crops.labels
    assert len(y) >= 150  # enough faces to halve
    params, score = te._search(X, y, te.TINY_GRID, 0, 2)
    full = GridSearchCV(build_pipeline(seed=0, lbp_components=te.LBP_COMPONENTS), te.TINY_GRID,
                        scoring="balanced_accuracy", n_jobs=2,
                        cv=StratifiedKFold(3, shuffle=True, random_state=0)).fit(X, y)
    chosen = [i for i, p in enumerate(full.cv_results_["params"]) if p == params]
    assert len(chosen) == 1
    assert full.cv_results_["mean_test_score"][chosen[0]] >= full.best_score_ - 0.05
    manifest = json.loads((tiny_model_dir / MANIFEST_FILE).read_text())
    assert set(manifest["seconds"]) == {"faces", "search", "fit"}


def test_large_arrays_are_stored_in_32_bits_and_read_back_in_64(
        tiny_model_dir: Path, tmp_path: Path) -> None:
    """The file keeps support vectors and principal axes as float32 (the shipped eigen-face
    model: 47.5 -> 28.4 MB); loading gives libsvm its float64 again and the same answers."""
    import skops.io as sio

    from facegender.persist import TRUSTED_TYPES, save_model
    from facegender.training.data import scan_labeled
    from facegender.training.train_eigenface import load_rows

    model = load_model(tiny_model_dir)
    stored = sio.load(tiny_model_dir / MODEL_FILE, trusted=TRUSTED_TYPES)
    svc = stored.steps[-1][1].calibrated_classifiers_[0].estimator.estimator
    assert svc.support_vectors_.dtype == np.float32
    assert stored.named_steps["features"].transformer_list[0][1].components_.dtype == np.float32
    loaded_svc = model.pipeline.steps[-1][1].calibrated_classifiers_[0].estimator.estimator
    assert loaded_svc.support_vectors_.dtype == np.float64
    rows = load_rows(scan_labeled(tiny_model_dir.parent / "crops"))[:50]
    before = model.predict_proba(rows)
    save_model(model, tmp_path / "again")  # the model in memory keeps its float64 arrays
    assert loaded_svc.support_vectors_.dtype == np.float64
    np.testing.assert_allclose(load_model(tmp_path / "again").predict_proba(rows), before,
                               atol=1e-6)
