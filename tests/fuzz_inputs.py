"""Hostile image bytes for fuzzing: a corpus of real encodings and Hypothesis strategies over it.

Shared by ``tests/test_fuzz_decode.py`` (the library's decode -> detect ->
classify path) and ``benchmarks/fuzz_http.py`` (the same bytes sent to a live
gunicorn). Everything is built in memory from one real photo (skimage's
astronaut, a face) and Pillow, so the fuzzing needs no files and no network.

What is covered, and why each matters:

- every format we accept (JPEG, PNG, GIF, WebP, BMP, TIFF, HEIC) and the odd
  modes that break naive converters: CMYK and progressive JPEG, 16-bit and
  palette-with-transparency PNG, animated GIF and WebP, 1-bit, LA, float TIFF;
- then damaged: truncated, bytes flipped, chunks inserted or removed, two
  files spliced, and polyglots (an image with a zip or HTML tail, a zip with
  an image tail, a GIF header that is also text);
- header bombs: PNG, JPEG, GIF, BMP, WebP and HEIC headers that claim
  1x1, 0x0 or 30000x30000 pixels. They are *patched* into small files, so no
  30000x30000 image is ever allocated here; the decoder must refuse them from
  the header;
- things that are not images: zero bytes, text, a zip, a PDF, SVG, HTML, an
  ICO or PPM (formats Pillow knows but we refuse).
"""

from __future__ import annotations

import functools
import io
import struct
import zipfile
import zlib

import numpy as np
from hypothesis import strategies as st
from PIL import Image

BIG = 30000
"""A side length whose square (900 MP) is far over every limit: a decompression bomb."""


