"""Detection on real photos: faces found where they are, none where there are none."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from facegender.detection.haar import SIDE_VIEWS, DetectorSettings, HaarDetector
from facegender.errors import BadRequest
from facegender.images import read_image
from facegender.types import Box


def test_finds_the_astronaut(astronaut: np.ndarray) -> None:
    boxes = HaarDetector().detect(astronaut)
    assert len(boxes) == 1
    # Eileen Collins' face is around x 170-280, y 60-180 in skimage's 512x512 image.
    assert boxes[0].iou(Box(175, 65, 100, 100)) > 0.5


def test_boxes_inside_image_and_in_original_pixels(astronaut: np.ndarray) -> None:
    big = cv2.resize(astronaut, (2048, 2048))
    boxes = HaarDetector().detect(big)
    assert len(boxes) == 1
    b = boxes[0]
    assert b.x >= 0 and b.y >= 0 and b.x + b.w <= 2048 and b.y + b.h <= 2048
    small = HaarDetector().detect(astronaut)[0]
    assert b.iou(Box(small.x * 4, small.y * 4, small.w * 4, small.h * 4)) > 0.7


def test_tight_crop_found_thanks_to_padding(astronaut: np.ndarray) -> None:
    face = astronaut[60:190, 165:290]  # the face fills the frame
    plain = HaarDetector(DetectorSettings(pad_fraction=0.0)).detect(face)
    padded = HaarDetector().detect(face)
    assert len(padded) == 1
    assert len(plain) <= len(padded)


def test_two_faces(group_photo) -> None:
    boxes = HaarDetector().detect(read_image(group_photo))
    assert len(boxes) >= 2
    assert boxes[0].area >= boxes[1].area


@pytest.mark.parametrize("name", ["coins.png", "page.png", "chelsea.png", "rocket.jpg"])
def test_no_face_photos(shared_data, name: str) -> None:
    image = read_image(shared_data / "detection" / "no_face" / name)
    assert HaarDetector().detect(image) == []


def test_blank_and_grayscale_inputs(astronaut: np.ndarray) -> None:
    det = HaarDetector()
    assert det.detect(np.zeros((50, 80, 3), np.uint8)) == []
    gray = cv2.cvtColor(astronaut, cv2.COLOR_BGR2GRAY)
    assert len(det.detect(gray)) == 1


def test_min_face_size_filters(astronaut: np.ndarray) -> None:
    assert HaarDetector().detect(astronaut, min_face_size=300) == []


def test_settings_validated() -> None:
    with pytest.raises(BadRequest, match="scale_factor=0.9"):
        HaarDetector(DetectorSettings(scale_factor=0.9))


def test_tilted_heads_found_by_the_turned_search(shared_data: Path) -> None:
    upright_only = HaarDetector(DetectorSettings(rotations=()))
    tuned = HaarDetector()
    chips = sorted((shared_data / "utkface" / "female").glob("*.jpg"))[:5]
    missed_upright = found = 0
    for path in chips:
        chip = read_image(path)
        h, w = chip.shape[:2]
        m = cv2.getRotationMatrix2D((w / 2, h / 2), 28, 1.0)
        tilted = cv2.warpAffine(chip, m, (w, h), borderMode=cv2.BORDER_REPLICATE)
        missed_upright += not upright_only.detect(tilted)
        boxes = tuned.detect(tilted)
        if boxes:
            cx, cy = boxes[0].x + boxes[0].w / 2, boxes[0].y + boxes[0].h / 2
            found += abs(cx - w / 2) < w / 4 and abs(cy - h / 2) < h / 4
    assert missed_upright >= 4  # the cascade alone misses a head tilted by 28 degrees
    assert found == 5


@pytest.mark.parametrize("name", ["female/female_001070.jpg", "male/male_002135.jpg",
                                  "female/female_000297.jpg"])
@pytest.mark.parametrize("mirrored", [False, True])
def test_side_views_found_by_the_profile_search(shared_data: Path, name: str,
                                                mirrored: bool) -> None:
    photo = read_image(shared_data / "imdbwiki" / name)
    if mirrored:  # the profile cascade knows one direction; the mirror search covers the other
        photo = cv2.flip(photo, 1)
    assert HaarDetector().detect(photo) == []  # the default: frontal searches only
    boxes = HaarDetector(SIDE_VIEWS).detect(photo)
    assert len(boxes) == 1
    h, w = photo.shape[:2]
    b = boxes[0]
    assert b.w > w / 5 and b.x >= 0 and b.x + b.w <= w and b.y + b.h <= h
    assert abs(b.x + b.w / 2 - w / 2) < w / 3  # the face, near the middle of the portrait


def test_profile_search_draws_no_face_on_no_face_photos(shared_data: Path) -> None:
    det = HaarDetector(replace(SIDE_VIEWS, rotations=()))
    for path in sorted((shared_data / "detection" / "no_face").glob("*.*")):
        if path.suffix in (".png", ".jpg"):
            assert det.detect(read_image(path)) == [], path.name


def test_model_recorded_before_the_profile_search_is_served_without_it() -> None:
    from facegender.detection import haar_settings

    assert haar_settings({"min_neighbors": 3}).profile_min_neighbors == 0  # e.g. eigenface
    assert haar_settings({"profile_min_neighbors": 3}).profile_min_neighbors == 3


def test_embedding_detector_falls_back_to_side_views(shared_data: Path) -> None:
    pytest.importorskip("dlib")
    from facegender.detection.dlib_chain import DlibDetector, DlibSettings

    photo = read_image(shared_data / "imdbwiki" / "female/female_003012.jpg")
    hog_only = DlibSettings(haar_fallback=False, cnn_work_size=0)
    assert DlibDetector(hog_only).detect(photo) == []
    assert HaarDetector().detect(photo) == []  # nor the frontal Haar searches
    assert len(DlibDetector(DlibSettings(cnn_work_size=0)).detect(photo)) == 1


def test_embedding_detector_asks_the_cnn_last(shared_data: Path) -> None:
    """A helmeted three-quarter face (IMDB-WIKI) that HOG and every Haar search miss."""
    pytest.importorskip("dlib")
    from facegender.detection.dlib_chain import DlibDetector, DlibSettings

    photo = read_image(shared_data / "imdbwiki" / "male/male_002544.jpg")  # 330 x 330
    assert DlibDetector(DlibSettings(cnn_work_size=0)).detect(photo) == []
    (box,) = DlibDetector().detect(photo)
    assert 100 < box.w < 250 and box.x < 165 < box.x + box.w  # the face, mid-photo


def test_shipped_detector_looks_again_for_small_faces_beside_a_found_one(
        shared_data: Path) -> None:
    """A PASCAL VOC group photo: HOG at 320 px finds one of three people; the second HOG
    pass on a 640 px copy, run because that face is small for the photo, finds the others."""
    pytest.importorskip("dlib")
    from facegender.detection.dlib_chain import DlibDetector, DlibSettings

    photo = read_image(shared_data / "detection" / "group" / "2008_001322.jpg")
    one = DlibDetector(DlibSettings(small_face_size=0)).detect(photo)
    assert len(one) == 1
    boxes = DlibDetector().detect(photo)
    assert len(boxes) == 3 and any(b.iou(one[0]) > 0.5 for b in boxes)
    assert all(a.iou(b) < 0.3 for i, a in enumerate(boxes) for b in boxes[i + 1:])


def test_embedding_detector_with_every_fallback_finds_no_face_where_there_is_none(
        shared_data: Path) -> None:
    pytest.importorskip("dlib")
    from facegender.detection.dlib_chain import DlibDetector

    det = DlibDetector()
    for path in sorted((shared_data / "detection" / "no_face").iterdir()):
        if path.suffix in (".png", ".jpg"):
            assert det.detect(read_image(path)) == [], path.name


def test_dlib_steps_a_manifest_does_not_name_are_off_and_added_ones_are_served() -> None:
    """A model is served with the detector it was measured with: steps newer than its
    manifest stay off, unless the manifest lists them as added after training."""
    pytest.importorskip("dlib")
    from facegender import load_model
    from facegender.detection import detector_for, dlib_settings

    old = dlib_settings({"kind": "hog", "work_size": 320})
    assert old.cnn_work_size == 0 and old.small_face_size == 0 and old.work_size == 320
    eigenface = load_model("eigenface")  # cut by the finder: served by it, even unnamed
    eigenface.manifest.pop("serving_detector")
    assert detector_for(eigenface).settings.kind == "blazeface"
    for name in ("embedding",):  # as shipped before 2026-12-03: cut by dlib's chain
        model = load_model(name)
        # the training detector, as a manifest without a serving detector is served
        model.manifest = {k: v for k, v in model.manifest.items() if k != "serving_detector"}
        model.manifest["detector"] = {"cnn_work_size": 160, "haar_fallback": True, "kind": "hog",
                                      "min_score": -0.2, "pad_fraction": 0.2, "upsample": 0,
                                      "work_size": 320}
        model.manifest["detector_added_after_training"] = {"small_face_size": 640,
                                                           "small_face_min_score": 0.5}
        served = detector_for(model).settings
        assert served.cnn_work_size == 160  # trained and measured with it
        assert served.small_face_size == 640 and served.small_face_min_score == 0.5
