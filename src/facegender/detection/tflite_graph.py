"""BlazeFace's full-range graph rewritten for a larger (or non-square) input.

Why: the network is convolutional, but its file fixes the input at 192x192 in four places
the runtimes cannot change by themselves: the input tensor's shape, the three bilinear
upsamplings' output sizes (6->12->24->48 cells) and the shapes of the two outputs (2,304
anchors). With those rewritten, one run on a 384x288 copy of a group photo sees what six
192 px tiles of it saw (the same pixels a face), in 6.7 ms instead of ~20 (six runs, each
with its letterbox and merging), without the tiles' seams. The weights are untouched, so at
192x192 the rewritten graph gives the file's outputs exactly (``tests/detection``).

The file is read with the TFLite schema that ``ai-edge-litert`` ships
(``schema_py_generated``) and the shape values are written in place in a copy of its bytes
(the same number of values, so nothing moves; ~1 ms); nothing is written to disk.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from ..errors import ModelError

NATIVE = 192
"""The full-range model's own input side."""
CELL = 32
"""An input side must be a multiple of this: the network's coarsest map is 1/32 of it."""


@functools.lru_cache(maxsize=16)
def resized_graph(path: Path, height: int, width: int) -> bytes:
    """The serialized full-range model at path, taking ``(1, height, width, 3)`` inputs.

    Both sides must be multiples of :data:`CELL`. The outputs become
    ``(1, height/4 * width/4, 16)`` and ``(..., 1)``: one anchor per 4x4 cell, in the
    same row-major order as the 192 px model's 48x48. Cached per shape.
    """
    if height % CELL or width % CELL or min(height, width) < CELL:
        raise ValueError(f"input sides must be positive multiples of {CELL}, not "
                         f"{height}x{width}")
    from ai_edge_litert import schema_py_generated as fb

    buf = bytearray(path.read_bytes())  # the schema's numpy views write through to it
    model = fb.Model.GetRootAs(buf, 0)
    graph = model.Subgraphs(0)
    codes = [max(model.OperatorCodes(i).BuiltinCode(),
                 model.OperatorCodes(i).DeprecatedBuiltinCode())
             for i in range(model.OperatorCodesLength())]
    shape = graph.Tensors(graph.Inputs(0)).ShapeAsNumpy()
    if list(shape) != [1, NATIVE, NATIVE, 3]:
        raise ModelError(f"{path.name} is not BlazeFace's full-range model")
    shape[1:3] = height, width
    k = np.array([height / NATIVE, width / NATIVE])
    resizes = reshapes = 0
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        code = codes[op.OpcodeIndex()]
        if code == fb.BuiltinOperator.RESIZE_BILINEAR:  # its size: a constant (h, w)
            data = model.Buffers(graph.Tensors(op.Inputs(1)).Buffer()).DataAsNumpy()
            size = data.view(np.int32)
            size[:] = np.round(size * k).astype(np.int32)
            resizes += 1
        elif code == fb.BuiltinOperator.RESHAPE:  # its new shape is (1, -1, C) already
            graph.Tensors(op.Outputs(0)).ShapeAsNumpy()[1] = (height // 4) * (width // 4)
            reshapes += 1
    if (resizes, reshapes) != (3, 2):
        raise ModelError(f"{path.name}: unexpected graph ({resizes} upsamplings, "
                         f"{reshapes} reshapes; expected 3 and 2)")
    return bytes(buf)
