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


def test_warm_up_loads_everything_a_first_request_would(shared_data, monkeypatch) -> None:
    """After warm_up, analysing a real photo in the same thread loads nothing more: no
    BlazeFace interpreter, no landmark model, no ONNX session (each about 0.1-0.5 s)."""
    import sys
    import threading

    import facegender
    from facegender.analyze import warm_up
    from facegender.detection import FaceFinder, landmarks, tflite_runners
    from facegender.features import embedding

    model = facegender.load_model("embedding")
    explainer = facegender.load_model("eigenface")
    finder = FaceFinder()
    photo = read_image(shared_data / "detection/portraits/obama_and_biden.jpg")
    loads: list[str] = []
    real_runner = tflite_runners.LiteRTRunner.__init__
    real_predictor = landmarks.Aligner._predictor
    real_session = embedding.OnnxResNet.__init__

    def runner(self, *a, **k):  # type: ignore[no-untyped-def]
        loads.append("interpreter")
        real_runner(self, *a, **k)

    def predictor(self):  # type: ignore[no-untyped-def]
        if getattr(self._local, "predictor", None) is None:
            loads.append("landmarks")
        return real_predictor(self)

    def session(self, *a, **k):  # type: ignore[no-untyped-def]
        loads.append("onnx")
        real_session(self, *a, **k)

    monkeypatch.setattr(tflite_runners.LiteRTRunner, "__init__", runner)
    monkeypatch.setattr(landmarks.Aligner, "_predictor", predictor)
    monkeypatch.setattr(embedding.OnnxResNet, "__init__", session)
    fresh = embedding.Embedder()  # its ONNX session not built yet
    monkeypatch.setattr(sys.modules["facegender.analyze"], "default_embedder", lambda: fresh)
    result: dict[str, object] = {}

    def thread() -> None:  # a new thread: no interpreter or predictor of its own yet
        result["ms"] = warm_up(model, finder, explainer)
        result["warm"] = list(loads)
        loads.clear()
        result["faces"] = len(analyze_image(photo, model, detector=finder,
                                            explainer=explainer, reconstruct=True).faces)

    worker = threading.Thread(target=thread)
    worker.start()
    worker.join()
    assert {"interpreter", "landmarks", "onnx"} <= set(result["warm"])  # type: ignore[arg-type]
    assert loads == [], f"loaded on the first request after warm-up: {loads}"
    assert result["faces"] == 3 and result["ms"] > 0  # type: ignore[operator]


def test_embedding_model_cuts_crops_only_when_asked(group_photo) -> None:
    """The shipped embedding model answers from its network's values: the 100x100 crops
    are cut for a page (reconstruct) or when asked, else left out; same answers either way."""
    from facegender.persist import load_model

    model, explainer = load_model("embedding"), load_model("eigenface")
    image = read_image(group_photo)
    bare = analyze_image(image, model)
    asked = analyze_image(image, model, crops=True)
    page = analyze_image(image, model, reconstruct=True, explainer=explainer)
    assert len(bare.faces) == len(asked.faces) == len(page.faces) >= 2
    assert all(f.crop is None and f.reconstruction is None for f in bare.faces)
    assert all(f.crop is not None and f.crop.shape == (100, 100) for f in asked.faces)
    assert all(f.reconstruction is not None for f in page.faces)
    assert [f.prediction for f in bare.faces] == [f.prediction for f in asked.faces] \
        == [f.prediction for f in page.faces]
