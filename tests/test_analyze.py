"""analyze_image: faces, crops, reconstructions, timings, JSON shape."""

from __future__ import annotations

import json

import numpy as np

from facegender.analyze import analyze_image
from facegender.images import read_image
from facegender.types import Box


def test_analysis_of_two_faces(tiny_model, group_photo) -> None:
    image = read_image(group_photo)
    result = analyze_image(image, tiny_model, reconstruct=True)
    assert len(result.faces) >= 2
    assert (result.width, result.height) == (image.shape[1], image.shape[0])
    for face in result.faces:
        assert face.crop is not None and face.crop.shape == (100, 100)
        assert face.reconstruction is not None and face.reconstruction.shape == (100, 100)
        # The reconstruction resembles its own crop more than another face's crop.
        assert np.corrcoef(face.crop.ravel(), face.reconstruction.ravel())[0, 1] > 0.5
    assert set(result.timings_ms) == {"detect", "preprocess", "classify"}
    json.dumps(result.to_dict())  # JSON-ready


def test_no_face_is_an_empty_list(tiny_model) -> None:
    result = analyze_image(np.full((200, 300, 3), 128, np.uint8), tiny_model)
    assert result.faces == [] and result.to_dict()["faces"] == []


def test_box_iou() -> None:
    a = Box(0, 0, 10, 10)
    assert a.iou(a) == 1.0
    assert a.iou(Box(5, 0, 10, 10)) == 50 / 150
    assert a.iou(Box(20, 20, 5, 5)) == 0.0
