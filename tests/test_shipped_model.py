"""The shipped model: loads, matches its manifest, and is right on real faces."""

from __future__ import annotations

import json

import pytest

import facegender
from facegender.persist import default_model_dir, sha256_file


def test_shipped_model_loads_and_matches_manifest() -> None:
    folder = default_model_dir()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert sha256_file(folder / manifest["file"]) == manifest["sha256"]
    assert (folder / manifest["file"]).stat().st_size < 25 * 1024 * 1024
    model = facegender.load_model()
    assert model.manifest["sha256"] == manifest["sha256"]
    test = manifest["metrics"]["test"]
    assert test["balanced_accuracy"] >= 0.80


def test_shipped_model_on_the_astronaut(astronaut) -> None:
    model = facegender.load_model()
    faces = facegender.analyze(astronaut, model)
    assert len(faces) == 1
    assert faces[0].gender == "female"


@pytest.mark.parametrize(("name", "gender"), [("obama.jpg", "male"), ("biden.jpg", "male")])
def test_shipped_model_on_portraits(shared_data, name: str, gender: str) -> None:
    model = facegender.load_model()
    faces = facegender.analyze(facegender.read_image(shared_data / "detection/portraits" / name),
                               model)
    assert faces and faces[0].gender == gender