def _save(img: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


@functools.cache
def face_rgb(side: int = 96) -> Image.Image:
    """skimage's astronaut, cut to her head and scaled to ``side`` pixels: a real face."""
    from skimage import data

    return Image.fromarray(data.astronaut()[0:260, 130:390]).resize((side, side))


def _zip_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("photo.jpg", b"not really a photo")
    return buf.getvalue()


@functools.cache
def seeds() -> dict[str, bytes]:
    """Well-formed files of every accepted format and awkward mode, each a few KB."""
    rgb = face_rgb()
    small = rgb.resize((24, 24))
    out = {
        "jpeg": _save(rgb, "JPEG", quality=85),
        "jpeg_progressive": _save(rgb, "JPEG", progressive=True),
        "jpeg_cmyk": _save(rgb.convert("CMYK"), "JPEG"),
        "jpeg_gray": _save(rgb.convert("L"), "JPEG"),
        "png": _save(rgb, "PNG"),
        "png_rgba": _save(rgb.convert("RGBA"), "PNG"),
        "png_la": _save(rgb.convert("LA"), "PNG"),
        "png_16bit": _save(Image.fromarray(
            np.asarray(rgb.convert("L"), dtype=np.uint16) * 257), "PNG"),
        "png_palette_trns": _save(rgb.convert("P"), "PNG", transparency=0),
        "png_1bit": _save(rgb.convert("1"), "PNG"),
        "gif_animated": _save(small, "GIF", save_all=True,
                              append_images=[small.rotate(90), small.rotate(180)], duration=50),
        "gif_trns": _save(rgb.convert("P"), "GIF", transparency=3),
        "webp": _save(rgb, "WEBP", quality=70),
        "webp_lossless_alpha": _save(rgb.convert("RGBA"), "WEBP", lossless=True),
        "webp_animated": _save(small, "WEBP", save_all=True, append_images=[small.rotate(90)]),
        "bmp": _save(rgb, "BMP"),
        "tiff": _save(rgb, "TIFF"),
        "tiff_float": _save(Image.fromarray(np.asarray(rgb.convert("L"), np.float32)), "TIFF"),
        "tiff_cmyk": _save(rgb.convert("CMYK"), "TIFF"),
        "one_pixel_png": _save(Image.new("RGB", (1, 1), (10, 20, 30)), "PNG"),
        "one_pixel_jpeg": _save(Image.new("RGB", (1, 1)), "JPEG"),
    }
    exif = Image.Exif()
    exif[0x0112] = 8  # rotate on display: exif_transpose must cope
    out["jpeg_exif_rotated"] = _save(rgb, "JPEG", exif=exif)
    out["heic"] = _heic(rgb.resize((64, 64)))  # 64 = whole coding blocks: no crop box
    out["heic_cropped"] = _heic(small)  # 24x24 coded as 64x64 plus a clean-aperture crop
    return out


def _heic(img: Image.Image) -> bytes:
    from pillow_heif import register_heif_opener

    register_heif_opener()
    return _save(img, "HEIF", quality=50)


@functools.cache
def not_images() -> dict[str, bytes]:
    """Bytes an upload named ``photo.jpg`` may really hold."""
    return {
        "empty": b"",
        "text": b"hello, I am plain text with a .jpg name\n" * 3,
        "zip": _zip_bytes(),
        "pdf": b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n",
        "svg": b'<svg xmlns="http://www.w3.org/2000/svg" width="30000" height="30000"/>',
        "html": b"<!doctype html><script>alert(1)</script>",
        "ico": _save(face_rgb().resize((32, 32)), "ICO"),
        "ppm_bomb_header": f"P6\n{BIG} {BIG}\n255\n".encode() + b"\x00" * 64,
        "gif_text_polyglot": b"GIF89a/*" + b"\x00" * 8 + b"*/=1;alert(1)//",
        "nul_kb": b"\x00" * 1024,
    }


# --- headers that lie about the size -------------------------------------------------------

def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(
        ">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def png_with_size(width: int, height: int, depth: int = 8, color: int = 2) -> bytes:
    """A PNG whose IHDR (CRC correct) claims ``width x height``, with one tiny IDAT."""
    ihdr = struct.pack(">IIBBBBB", width, height, depth, color, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat)
            + _png_chunk(b"IEND", b""))


def _patch_jpeg_sof(data: bytes, width: int, height: int) -> bytes:
    for marker in (b"\xff\xc0", b"\xff\xc2"):
        i = data.find(marker)
        if i >= 0:
            return data[:i + 5] + struct.pack(">HH", height, width) + data[i + 9:]
    return data


def jpeg_with_size(width: int, height: int) -> bytes:
    """The seed JPEG with its frame header (SOF) claiming ``width x height``."""
    return _patch_jpeg_sof(seeds()["jpeg"], min(width, 65535), min(height, 65535))


def gif_with_size(width: int, height: int) -> bytes:
    """The seed GIF with its logical screen and first image claiming ``width x height``."""
    data = bytearray(seeds()["gif_trns"])
    w, h = min(width, 65535), min(height, 65535)
    data[6:10] = struct.pack("<HH", w, h)
    i = data.find(b"\x2c")  # first image descriptor
    if i > 0:
        data[i + 5:i + 9] = struct.pack("<HH", w, h)
    return bytes(data)


def bmp_with_size(width: int, height: int) -> bytes:
    """The seed BMP with its info header claiming ``width x height`` (negative = top-down)."""
    data = bytearray(seeds()["bmp"])
    data[18:26] = struct.pack("<ii", width, height)
    return bytes(data)


def webp_vp8x_with_size(width: int, height: int) -> bytes:
    """An extended-format WebP whose VP8X canvas claims ``width x height`` (24-bit fields)."""
    w, h = max(1, min(width, 1 << 24)), max(1, min(height, 1 << 24))
    vp8x = b"VP8X" + struct.pack("<I", 10) + b"\x00\x00\x00\x00" + (w - 1).to_bytes(
        3, "little") + (h - 1).to_bytes(3, "little")
    lossy = seeds()["webp"]
    body = b"WEBP" + vp8x + lossy[12:]
    return b"RIFF" + struct.pack("<I", len(body)) + body


def heic_with_size(width: int, height: int) -> bytes:
    """The seed HEIC with its ``ispe`` (image spatial extent) box claiming ``width x height``."""
    data = bytearray(seeds()["heic"])
    i = data.find(b"ispe")
    if i > 0:
        data[i + 8:i + 16] = struct.pack(">II", width, height)
    return bytes(data)


HEADER_MAKERS = {"png": png_with_size, "jpeg": jpeg_with_size, "gif": gif_with_size,
                 "bmp": bmp_with_size, "webp": webp_vp8x_with_size, "heic": heic_with_size}
SIZES = [(BIG, BIG), (1, 1), (0, 0), (0, 1), (BIG, 1), (1, BIG), (65535, 65535),
         (7000, 7000), (2**31 - 1, 1)]


# --- strategies ------------------------------------------------------------------------------

class Blob(bytes):
    """Bytes with a short repr, so a failing example prints its size and start, not 100 KB."""

    def __repr__(self) -> str:
        import hashlib

        return (f"Blob({len(self)} bytes, sha256 {hashlib.sha256(self).hexdigest()[:12]}, "
                f"starts {bytes(self[:24])!r})")


@st.composite
def header_bombs(draw: st.DrawFn) -> bytes:
    """A seed of one format whose header claims an extreme (or any) size."""
    maker = HEADER_MAKERS[draw(st.sampled_from(sorted(HEADER_MAKERS)))]
    if draw(st.booleans()):
        w, h = draw(st.sampled_from(SIZES))
    else:
        w, h = draw(st.integers(0, 70000)), draw(st.integers(0, 70000))
    if maker is png_with_size:
        return png_with_size(w, h, draw(st.sampled_from([1, 8, 16])),
                             draw(st.sampled_from([0, 2, 3, 4, 6])))
    if maker is bmp_with_size:
        h = -h if draw(st.booleans()) else h
        w = min(w, 2**31 - 1)
    return maker(w, min(h, 2**31 - 1))


@st.composite
def damaged(draw: st.DrawFn) -> bytes:
    """A seed, then one to three damages: truncate, flip, insert, delete, splice, append."""
    pool = seeds()
    data = pool[draw(st.sampled_from(sorted(pool)))]
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["truncate", "flip", "insert", "delete", "splice", "append"]))
        n = len(data)
        if op == "truncate":
            data = data[:draw(st.integers(0, max(0, n - 1)))]
        elif op == "flip" and n:
            buf = bytearray(data)
            for _ in range(draw(st.integers(1, 16))):
                # the header is where parsers branch: damage it more often
                hi = min(n - 1, 64) if draw(st.booleans()) else n - 1
                buf[draw(st.integers(0, hi))] = draw(st.integers(0, 255))
            data = bytes(buf)
        elif op == "insert":
            at = draw(st.integers(0, n))
            data = data[:at] + draw(st.binary(min_size=1, max_size=64)) + data[at:]
        elif op == "delete" and n > 1:
            at = draw(st.integers(0, n - 1))
            data = data[:at] + data[at + draw(st.integers(1, 256)):]
        elif op == "splice":
            other = pool[draw(st.sampled_from(sorted(pool)))]
            data = data[:draw(st.integers(0, n))] + other[draw(st.integers(0, len(other))):]
        elif op == "append":
            data = data + draw(st.sampled_from(sorted(not_images().values())))
    return data


@st.composite
def polyglots(draw: st.DrawFn) -> bytes:
    """Two files in one: an image with a zip/HTML tail, or a zip/text with an image tail."""
    image = draw(st.sampled_from(sorted(seeds().values())))
    other = draw(st.sampled_from(sorted(not_images().values())))
    return image + other if draw(st.booleans()) else other + image


def hostile_images() -> st.SearchStrategy[bytes]:
    """Every kind of input above, weighted toward damaged files (the biggest space)."""
    return st.one_of(
        st.sampled_from(sorted(seeds().values())),
        st.sampled_from(sorted(not_images().values())),
        header_bombs(), damaged(), damaged(), polyglots(),
        st.binary(max_size=512),
    ).map(Blob)
