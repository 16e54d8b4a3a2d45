"""dlib's 128-d face-embedding ResNet: its weights, read from dlib's own file.

The file is dlib's serialization (``dlib_face_recognition_resnet_model_v1.dat``
from the ``face_recognition_models`` package, public domain). Only the weighted
layers are read: 29 convolutions (``con_``), 29 per-channel scale-and-shift
layers (``affine_``, dlib's frozen batch norm) and one fully connected layer
(``fc_``), in the order the network applies them; the wiring between them is
dlib's published ``anet_type`` (dlib/examples/dnn_face_recognition_ex.cpp),
written out as an ONNX graph by :mod:`.resnet_onnx`. Each affine layer is folded
into the convolution before it, so the network is convolution, ReLU and additions.

Why not dlib's own ``compute_face_descriptor``: the ``dlib-bin`` wheel is built
without BLAS (~80 ms a face here, against ~5 ms in onnxruntime). A numpy forward
pass of these weights served until onnxruntime beat it (13.4 vs 5.0 ms a face,
benchmarks/results/embedding_speed.md) and was removed; the tests compare the
graph with dlib's own vectors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ModelError

CHIP = 150
"""Side of the aligned RGB chip the network takes."""
BLOCKS: tuple[tuple[int, int], ...] = ((32, 3), (64, 4), (128, 3), (256, 3), (256, 1))
"""(channels, residual blocks) of each level, input side first; each level after the
first starts with a down-sampling block."""


@dataclass(frozen=True)
class Conv:
    """A convolution with the following affine layer folded in; ``weight`` is (out, kh, kw, in)."""

    weight: np.ndarray
    bias: np.ndarray
    stride: int
    pad: int


@dataclass(frozen=True)
class ResNetWeights:
    """What the network needs: input means, 29 convolutions, the (256, 128) last layer."""

    means: np.ndarray
    convs: tuple[Conv, ...]
    fc: np.ndarray


class _Reader:
    """dlib's serialization primitives over a byte string (dlib/serialize.h)."""

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data, self.pos = data, pos

    def int(self) -> int:
        """A packed integer: a control byte (size | 0x80 if negative), then size bytes, LE."""
        control = self.data[self.pos]
        size = control & 0x0F
        if size > 8:
            raise ModelError(f"dlib weight file: bad integer at byte {self.pos}")
        value = int.from_bytes(self.data[self.pos + 1:self.pos + 1 + size], "little")
        self.pos += 1 + size
        return -value if control & 0x80 else value

    def float(self) -> float:
        """A portable float: packed integer mantissa times 2 ** packed exponent."""
        mantissa = self.int()
        return float(np.ldexp(float(mantissa), self.int()))

    def tensor(self) -> np.ndarray:
        """A tensor (version 2): n, k, nr, nc, then little-endian float32 values."""
        if self.int() != 2:
            raise ModelError(f"dlib weight file: unknown tensor version at byte {self.pos}")
        shape = tuple(self.int() for _ in range(4))
        count = int(np.prod(shape))
        values = np.frombuffer(self.data, "<f4", count, self.pos)
        self.pos += 4 * count
        return values.reshape(shape).astype(np.float32)


def _layers(data: bytes, name: bytes) -> list[int]:
    """Offsets just after each serialized layer name ``name`` (length byte + text)."""
    tag = bytes([1, len(name)]) + name
    found, start = [], 0
    while (at := data.find(tag, start)) >= 0:
        found.append(at + len(tag))
        start = at + 1
    return found


def parse_weights(data: bytes) -> ResNetWeights:
    """Read the weighted layers of dlib's face ResNet from the bytes of its ``.dat`` file.

    Raises
    ------
    ModelError
        When the bytes are not that network (wrong layer counts or shapes).
    """
    try:
        means_at = _layers(data, b"input_rgb_image_sized")
        cons, affines = _layers(data, b"con_4"), _layers(data, b"affine_")
        fcs = _layers(data, b"fc_2")
        if (len(means_at), len(cons), len(affines), len(fcs)) != (1, 29, 29, 1):
            raise ModelError("not dlib's face ResNet: expected 29 con, 29 affine, 1 fc layers, "
                             f"found {len(cons)}, {len(affines)}, {len(fcs)}")
        r = _Reader(data, means_at[0])
        means = np.array([r.float() for _ in range(3)], dtype=np.float32)
        convs = tuple(_conv(data, c, a) for c, a in zip(cons, affines, strict=True))
        r = _Reader(data, fcs[0])
        outputs, inputs = r.int(), r.int()
        fc = r.tensor().reshape(inputs, outputs)
    except (IndexError, ValueError) as exc:
        raise ModelError(f"dlib weight file is damaged: {exc}") from exc
    _check_shapes(convs, fc)
    return ResNetWeights(means, convs, fc)


def _conv(data: bytes, con_at: int, affine_at: int) -> Conv:
    """One ``con_`` layer (params, then filters, rows, cols, strides, paddings) and its affine."""
    r = _Reader(data, con_at)
    params = r.tensor().ravel()
    filters, rows, cols, stride_y, stride_x, pad_y, pad_x = (r.int() for _ in range(7))
    if stride_y != stride_x or pad_y != pad_x or rows != cols:
        raise ModelError("dlib weight file: only square convolutions are expected")
    inputs = (params.size - filters) // (filters * rows * cols)
    weight = params[:filters * inputs * rows * cols].reshape(filters, inputs, rows, cols)
    bias = params[filters * inputs * rows * cols:]
    gamma_beta = _Reader(data, affine_at).tensor().ravel()
    gamma, beta = gamma_beta[:filters], gamma_beta[filters:]
    weight = (weight * gamma[:, None, None, None]).transpose(0, 2, 3, 1)
    return Conv(np.ascontiguousarray(weight, dtype=np.float32),
                (bias * gamma + beta).astype(np.float32), stride_y, pad_y)


def _check_shapes(convs: tuple[Conv, ...], fc: np.ndarray) -> None:
    """The layers must chain as :data:`BLOCKS` says, or the wiring below would be wrong."""
    expected = [(32, 3, 7, 2)]
    width = 32
    for level, (channels, blocks) in enumerate(BLOCKS):
        for block in range(blocks):
            first_stride = 2 if level and not block else 1
            expected += [(channels, width, 3, first_stride), (channels, channels, 3, 1)]
            width = channels
    got = [(c.weight.shape[0], c.weight.shape[3], c.weight.shape[1], c.stride) for c in convs]
    if got != expected or fc.shape != (256, 128):
        raise ModelError("dlib weight file: layer shapes are not those of dlib's face ResNet")
