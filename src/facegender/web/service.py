"""The web layer's use of the library: bytes in, a JSON-ready result out.

Built once per process by ``create_app`` (model loaded, detector built) and
kept in ``app.extensions["facegender"]``; views never load anything.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from ..analyze import Analysis, Detector, analyze_image, detector_for, warm_up
from ..draw import draw_faces, to_uint8
from ..errors import BadRequest
from ..images import decode_image, encode_png
from ..model import GenderModel

DISPLAY_MAX_SIDE = 1280


def png_data_uri(image: np.ndarray) -> str:
    """A ``data:image/png;base64,...`` URI: results are shown without touching disk."""
    return "data:image/png;base64," + base64.b64encode(encode_png(image)).decode("ascii")


def jpeg_data_uri(image: np.ndarray, quality: int = 88) -> str:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:  # pragma: no cover - only on invalid arrays
        raise ValueError("cannot encode image")
    return "data:image/jpeg;base64," + base64.b64encode(buf.tobytes()).decode("ascii")


def parse_min_face_size(raw: str | None, limit: int) -> int | None:
    """The ``min_face_size`` option: empty or an integer in 8..limit."""
    if raw is None or str(raw).strip() == "":
        return None
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise BadRequest(f"min_face_size={raw!r} is not an integer; allowed 8..{limit}") from None
    if not 8 <= value <= limit:
        raise BadRequest(f"min_face_size={value} is out of range; allowed 8..{limit}")
    return value


def pick_service(services: dict[str, Service], name: str | None) -> Service:
    """The service of the model called ``name`` (the default, first, when empty)."""
    if not name:
        return next(iter(services.values()))
    if name not in services:
        raise BadRequest(f"model={name!r} is not loaded; available: {', '.join(services)}")
    return services[name]


def parse_bool(raw: str | None, name: str) -> bool:
    if raw is None or raw == "":
        return False
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise BadRequest(f"{name}={raw!r} is not a boolean; use true or false")


@dataclass
class Service:
    """The loaded model and detector plus the limits they are used under."""

    model: GenderModel
    detector: Detector | None = None
    """None: the detector the model's manifest names (dlib HOG with fallbacks, or Haar)."""
    max_pixels: int = 40_000_000
    explainer: GenderModel | None = None
    """An eigen-face model that draws reconstructions for an embedding model's faces."""
    _about: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.detector is None:
            self.detector = detector_for(self.model)

    def warm_up(self) -> float:
        """Load every lazy part this service's requests use, in this thread; ms taken."""
        return warm_up(self.model, self.detector, self.explainer)

    @property
    def model_info(self) -> dict[str, Any]:
        m = self.model.manifest
        return {"name": m.get("name", "eigenface"), "version": m.get("version", "unknown"),
                "sha256": m.get("sha256", "")}

    def analyze(self, data: bytes, *, min_face_size: int | None = None,
                reconstruct: bool = False) -> tuple[np.ndarray, Analysis, float]:
        """Decode and analyze; returns the image, the analysis and the decode time in ms."""
        t0 = time.perf_counter()
        image = decode_image(data, max_pixels=self.max_pixels)
        decode_ms = (time.perf_counter() - t0) * 1e3
        analysis = analyze_image(image, self.model, detector=self.detector,
                                 min_face_size=min_face_size, reconstruct=reconstruct,
                                 explainer=self.explainer)
        return image, analysis, decode_ms

    def api_result(self, data: bytes, *, min_face_size: int | None,
                   include_crops: bool) -> dict[str, Any]:
        """The ``POST /api/v1/analyze`` body, minus ``request_id``."""
        t0 = time.perf_counter()
        _, analysis, decode_ms = self.analyze(data, min_face_size=min_face_size,
                                              reconstruct=include_crops)
        out = analysis.to_dict()
        if include_crops:
            for face_json, face in zip(out["faces"], analysis.faces, strict=True):
                face_json["crop_png"] = _b64_png(face.crop)
                face_json["reconstruction_png"] = _b64_png(face.reconstruction)
        out["timings_ms"] = {"decode": round(decode_ms, 2), **out["timings_ms"],
                             "total": round((time.perf_counter() - t0) * 1e3, 2)}
        return {"model": self.model_info, **out}

    def page_result(self, name: str, data: bytes, min_face_size: int | None) -> dict[str, Any]:
        """What the result page shows for one upload (images as data URIs)."""
        image, analysis, _ = self.analyze(data, min_face_size=min_face_size, reconstruct=True)
        drawn = draw_faces(image, analysis.faces)
        h, w = drawn.shape[:2]
        if max(h, w) > DISPLAY_MAX_SIDE:
            s = DISPLAY_MAX_SIDE / max(h, w)
            drawn = cv2.resize(drawn, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
        faces = []
        for i, face in enumerate(analysis.faces):
            faces.append({
                "index": i + 1, "face": face, "box": face.box,
                "crop": png_data_uri(to_uint8(face.crop)) if face.crop is not None else None,
                "reconstruction": png_data_uri(to_uint8(face.reconstruction))
                if face.reconstruction is not None else None,
            })
        return {"name": name, "width": analysis.width, "height": analysis.height,
                "annotated": jpeg_data_uri(drawn), "faces": faces, "error": None}

    def about(self) -> dict[str, Any]:
        """Mean face and eigen faces as data URIs, computed once."""
        if self._about is None:
            mean = self.model.mean_face()
            eig = self.model.eigenfaces(12)
            eig_imgs = []
            if eig is not None:
                for e in eig:
                    lo, hi = float(e.min()), float(e.max())
                    eig_imgs.append(png_data_uri(to_uint8((e - lo) / (hi - lo or 1.0))))
            self._about = {
                "mean_face": png_data_uri(to_uint8(mean)) if mean is not None else None,
                "eigenfaces": eig_imgs,
            }
        return self._about


def _b64_png(gray01: np.ndarray | None) -> str | None:
    if gray01 is None:
        return None
    return base64.b64encode(encode_png(to_uint8(gray01))).decode("ascii")
