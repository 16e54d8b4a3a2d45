"""dlib's face ResNet as an ONNX graph, built from its weights, run by onnxruntime.

Why: onnxruntime is the field's standard CPU runtime for such networks (5.0 ms a
face on one thread, against 13.4 for the numpy pass it replaced and ~80 for
dlib's BLAS-less build). The graph is built in memory on first use from the
weights :func:`.resnet.parse_weights` reads (nothing is downloaded or written),
with dlib's wiring written out in :func:`build_model`: each shape is known for a
150x150 chip, so dlib's ``add_prev`` of two tensors of different sizes becomes a
zero ``Pad`` of the smaller one. Same vectors as dlib's own within 1e-4
(``tests/features/test_resnet.py``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .resnet import BLOCKS, CHIP, ResNetWeights


def build_model(weights: ResNetWeights) -> bytes:
    """The serialized ONNX model: (N, 150, 150, 3) uint8 RGB chips in, (N, 128) float32 out."""
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

    def conv(x: str, shape: tuple[int, int, int]) -> tuple[str, tuple[int, int, int]]:
        c = next(convs)
        k = c.weight.shape[1]
        w = np.ascontiguousarray(c.weight.transpose(0, 3, 1, 2))  # (out, in, kh, kw)
        y = node("Conv", [x, const(w, "w"), const(c.bias, "b")], kernel_shape=[k, k],
                 strides=[c.stride] * 2, pads=[c.pad] * 4)
        _, h, wd = shape
        side = lambda n: (n + 2 * c.pad - k) // c.stride + 1  # noqa: E731
        return y, (c.weight.shape[0], side(h), side(wd))

    def pad_to(x: str, shape: tuple[int, int, int], to: tuple[int, int, int]) -> str:
        if shape == to:
            return x
        ends = [0, to[0] - shape[0], to[1] - shape[1], to[2] - shape[2]]
        return node("Pad", [x, const(np.array([0, 0, 0, 0, *ends], np.int64), "p")])

    x = node("Cast", ["chips"], to=TensorProto.FLOAT)
    x = node("Sub", [x, const(weights.means.astype(np.float32), "m")])
    x = node("Mul", [x, const(np.array(1 / 256.0, np.float32), "s")])
    x = node("Transpose", [x], perm=[0, 3, 1, 2])
    x, shape = conv(x, (3, CHIP, CHIP))
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
    x = node("Flatten", [node("GlobalAveragePool", [x])])
    nodes.append(helper.make_node("MatMul", [x, const(weights.fc.astype(np.float32), "fc")],
                                  ["embedding"]))
    graph = helper.make_graph(
        nodes, "dlib_face_resnet",
        [helper.make_tensor_value_info("chips", TensorProto.UINT8, ["n", CHIP, CHIP, 3])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["n", 128])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return bytes(model.SerializeToString())


class OnnxResNet:
    """An onnxruntime session of :func:`build_model`; ``embed(chips) -> (N, 128)``.

    One session serves every thread (onnxruntime's ``run`` is thread-safe);
    ``threads`` caps its intra-op pool (0: onnxruntime's default, one per core).
    """

    def __init__(self, weights: ResNetWeights, threads: int = 0) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(build_model(weights), options,
                                             providers=["CPUExecutionProvider"])

    def embed(self, chips: np.ndarray) -> np.ndarray:
        """128-d embeddings of (N, 150, 150, 3) RGB uint8 chips, float32."""
        if chips.ndim != 4 or chips.shape[1:] != (CHIP, CHIP, 3):
            raise ValueError(f"expected (N, {CHIP}, {CHIP}, 3) RGB chips, got {chips.shape}")
        out = self._session.run(["embedding"], {"chips": np.ascontiguousarray(chips, np.uint8)})
        return np.asarray(out[0], dtype=np.float32)
