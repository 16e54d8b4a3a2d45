"""dlib's face ResNet as an ONNX graph, built from its weights, run by onnxruntime.

Why: onnxruntime is the field's standard CPU runtime for such networks (5.0 ms a
face on one thread, against 13.4 for the numpy pass it replaced and ~80 for
dlib's BLAS-less build). The graph is built in memory on first use from the
weights :func:`.resnet.parse_weights` reads (nothing is downloaded or written),
with dlib's wiring written out in :func:`build_model`: each shape is known for a
150x150 chip, so dlib's ``add_prev`` of two tensors of different sizes becomes a
zero ``Pad`` of the smaller one. Same vectors as dlib's own within 1e-4
(``tests/features/test_resnet.py``).

Besides the 128-d embedding the graph gives inner layers, pooled (:data:`OUTPUTS`): the
embedding was trained to tell people apart, and its last projection throws away some of
what tells a face's gender and age. A classifier on the 256 values it projects from was
more accurate on the validation parts and across sources (issue 18,
reports/experiments.md); the same forward pass gives them all.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ModelError
from ..threads import onnx_options
from .resnet import BLOCKS, CHIP, ResNetWeights

OUTPUTS: dict[str, int] = {"embedding": 128, "level4_mean": 256, "level3_mean": 256,
                           "level2_grid2x2": 512}
"""The graph's outputs and their widths: the 128-d embedding; the mean over the face of
the 256 channels after the last group of residual blocks (the embedding is a linear
projection of it); the same after the fourth group (9x9 there); the 128 channels after the
third group (18x18) averaged over each quarter of the face (2x2 cells, channel-major)."""


def width(outputs: tuple[str, ...]) -> int:
    """Row width of the :data:`OUTPUTS` named, side by side; ValueError for an unknown one."""
    unknown = [o for o in outputs if o not in OUTPUTS]
    if unknown or not outputs:
        raise ValueError(f"unknown network outputs {unknown or list(outputs)}; "
                         f"known: {list(OUTPUTS)}")
    return sum(OUTPUTS[o] for o in outputs)


def build_model(weights: ResNetWeights) -> bytes:
    """The serialized ONNX model: (N, 150, 150, 3) uint8 RGB chips in, one float32
    ``(N, width)`` tensor out per :data:`OUTPUTS` entry."""
    from onnx import TensorProto, helper, numpy_helper

    inits: list[Any] = []
    nodes: list[Any] = []
    counter = iter(range(10_000))

    def name(prefix: str) -> str:
        return f"{prefix}{next(counter)}"

    def const(value: np.ndarray, prefix: str = "c") -> str:
        n = name(prefix)
        inits.append(numpy_helper.from_array(np.asarray(value), n))
        return n

    def node(op: str, inputs: list[str], **attrs: Any) -> str:
        out = name(op.lower())
        nodes.append(helper.make_node(op, inputs, [out], **attrs))
        return out

    convs = iter(weights.convs)

    def conv(x: str, shape: tuple[int, int, int], scale: float = 1.0,
             means: np.ndarray | None = None) -> tuple[str, tuple[int, int, int]]:
        c = next(convs)
        k = c.weight.shape[1]
        w = np.ascontiguousarray(c.weight.transpose(0, 3, 1, 2))  # (out, in, kh, kw)
        bias = c.bias
        if means is not None:  # conv((x - m) * s) = conv'(x): only exact without padding
            bias = (bias - scale * (w.sum(axis=(2, 3)) @ means)).astype(np.float32)
            w = (w * np.float32(scale)).astype(np.float32)
        y = node("Conv", [x, const(w, "w"), const(bias, "b")], kernel_shape=[k, k],
                 strides=[c.stride] * 2, pads=[c.pad] * 4)
        _, h, wd = shape
        side = lambda n: (n + 2 * c.pad - k) // c.stride + 1  # noqa: E731
        return y, (c.weight.shape[0], side(h), side(wd))

    def pad_to(x: str, shape: tuple[int, int, int], to: tuple[int, int, int]) -> str:
        if shape == to:
            return x
        ends = [0, to[0] - shape[0], to[1] - shape[1], to[2] - shape[2]]
        return node("Pad", [x, const(np.array([0, 0, 0, 0, *ends], np.int64), "p")])

    # dlib's input layer subtracts the channel means and divides by 256; the first
    # convolution has no padding, so both fold into its weights and bias (the same outputs
    # up to float rounding, ~10% less time: the two elementwise passes over the chips were)
    if weights.convs[0].pad:
        raise ModelError("dlib weight file: the first convolution is padded; its input "
                         "layer cannot be folded into it")
    x = node("Cast", [node("Transpose", ["chips"], perm=[0, 3, 1, 2])], to=TensorProto.FLOAT)
    x, shape = conv(x, (3, CHIP, CHIP), 1 / 256.0, weights.means.astype(np.float64))
    x = node("MaxPool", [node("Relu", [x])], kernel_shape=[3, 3], strides=[2, 2])
    shape = (shape[0], (shape[1] - 3) // 2 + 1, (shape[2] - 3) // 2 + 1)
    for level, (_, blocks) in enumerate(BLOCKS):
        for block in range(blocks):
            down = level > 0 and block == 0
            y, yshape = conv(x, shape)
            y, yshape = conv(node("Relu", [y]), yshape)
            skip, sshape = x, shape
            if down:
                skip = node("AveragePool", [x], kernel_shape=[2, 2], strides=[2, 2])
                sshape = (shape[0], (shape[1] - 2) // 2 + 1, (shape[2] - 2) // 2 + 1)
            to = (max(yshape[0], sshape[0]), max(yshape[1], sshape[1]),
                  max(yshape[2], sshape[2]))
            x = node("Relu", [node("Add", [pad_to(y, yshape, to), pad_to(skip, sshape, to)])])
            shape = to
        if level == 2:  # 18x18: two 9x9 cells a side
            cell = [shape[1] // 2, shape[2] // 2]
            nodes.append(helper.make_node("Flatten", [node("AveragePool", [x], kernel_shape=cell,
                                                           strides=cell)], ["level2_grid2x2"]))
        if level == 3:
            nodes.append(helper.make_node("Flatten", [node("GlobalAveragePool", [x])],
                                          ["level3_mean"]))
    nodes.append(helper.make_node("Flatten", [node("GlobalAveragePool", [x])], ["level4_mean"]))
    nodes.append(helper.make_node("MatMul", ["level4_mean",
                                             const(weights.fc.astype(np.float32), "fc")],
                                  ["embedding"]))
    graph = helper.make_graph(
        nodes, "dlib_face_resnet",
        [helper.make_tensor_value_info("chips", TensorProto.UINT8, ["n", CHIP, CHIP, 3])],
        [helper.make_tensor_value_info(k, TensorProto.FLOAT, ["n", v]) for k, v in OUTPUTS.items()],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return bytes(model.SerializeToString())


class OnnxResNet:
    """An onnxruntime session of :func:`build_model`; ``embed(chips) -> (N, 128)``,
    ``run(chips, outputs)`` for the inner layers.

    One session serves every thread (onnxruntime's ``run`` is thread-safe);
    ``threads`` caps its intra-op pool (0: onnxruntime's default, one per core). ``int8``:
    a calibration record (:func:`.resnet_int8.calibrate`) to run the graph quantized.
    """

    def __init__(self, weights: ResNetWeights, threads: int = 0,
                 int8: dict[str, Any] | None = None) -> None:
        import onnxruntime as ort

        graph = build_model(weights)
        if int8 is not None:  # the same graph in 8-bit integers (:mod:`.resnet_int8`)
            from .resnet_int8 import quantize

            graph = quantize(graph, int8)
        self._session = ort.InferenceSession(graph, onnx_options(threads),
                                             providers=["CPUExecutionProvider"])

    def embed(self, chips: np.ndarray) -> np.ndarray:
        """128-d embeddings of (N, 150, 150, 3) RGB uint8 chips, float32."""
        return self.run(chips, ("embedding",))

    def run(self, chips: np.ndarray, outputs: tuple[str, ...]) -> np.ndarray:
        """The named :data:`OUTPUTS` of (N, 150, 150, 3) RGB uint8 chips, side by side:
        ``(N, sum of their widths)`` float32."""
        if chips.ndim != 4 or chips.shape[1:] != (CHIP, CHIP, 3):
            raise ValueError(f"expected (N, {CHIP}, {CHIP}, 3) RGB chips, got {chips.shape}")
        width(outputs)
        out = self._session.run(list(outputs), {"chips": np.ascontiguousarray(chips, np.uint8)})
        return np.hstack([np.asarray(o, dtype=np.float32) for o in out])
