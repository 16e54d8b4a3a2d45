"""dlib's 128-d face-embedding ResNet, read from its weight file and run with numpy.

Why not dlib's own ``compute_face_descriptor``: the ``dlib-bin`` wheel is built
without BLAS, so its convolutions run on dlib's fallback loops (~80 ms per face
on this project's reference CPU). The same network as a handful of matrix
products through numpy's BLAS gives the same vectors (max difference ~1e-6,
``tests/test_resnet.py``) several times faster, and runs a batch of faces in
one pass. Landmarks and the aligned 150x150 chips still come from dlib.

The file is dlib's own serialization (``dlib_face_recognition_resnet_model_v1.dat``
from the ``face_recognition_models`` package, public domain). Only the weighted
layers are read: 29 convolutions (``con_``), 29 per-channel scale-and-shift
layers (``affine_``, dlib's frozen batch norm) and one fully connected layer
(``fc_``), in the order the network applies them; the wiring between them is
dlib's published ``anet_type`` (dlib/examples/dnn_face_recognition_ex.cpp),
written out in :func:`embed_chips`. Each affine layer is folded into the
convolution before it, so the forward pass is convolution, ReLU and additions.
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
    """What the forward pass needs: input means, 29 convolutions, the (256, 128) last layer."""

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


def _windows(x: np.ndarray, size: int, stride: int) -> np.ndarray:
    """Every ``size`` x ``size`` window of (N, H, W, C), no padding: a read-only strided view
    of shape (N, OH, OW, size, size, C), ``OH = 1 + (H - size) // stride`` (dlib's rule)."""
    n, h, w, c = x.shape
    oh, ow = (h - size) // stride + 1, (w - size) // stride + 1
    sn, sh, sw, sc = x.strides
    return np.lib.stride_tricks.as_strided(
        x, (n, oh, ow, size, size, c), (sn, sh * stride, sw * stride, sh, sw, sc),
        writeable=False)


def _conv_forward(x: np.ndarray, conv: Conv) -> np.ndarray:
    """Convolve (N, H, W, C) by ``conv``: im2col as a strided view, then one matrix product."""
    k = conv.weight.shape[1]
    if conv.pad:
        p = conv.pad
        x = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
    cols = _windows(x, k, conv.stride)
    n, oh, ow = cols.shape[:3]
    out = cols.reshape(n * oh * ow, -1) @ conv.weight.reshape(conv.weight.shape[0], -1).T
    out += conv.bias
    return out.reshape(n, oh, ow, -1)


def _pool(x: np.ndarray, size: int, stride: int, op: str) -> np.ndarray:
    """dlib's max/avg pooling without padding."""
    win = _windows(x, size, stride)
    return win.max(axis=(3, 4)) if op == "max" else win.mean(axis=(3, 4), dtype=np.float32)


def _add(block: np.ndarray, skip: np.ndarray) -> np.ndarray:
    """dlib's ``add_prev``: the sum over the larger shape, each input zero outside itself."""
    shape = tuple(max(a, b) for a, b in zip(block.shape, skip.shape, strict=True))
    out = np.zeros(shape, dtype=np.float32)
    out[:, :block.shape[1], :block.shape[2], :block.shape[3]] += block
    out[:, :skip.shape[1], :skip.shape[2], :skip.shape[3]] += skip
    return out


def embed_chips(weights: ResNetWeights, chips: np.ndarray) -> np.ndarray:
    """128-d embeddings of aligned face chips, the same values dlib computes.

    Parameters
    ----------
    weights : ResNetWeights from :func:`parse_weights`
    chips : ndarray of shape (N, 150, 150, 3), RGB uint8 (dlib's ``get_face_chips`` output)

    Returns
    -------
    ndarray of shape (N, 128), float32.
    """
    if chips.ndim != 4 or chips.shape[1:] != (CHIP, CHIP, 3):
        raise ValueError(f"expected (N, {CHIP}, {CHIP}, 3) RGB chips, got {chips.shape}")
    x = (chips.astype(np.float32) - weights.means) / np.float32(256.0)
    convs = iter(weights.convs)
    x = _pool(np.maximum(_conv_forward(x, next(convs)), 0), 3, 2, "max")
    for level, (_, blocks) in enumerate(BLOCKS):
        for block in range(blocks):
            down = level > 0 and block == 0
            y = np.maximum(_conv_forward(x, next(convs)), 0)
            y = _conv_forward(y, next(convs))
            skip = _pool(x, 2, 2, "avg") if down else x
            x = np.maximum(_add(y, skip), 0)
    return x.mean(axis=(1, 2), dtype=np.float32) @ weights.fc
