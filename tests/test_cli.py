"""The command line through click's CliRunner: outputs, files written, exit codes."""

from __future__ import annotations

import csv
import itertools
import json
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from facegender.cli import main
from facegender.draw import COLORS_BGR, UNCERTAIN_BGR, draw_faces
from facegender.features.preprocess import ALIGN_PADDING
from facegender.images import read_image
from facegender.training.crop import recorded_recipe
from facegender.types import Box, Face, Prediction


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
    assert set(face) == {"box", "gender", "confidence", "probabilities", "uncertain",
                         "uncertain_below"}
    assert face["uncertain"] == (face["confidence"] < face["uncertain_below"])
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


# analyze --draw: the annotated photo, drawn by the web result page's own draw_faces

def _faces_of(report: dict) -> list[Face]:
    """The faces an ``analyze --json`` report lists, as the library's objects."""
    return [Face(Box(**f["box"]), Prediction(f["gender"], f["probabilities"]["female"],
                                             f["probabilities"]["male"], f["uncertain"]))
            for f in report["faces"]]


def _far_from_boxes(shape: tuple[int, ...], faces: list[Face]) -> np.ndarray:
    """Pixels farther from every box than the box's own size, and off its label's row.

    A label is as wide as its text at the photo's font size, which can be wider than a
    small face's box: its band (above or below the box) is left out to the right.
    """
    far = np.ones(shape[:2], dtype=bool)
    for f in faces:
        b, m = f.box, max(f.box.w, f.box.h)
        far[max(0, b.y - m):b.y + b.h + m, max(0, b.x - m):b.x + b.w + m] = False
        far[max(0, b.y - m):b.y + b.h + m, b.x:] = False
    return far


def _outline(image: np.ndarray, face: Face) -> np.ndarray:
    """The pixels of the box's one-pixel outline, as drawn by cv2.rectangle."""
    b = face.box
    x1, y1 = b.x + b.w - 1, b.y + b.h - 1
    return np.concatenate([image[b.y, b.x:x1 + 1], image[y1, b.x:x1 + 1],
                           image[b.y:y1 + 1, b.x], image[b.y:y1 + 1, x1]])


