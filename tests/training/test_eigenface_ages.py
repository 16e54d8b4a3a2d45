"""The eigen-face model's uncertain bar per guessed age group, learned from a source with ages."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from facegender.features import guess_groups, preprocess
from facegender.features.fast import compile_groups, compile_shared
from facegender.images import read_image
from facegender.persist import load_model
from facegender.training.data import scan_labeled


@pytest.mark.slow
def test_eigenface_model_gets_a_bar_per_guessed_age_group(
    tiny_raw: Path, aged_utk: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from facegender.training.train_eigenface import TINY_GRID, train

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # the extra source's crops
    out = tmp_path / "model"
    train(tiny_raw, out, crops_dir=tmp_path / "crops", grid=TINY_GRID, workers=2,
          progress=False, seed=0, extra=[aged_utk])
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["features"] == "eigenface"
    assert manifest["age_groups"]["labels"] == ["0-2", "3-12", "13-19", "20-59", "60+"]
    assert set(manifest["uncertain_thresholds"]) == set(manifest["age_groups"]["labels"])
    assert manifest["age_groups"]["trained_on"] == [aged_utk.name]  # the source with ages
    assert manifest["uncertain_threshold"] == manifest["uncertain_thresholds"]["20-59"]
    report = (out / "report" / "report.md").read_text()
    assert "for adults' faces" in report and "Uncertain threshold per guessed age group" in report
    model = load_model(out)
    # the age model reads the gender pipeline's own fitted features: one object, saved once
    features = model.age_groups.steps[0][1]
    assert features.steps[0][1] is model.pipeline.steps[0][1]
    # each face's bar is its guessed group's, from pixel rows as the model serves them
    crops = scan_labeled(tmp_path / "crops")  # the main folder's aligned crops
    rows = np.stack([preprocess(read_image(p)).ravel() for p in crops.paths[:40]])
    guessed = guess_groups(model.age_groups.predict_proba(rows), 0.8)
    table = np.array([manifest["uncertain_thresholds"][g]
                      for g in manifest["age_groups"]["labels"]])
    np.testing.assert_array_equal(model.thresholds(rows), table[guessed])
    # served through the fast path (its feature steps as numpy), the same groups
    fast = compile_groups(model.age_groups, 0.8)
    assert fast is not None
    np.testing.assert_array_equal(fast(rows), guessed)
    # the features computed once for both heads: the same answers as each head on its own
    assert compile_shared(model.pipeline, model.age_groups, 0.8) is not None
    widths = np.arange(60, 100)
    assert model.predict(rows, widths) == model.predictions(model.predict_proba(rows),
                                                            model.thresholds(rows, widths))
    assert model._fast_shared


def test_a_model_without_ages_keeps_one_bar(tiny_model) -> None:
    """Trained on photos without ages (the tiny model's IMDB-WIKI subset): one bar, as before."""
    assert tiny_model.age_groups is None and "uncertain_thresholds" not in tiny_model.manifest
    rows = np.zeros((3, 100 * 100), np.float32)
    np.testing.assert_array_equal(tiny_model.thresholds(rows), [tiny_model.threshold] * 3)
