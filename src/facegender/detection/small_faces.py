"""The finder's small-face search: a larger copy of a group or scene photo, searched whole.

Why a module of its own: when the first pass's faces are small for the photo, faces
smaller still are likely (the back rows of a group, an audience); the first pass sees the
photo at 192 px and misses them. This searches a ``small_face_size`` copy at the scale the
network sees a ``work_size`` tile at, in one run of the full-range model rewritten for the
copy's shape (:mod:`.tflite_graph`; ``small_face_pass="wide"``), or, as the finder did until
2026-12-03 and older records still rebuild, tile by tile (``"tiles"``). The finder checks
what it finds (:meth:`.finder.FaceFinder.check`) before keeping it.
"""

from __future__ import annotations

import numpy as np

from .blazeface import MODEL_SPECS, BlazeFace, Found, Runtime
from .finder_settings import FinderSettings
from .passes import nms_found, tile_corners
from .tflite_graph import CELL

STEP = 3 * CELL
"""The wide run's input sides are multiples of this (96 px): few shapes, little black."""


class SmallFaceSearch:
    """``search(big)``: the faces of a ``small_face_size`` copy, in its pixels; thread-safe."""

    def __init__(self, settings: FinderSettings, runtime: Runtime) -> None:
        self.settings = settings
        self._runtime = runtime
        self._scale = MODEL_SPECS["full"].input_size / settings.work_size
        """The scale the network sees a ``work_size`` tile at: the wide run's, too."""
        self._tiles = BlazeFace("full", runtime, settings.small_face_min_score)
        self._wides: dict[tuple[int, int], BlazeFace] = {}

    def search(self, big: np.ndarray) -> Found:
        """Every face of the copy the search's network run(s) score ``small_face_min_score``."""
        s = self.settings
        if s.small_face_pass == "wide":
            return self.wide(big.shape[:2]).detect(big)
        tile = s.work_size
        parts = []
        for x, y in tile_corners(big.shape[1], big.shape[0], tile, s.tile_overlap):
            t = self._tiles.detect(big[y:y + tile, x:x + tile])
            shift = np.array([x, y], np.float32)
            parts.append(Found(t.boxes + np.tile(shift, 2), t.keypoints + shift, t.scores))
        return nms_found(*parts)

    def warm_up(self) -> None:
        """Load this thread's interpreters: the wide run's for 4:3 photos either way up
        (cameras' and phones'; ~15 MB each), or the tiles'; other shapes load on first use
        (~15 ms)."""
        side = self.settings.small_face_size
        if not side:
            return
        models = ([self.wide((side * 3 // 4, side)), self.wide((side, side * 3 // 4))]
                  if self.settings.small_face_pass == "wide" else [self._tiles])
        for model in models:
            model.warm_up()

    def wide(self, shape: tuple[int, int]) -> BlazeFace:
        """The full-range model that takes a copy of ``shape`` (H, W) whole, at the scale
        it sees a ``work_size`` tile at (192/320).

        Its input is the copy at that scale, each side rounded up to a multiple of
        :data:`STEP` (96 px): 384x288 for a 640x480 copy, black bars for the rest of a
        16:9 one. So photos of every shape share 16 inputs, a model each, loaded once per
        thread, instead of one per shape.
        """
        key = self.wide_shape(shape)
        model = self._wides.get(key)
        if model is None:
            model = self._wides.setdefault(key, BlazeFace(
                "full", self._runtime, self.settings.small_face_min_score,
                input_shape=key, max_scale=self._scale))
        return model

    def wide_shape(self, shape: tuple[int, int]) -> tuple[int, int]:
        """The input shape :meth:`wide` uses for a copy of ``shape`` (H, W)."""
        return (max(STEP, -(-round(shape[0] * self._scale) // STEP) * STEP),
                max(STEP, -(-round(shape[1] * self._scale) // STEP) * STEP))
