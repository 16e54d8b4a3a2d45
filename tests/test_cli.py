"""The command line through click's CliRunner: outputs, files written, exit codes."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import pytest
from click.testing import CliRunner

from facegender.cli import main
from facegender.features.preprocess import ALIGN_PADDING
from facegender.images import read_image
from facegender.training.crop import recorded_recipe


@pytest.fixture()
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(scope="module")
def photo_dir(tmp_path_factory, astronaut, shared_data) -> Path:
    d = tmp_path_factory.mktemp("photos")
    cv2.imwrite(str(d / "astronaut.png"), astronaut)
    sub = d / "sub"
    sub.mkdir()
    (sub / "obama.jpg").write_bytes((shared_data / "detection/portraits/obama.jpg").read_bytes())
    (d / "coins.png").write_bytes((shared_data / "detection/no_face/coins.png").read_bytes())
    (d / "broken.jpg").write_bytes(b"not really a jpeg")
    return d


def test_analyze_json(runner, photo_dir, tiny_model_dir) -> None:
    res = runner.invoke(main, ["analyze", str(photo_dir / "astronaut.png"), "--json",
                               "--model", str(tiny_model_dir)])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["image"] == {"width": 512, "height": 512}
    assert len(out["faces"]) == 1
    face = out["faces"][0]
    assert set(face) == {"box", "gender", "confidence", "probabilities", "uncertain"}
    assert abs(sum(face["probabilities"].values()) - 1) < 1e-3


def test_analyze_text_several(runner, photo_dir, tiny_model_dir) -> None:
    res = runner.invoke(main, ["analyze", str(photo_dir / "astronaut.png"),
                               str(photo_dir / "coins.png"), "--model", str(tiny_model_dir)])
    assert res.exit_code == 0
    assert "astronaut.png: 1 face(s)" in res.output and "coins.png: 0 face(s)" in res.output


@pytest.mark.parametrize("name", ["broken.jpg", "missing.jpg"])
def test_analyze_bad_path_exit_2(runner, photo_dir, tiny_model_dir, name) -> None:
    res = runner.invoke(main, ["analyze", str(photo_dir / name), "--model", str(tiny_model_dir)])
    assert res.exit_code == 2
    assert "error:" in res.output and "Traceback" not in res.output


def test_bad_model_exit_1(runner, photo_dir, tmp_path) -> None:
    res = runner.invoke(main, ["analyze", str(photo_dir / "astronaut.png"), "--model",
                               str(tmp_path)])
    assert res.exit_code == 1 and "manifest.json is missing" in res.output


def test_batch_csv(runner, photo_dir, tiny_model_dir, tmp_path) -> None:
    out = tmp_path / "r.csv"
    res = runner.invoke(main, ["batch", str(photo_dir), "--out", str(out), "--model",
                               str(tiny_model_dir)])
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(out.read_text().splitlines()))
    by_file = {Path(r["path"]).name: r for r in rows}
    assert by_file["broken.jpg"]["error"] and not by_file["astronaut.png"]["error"]
    assert "obama.jpg" in by_file  # recursive
    assert by_file["coins.png"]["faces"] == "0" and not by_file["coins.png"]["gender"]
    r = by_file["astronaut.png"]
    assert abs(float(r["p_female"]) + float(r["p_male"]) - 1) < 1e-3


def test_batch_whole_image(runner, tiny_model_dir, tmp_path, astronaut) -> None:
    d = tmp_path / "crops"
    d.mkdir()
    cv2.imwrite(str(d / "face.png"), astronaut[60:190, 165:290])
    out = tmp_path / "w.csv"
    res = runner.invoke(main, ["batch", str(d), "--out", str(out), "--whole-image",
                               "--model", str(tiny_model_dir)])
    assert res.exit_code == 0
    rows = list(csv.DictReader(out.read_text().splitlines()))
    assert len(rows) == 1 and rows[0]["w"] == "125" and rows[0]["h"] == "130"


def test_evaluate(runner, tiny_model_dir, tiny_raw, tmp_path) -> None:
    res = runner.invoke(main, ["evaluate", str(tiny_model_dir), str(tiny_raw), "--out",
                               str(tmp_path / "ev")])
    assert res.exit_code == 0, res.output
    metrics = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert metrics["n"] == 300 and 0.5 < metrics["face_found_rate"] <= 1
    assert (tmp_path / "ev" / "confusion.png").exists()


def test_data_inspect(runner, tiny_raw, tmp_path) -> None:
    res = runner.invoke(main, ["data", "inspect", str(tiny_raw), "--out", str(tmp_path / "i")])
    assert res.exit_code == 0
    summary = json.loads((tmp_path / "i" / "summary.json").read_text())
    assert summary["classes"]["female"]["n"] == 150
    assert (tmp_path / "i" / "widths.png").exists()


def test_crop_is_resumable(runner, tiny_raw, tmp_path) -> None:
    first = runner.invoke(main, ["crop", str(tiny_raw), str(tmp_path / "c"), "--workers", "2"])
    assert first.exit_code == 0
    s1 = json.loads(first.output[first.output.index("{"):])
    assert s1["written"] > 150 and s1["written"] + s1["no_face"] == 300
    assert len(list((tmp_path / "c" / "Crop_Female").iterdir())) > 50
    again = runner.invoke(main, ["crop", str(tiny_raw), str(tmp_path / "c")])
    s2 = json.loads(again.output[again.output.index("{"):])
    assert s2["written"] == 0 and s2["exists"] == s1["written"]
    assert s2["skipped_before"] == s1["no_face"]
    chips = [read_image(p) for p in sorted((tmp_path / "c" / "Crop_Male").iterdir())[:20]]
    assert {c.shape for c in chips} == {(100, 100, 3)}  # aligned chips, the model's input


def test_crop_square_is_the_course_crop_and_a_recipe_change_starts_over(
        runner, tiny_raw, tmp_path) -> None:
    aligned = runner.invoke(main, ["crop", str(tiny_raw), str(tmp_path / "c")])
    assert aligned.exit_code == 0
    square = runner.invoke(main, ["crop", "--square", str(tiny_raw), str(tmp_path / "s")])
    assert square.exit_code == 0, square.output
    s = json.loads(square.output[square.output.index("{"):])
    crops = [read_image(p) for p in sorted((tmp_path / "s" / "Crop_Male").iterdir())[:20]]
    assert all(c.shape[0] == c.shape[1] for c in crops)
    assert len({c.shape for c in crops}) > 3  # square Haar crops at the photo's own scale
    a = json.loads(aligned.output[aligned.output.index("{"):])
    assert s["no_face"] > a["no_face"]  # Haar alone finds fewer faces than dlib's detector
    assert recorded_recipe(tmp_path / "s")["detector"]["kind"] == "haar"
    assert recorded_recipe(tmp_path / "c")["align_padding"] == ALIGN_PADDING


def test_train_refuses_non_labeled_folder(runner, tmp_path) -> None:
    res = runner.invoke(main, ["train", "--data", str(tmp_path), "--out", str(tmp_path / "m")])
    assert res.exit_code == 2 and "not a labeled folder" in res.output