def test_analyze_draw_marks_exactly_the_reported_boxes(runner, group_photo, tmp_path) -> None:
    out = tmp_path / "drawn.png"  # lossless, so pixels compare exactly
    res = runner.invoke(main, ["analyze", str(group_photo), "--json", "--draw", str(out)])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert set(report) == {"path", "image", "faces", "timings_ms"}  # the JSON shape as before
    faces = _faces_of(report)
    assert len(faces) == 3  # Obama, Biden and a girl half in shadow behind them
    photo = read_image(group_photo)
    drawn = cv2.imread(str(out), cv2.IMREAD_COLOR)
    assert drawn is not None and drawn.shape == photo.shape
    assert (report["image"]["height"], report["image"]["width"]) == drawn.shape[:2]
    # the web page's drawing, pixel for pixel: same function, colours and labels
    assert np.array_equal(drawn, draw_faces(photo, faces))
    changed = (drawn != photo).any(axis=2)
    thick = max(1, round(max(photo.shape[:2]) / 400))
    for face in faces:
        b = face.box
        color = UNCERTAIN_BGR if face.prediction.uncertain else COLORS_BGR[face.gender]
        assert (_outline(drawn, face) != _outline(photo, face)).any(axis=1).all()
        assert tuple(drawn[b.y + b.h // 2, b.x]) == color  # left edge in the gender's colour
        inner = changed[b.y + 2 * thick:b.y + b.h - 2 * thick,
                        b.x + 2 * thick:b.x + b.w - 2 * thick]
        assert not inner.any()  # the face itself is not painted over
    far = _far_from_boxes(photo.shape, faces)
    assert far.mean() > 0.5 and not changed[far].any()
    assert "wrote" not in res.stdout and f"wrote {out}" in res.stderr


def _text_boxes(text: str, photo: Path) -> list[tuple[int, int, int, int]]:
    """The boxes ``analyze``'s text output lists under one photo."""
    lines = text.split(f"{photo}: ", 1)[1].splitlines()[1:]
    listed = itertools.takewhile(lambda line: line.startswith("  #"), lines)
    return [(int(x), int(y), int(w), int(h))
            for x, y, w, h in (re.search(r"box=\((\d+),(\d+),(\d+),(\d+)\)", line)
                               .groups() for line in listed)]


def test_analyze_draw_several_photos_into_a_new_folder(runner, shared_data, tmp_path) -> None:
    photos = [shared_data / "detection/portraits/obama_and_biden.jpg",
              shared_data / "detection/no_face/coins.png"]
    args = ["analyze", *map(str, photos)]
    folder = tmp_path / "made" / "drawn"
    plain = runner.invoke(main, args)
    res = runner.invoke(main, [*args, "--draw", str(folder)])
    assert res.exit_code == 0, res.output
    assert res.stdout == plain.stdout  # the text output is unchanged
    assert sorted(p.name for p in folder.iterdir()) == [
        "coins.annotated.jpg", "obama_and_biden.annotated.jpg"]
    for photo in photos:
        original = read_image(photo).astype(int)
        drawn = cv2.imread(str(folder / f"{photo.stem}.annotated.jpg"), cv2.IMREAD_COLOR)
        assert drawn is not None and drawn.shape == original.shape
        diff = np.abs(drawn.astype(int) - original).max(axis=2)
        boxes = _text_boxes(res.stdout, photo)
        if photo.name == "coins.png":
            assert not boxes and diff.mean() < 2  # no face: the photo, re-encoded as JPEG
            continue
        assert boxes
        for x, y, w, _ in boxes:
            assert np.median(diff[y + 1, x:x + w]) > 60  # the box's top edge, in colour
        faces = [Face(Box(*b), Prediction("male", 0.0, 1.0, False)) for b in boxes]
        assert diff[_far_from_boxes(original.shape, faces)].mean() < 2  # the rest: JPEG noise


@pytest.mark.parametrize("out", ["drawn.gif", "drawn", "drawn.JPG.bak"])
def test_analyze_draw_bad_suffix_exit_2(runner, group_photo, tmp_path, out) -> None:
    res = runner.invoke(main, ["analyze", str(group_photo), "--draw", str(tmp_path / out)])
    assert res.exit_code == 2 and isinstance(res.exception, SystemExit)
    assert res.stdout == "" and len(res.stderr.strip().splitlines()) == 1
    assert res.stderr.startswith("error: --draw ") and ".jpg, .jpeg, .png, .webp" in res.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("how", ["same", "dotted", "several"])
def test_analyze_draw_refuses_to_overwrite_an_input(runner, group_photo, tmp_path, how) -> None:
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(group_photo.read_bytes())
    photos, out = [photo], photo
    if how == "dotted":
        (tmp_path / "sub").mkdir()
        out = tmp_path / "sub" / ".." / "photo.jpg"
    elif how == "several":  # photo.jpg would be drawn onto the other input
        other = tmp_path / "photo.annotated.jpg"
        other.write_bytes(group_photo.read_bytes())
        photos, out = [photo, other], tmp_path
    res = runner.invoke(main, ["analyze", *map(str, photos), "--draw", str(out)])
    assert res.exit_code == 2 and isinstance(res.exception, SystemExit)
    assert "refusing to overwrite the input photo" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    for p in photos:
        assert p.read_bytes() == group_photo.read_bytes()


@pytest.mark.parametrize("case", ["folder_is_a_file", "same_stem", "several_into_image_name",
                                  "cannot_make_folder"])
def test_analyze_draw_unusable_target_exit_2(runner, shared_data, tmp_path, case) -> None:
    portraits = shared_data / "detection/portraits"
    photos = [portraits / "obama.jpg", portraits / "biden.jpg"]
    a_file = tmp_path / "a_file.txt"
    a_file.write_text("not a folder")
    out = {"folder_is_a_file": a_file, "same_stem": tmp_path / "drawn",
           "several_into_image_name": tmp_path / "drawn.jpg",
           "cannot_make_folder": a_file / "drawn"}[case]
    if case == "same_stem":
        (tmp_path / "copy").mkdir()
        photos[1] = tmp_path / "copy" / "obama.jpg"
        photos[1].write_bytes(photos[0].read_bytes())
    res = runner.invoke(main, ["analyze", *map(str, photos), "--draw", str(out)])
    assert res.exit_code == 2 and isinstance(res.exception, SystemExit)
    assert res.stderr.startswith("error: --draw") and len(res.stderr.strip().splitlines()) == 1
    assert not list(tmp_path.glob("**/*.annotated.jpg"))
