"""Decoding: every supported format in, BGR uint8 out; bad input refused with a clear error."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageOps

from facegender.errors import PayloadTooLarge, UnprocessableImage, UnsupportedMedia
from facegender.images import _plain_jpeg, decode_image, read_image


def _encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


@pytest.fixture(scope="module")
def rgb() -> Image.Image:
    from skimage import data

    return Image.fromarray(data.astronaut()).resize((128, 128))


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "BMP", "TIFF", "GIF"])
def test_decodes_every_format(rgb: Image.Image, fmt: str) -> None:
    out = decode_image(_encode(rgb, fmt))
    assert out.shape == (128, 128, 3) and out.dtype == np.uint8
    # BGR order: the astronaut's suit area is not blue-dominated in RGB; compare channels.
    ref = np.asarray(rgb)[:, :, ::-1].astype(int)
    tol = 40 if fmt in ("JPEG", "WEBP", "GIF") else 0
    assert np.abs(out.astype(int) - ref).mean() <= max(tol, 0.5)


def test_heic_round_trip(rgb: Image.Image) -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    out = decode_image(_encode(rgb, "HEIF"))
    assert out.shape == (128, 128, 3)


def test_exif_orientation_applied(rgb: Image.Image) -> None:
    wide = rgb.resize((120, 60))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW on display
    out = decode_image(_encode(wide, "JPEG", exif=exif))
    assert out.shape[:2] == (120, 60)


def _pillow_bgr(data: bytes) -> np.ndarray:
    """What Pillow alone decodes: the reference the OpenCV JPEG path must equal."""
    img = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    return np.asarray(img)[:, :, ::-1]


@pytest.mark.parametrize("orientation", range(1, 9))
def test_jpeg_fast_path_same_pixels_every_orientation(rgb: Image.Image, orientation: int
                                                      ) -> None:
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = _encode(rgb.resize((120, 60)), "JPEG", exif=exif, quality=90)
    out = decode_image(data)
    assert out.shape[:2] == ((120, 60) if orientation >= 5 else (60, 120))
    np.testing.assert_array_equal(out, _pillow_bgr(data))


@pytest.mark.parametrize("name", ["portraits/obama_and_biden.jpg", "scenes/couple.jpg",
                                  "group/bald_guys.jpg"])
def test_jpeg_fast_path_same_pixels_real_photos(shared_data, name: str) -> None:
    data = (shared_data / "detection" / name).read_bytes()
    assert _plain_jpeg(data, Image.open(io.BytesIO(data))) is not None  # the fast path ran
    np.testing.assert_array_equal(decode_image(data), _pillow_bgr(data))


def test_gray_jpeg_same_pixels(rgb: Image.Image) -> None:
    data = _encode(rgb.convert("L"), "JPEG")
    out = decode_image(data)
    assert out.shape == (128, 128, 3)
    np.testing.assert_array_equal(out, _pillow_bgr(data))


def test_jpeg_with_trailing_bytes_still_decodes(rgb: Image.Image) -> None:
    data = _encode(rgb, "JPEG") + b"\0\0\0\0"
    np.testing.assert_array_equal(decode_image(data), _pillow_bgr(data))


@pytest.mark.parametrize("mode", ["RGBA", "LA", "P", "L", "CMYK", "I;16", "1"])
def test_modes_become_bgr(rgb: Image.Image, mode: str) -> None:
    img = rgb.convert(mode) if mode != "I;16" else Image.fromarray(
        np.asarray(rgb.convert("L"), dtype=np.uint16) * 257)
    fmt = "TIFF" if mode in ("CMYK", "I;16") else "PNG"
    out = decode_image(_encode(img, fmt))
    assert out.shape == (128, 128, 3) and out.dtype == np.uint8
    assert out.std() > 10  # real content survived the conversion


def test_palette_transparency_composited_on_white() -> None:
    img = Image.new("P", (10, 10), 0)
    img.putpalette([0, 0, 0] * 256)
    out = decode_image(_encode(img, "PNG", transparency=0))
    assert (out == 255).all()


def test_animated_gif_first_frame() -> None:
    frames = [Image.new("RGB", (16, 16), c) for c in ((255, 0, 0), (0, 255, 0))]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:])
    out = decode_image(buf.getvalue())
    assert out[0, 0].tolist() == [0, 0, 255]  # red in BGR


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", UnsupportedMedia),
        (b"hello, I am plain text, not a picture", UnsupportedMedia),
        (b"PK\x03\x04" + b"\x00" * 100, UnsupportedMedia),
    ],
)
def test_not_an_image(data: bytes, error: type) -> None:
    with pytest.raises(error):
        decode_image(data)


def test_truncated_jpeg(rgb: Image.Image) -> None:
    data = _encode(rgb, "JPEG")
    with pytest.raises(UnsupportedMedia, match="not a readable image"):
        decode_image(data[: len(data) // 3])


def test_decompression_bomb_refused_from_header() -> None:
    # A 30000x30000 PNG header: refused before any pixel is decoded.
    big = Image.new("1", (30000, 30000))
    data = _encode(big, "PNG")
    assert len(data) < 1_000_000
    with pytest.raises(UnprocessableImage, match="900,?000,?000 pixels.*limit is 40,000,000"):
        decode_image(data)


def test_pixel_limit_below_pillow_guard(rgb: Image.Image) -> None:
    with pytest.raises(UnprocessableImage, match="128x128 = 16,384 pixels; the limit is 10,000"):
        decode_image(_encode(rgb, "PNG"), max_pixels=10_000)


def test_byte_limit(rgb: Image.Image) -> None:
    with pytest.raises(PayloadTooLarge):
        decode_image(_encode(rgb, "PNG"), max_bytes=100)


def test_read_image_missing_file(tmp_path) -> None:
    with pytest.raises(UnsupportedMedia, match="no such file"):
        read_image(tmp_path / "nope.jpg")


@pytest.mark.parametrize(("mode", "kw", "chunk"), [
    ("RGB", {"quality": 70}, b"VP8 "), ("RGB", {"lossless": True}, b"VP8L"),
    ("RGBA", {"quality": 70}, b"VP8X"),  # lossy with alpha needs the extended format
], ids=["lossy", "lossless", "extended"])
def test_webp_size_read_from_the_header(rgb: Image.Image, mode: str, kw: dict,
                                        chunk: bytes) -> None:
    """Our own WebP header reading, so a huge canvas is refused the same with any Pillow."""
    from facegender.images import webp_size

    img = rgb.resize((123, 77))
    if mode == "RGBA":
        img.putalpha(128)  # a real alpha channel; an opaque one is dropped by the encoder
    data = _encode(img, "WEBP", **kw)
    assert data[12:16] == chunk
    assert webp_size(data) == (123, 77)
    assert webp_size(_encode(img, "PNG")) is None
    assert webp_size(b"RIFF\x00\x00\x00\x00WEBP") is None  # too short to hold a size
