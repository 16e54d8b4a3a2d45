"""The face network in 8-bit integers: the float graph quantized by onnxruntime.

Why: the ResNet is most of an embedding model's time once the finder is fast (2.9 ms a
face in float on 2 cores; a 24-face group photo 70 ms of its 170). onnxruntime's int8
convolutions run it about 2.5x faster on a CPU with VNNI (AVX-512 or AVX), and its outputs
stay within a cosine of 0.999 of the float ones on real faces
(``tests/features/test_resnet_int8.py``, reports/experiments.md).

Quantizing needs each layer's range of values on real faces. :func:`calibrate` measures
them once, on aligned chips of training photos (no labels read), as onnxruntime's
calibration record; a model trained on int8 rows keeps that record in its manifest, and
:func:`quantize` rebuilds the same int8 graph from it and the installed weights at first
use (~0.4 s, in memory and a temporary folder; nothing is downloaded or kept).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelError

QUANTIZED_OPS = ["Conv", "MatMul", "Gemm"]
"""Node types quantized; the rest (the chip's normalisation, pooling, the pads) stay float."""


def _options() -> dict[str, Any]:
    from onnxruntime.quantization import QuantFormat, QuantType

    # weights per output channel in int8, activations in uint8: onnxruntime's recommended
    # CPU setting ("U8S8"); QDQ is its recommended graph form since 1.11
    return {"quant_format": QuantFormat.QDQ, "per_channel": True,
            "weight_type": QuantType.QInt8, "activation_type": QuantType.QUInt8,
            "op_types_to_quantize": QUANTIZED_OPS}


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Without onnxruntime's advice to pre-process the graph, logged on the root logger at
    every quantization (a server's every worker): its shape inference needs ``sympy`` and
    changed nothing here (same speed and outputs, measured 2026-12-04)."""
    def advice(record: logging.LogRecord) -> bool:
        return "pre-processing" not in record.getMessage()

    root = logging.getLogger()
    root.addFilter(advice)
    try:
        yield
    finally:
        root.removeFilter(advice)


def _quantize_static(model: bytes, reader: Any = None, record: dict[str, Any] | None = None
                     ) -> tuple[bytes, dict[str, Any]]:
    """onnxruntime's ``quantize_static`` of the float graph ``model`` in a temporary folder
    (it reads and writes files): the int8 graph and the calibration record, measured with
    ``reader`` or, when ``record`` is given, taken from it."""
    from onnxruntime.quantization import quantize_static

    with tempfile.TemporaryDirectory(prefix="facegender-int8-") as tmp:
        folder = Path(tmp)
        (folder / "float.onnx").write_bytes(model)
        if record is not None:
            (folder / "ranges.json").write_text(json.dumps(record))
        with _quiet():
            quantize_static(folder / "float.onnx", folder / "int8.onnx", reader,
                            calibration_cache_path=folder / "ranges.json", **_options())
        return ((folder / "int8.onnx").read_bytes(),
                json.loads((folder / "ranges.json").read_text()))


def calibrate(model: bytes, chips: np.ndarray, batch: int = 10) -> dict[str, Any]:
    """onnxruntime's calibration record (each tensor's min and max) of the float graph
    ``model`` over aligned ``(N, 150, 150, 3)`` RGB chips."""
    import onnx
    from onnxruntime.quantization import CalibrationDataReader

    if chips.ndim != 4 or not len(chips):
        raise ValueError(f"expected (N, 150, 150, 3) chips, got {chips.shape}")
    name = onnx.load_from_string(model).graph.input[0].name

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._batches = iter(range(0, len(chips), batch))

        def get_next(self) -> dict[str, np.ndarray] | None:
            start = next(self._batches, None)
            return None if start is None else {name: chips[start:start + batch]}

    return _quantize_static(model, reader=Reader())[1]


def quantize(model: bytes, record: dict[str, Any]) -> bytes:
    """The int8 graph of the float graph ``model`` with the ranges of a :func:`calibrate`
    record; :class:`ModelError` when the record does not fit the graph (another build)."""
    try:
        return _quantize_static(model, record=record)[0]
    except (KeyError, ValueError, TypeError) as exc:
        raise ModelError(f"the model's int8 calibration record does not fit the face "
                         f"network's graph ({type(exc).__name__}: {exc}); retrain it") from exc


def record_sha256(record: dict[str, Any]) -> str:
    """A calibration record's identity (key order ignored): sessions and caches are kept
    per record."""
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()
