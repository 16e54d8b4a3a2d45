"""Bytes and paths in, BGR ``uint8`` arrays out: the only place images are decoded.

Pillow does the decoding because it reads the header before the pixels (so a
decompression bomb is refused before any memory is spent), applies the EXIF
orientation, and handles palette, alpha, 16-bit, CMYK, animated GIF and, with
pillow-heif, HEIC/HEIF. Everything downstream sees one layout: ``(H, W, 3)``
``uint8`` in OpenCV's BGR order.
"""

from __future__ import annotations

import io
import logging
import warnings
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import PayloadTooLarge, UnprocessableImage, UnsupportedMedia

log = logging.getLogger(__name__)

DEFAULT_MAX_PIXELS = 40_000_000
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif", ".heic", ".heif"}
)
SUPPORTED_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "BMP", "TIFF", "GIF", "HEIF", "MPO"})

_heif_registered = False


def _register_heif() -> None:
    """Teach Pillow HEIC/HEIF on first use (not at import: no work at import time)."""
    global _heif_registered
    if not _heif_registered:
        try:
            from pillow_heif import register_heif_opener

            register_heif_opener()
        except ImportError:  # pragma: no cover - optional at run time
            log.info("pillow-heif not installed: HEIC/HEIF uploads are refused")
        _heif_registered = True


def decode_image(
    data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS, max_bytes: int | None = None
) -> np.ndarray:
    """Decode an encoded image into a BGR array.

    Parameters
    ----------
    data : bytes
        The encoded file (JPEG, PNG, WebP, BMP, TIFF, GIF, HEIC/HEIF).
    max_pixels : int
        Images with more pixels are refused from their header, before decoding.
    max_bytes : int, optional
        Refuse larger inputs outright.

    Returns
    -------
    ndarray of shape (H, W, 3), dtype uint8, BGR order, EXIF orientation applied.

    Raises
    ------
    PayloadTooLarge, UnsupportedMedia, UnprocessableImage
    """
    if max_bytes is not None and len(data) > max_bytes:
        raise PayloadTooLarge(f"image is {len(data):,} bytes; the limit is {max_bytes:,}")
    if not data:
        raise UnsupportedMedia("the file is empty (0 bytes); send a JPEG, PNG, WebP, ... image")
    _register_heif()
    webp = webp_size(data)
    if webp is not None:
        _check_pixels(*webp, max_pixels)
    try:
        with warnings.catch_warnings():
            # Pillow warns on large images; our own pixel check below decides.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            # Damaged metadata (EXIF, TIFF tags) makes Pillow warn and go on; the pixels
            # decode or not on their own, and a warning per upload would only fill logs.
            warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.")
            img: Image.Image = Image.open(io.BytesIO(data))
            fmt = img.format or "unknown"
            if fmt not in SUPPORTED_FORMATS:
                raise UnsupportedMedia(
                    f"image format {fmt} is not supported; "
                    f"use one of {', '.join(sorted(SUPPORTED_FORMATS - {'MPO'}))}"
                )
            width, height = img.size
            if width <= 0 or height <= 0:
                raise UnprocessableImage(f"image has zero size ({width}x{height})")
            _check_pixels(width, height, max_pixels)
            bgr = _plain_jpeg(data, img)
            if bgr is not None:
                return bgr
            img.seek(0)  # first frame of an animated GIF / WebP
            img.load()
            img = ImageOps.exif_transpose(img) or img
            rgb = _to_rgb(img)
    except (UnsupportedMedia, UnprocessableImage):
        raise
    except Image.DecompressionBombError as exc:
        raise UnprocessableImage(
            f"image refused as a decompression bomb ({exc}); the limit is {max_pixels:,} pixels"
        ) from exc
    except UnidentifiedImageError as exc:
        raise UnsupportedMedia(
            "not a readable image: the data is in no known image format "
            "(JPEG, PNG, WebP, BMP, TIFF, GIF, HEIC)"
        ) from exc
    except (OSError, SyntaxError, ValueError, EOFError, RuntimeError) as exc:
        # RuntimeError: pillow-heif's for a HEIC whose coded size breaks libheif's own
        # limit though its header passed ours (found by tests/test_fuzz_decode.py).
        raise UnsupportedMedia(f"not a readable image ({type(exc).__name__}: {exc})") from exc
    except MemoryError as exc:  # pragma: no cover - defensive
        raise UnprocessableImage("image too large to decode in memory") from exc
    arr = np.asarray(rgb, dtype=np.uint8)
    if arr.ndim != 3 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise UnprocessableImage(f"decoded image has an unusable shape {arr.shape}")
    return cv2.cvtColor(arr, cv2.COLOR_RGB2BGR)  # 8x faster than numpy's reversed copy


EXIF_ORIENTATION = 0x0112
_SIDEWAYS = frozenset({5, 6, 7, 8})
"""EXIF orientations that swap width and height."""


def _plain_jpeg(data: bytes, img: Image.Image) -> np.ndarray | None:
    """A complete RGB or gray JPEG decoded by OpenCV straight to BGR, else None.

    Why: the same pixels as Pillow (both are libjpeg-turbo; checked on real photos in
    tests/test_images.py) in 1.8 instead of 3.0 ms a pixabay-external photo, without
    the RGB copy and its conversion to BGR. Only for a file that ends in its
    end-of-image marker (OpenCV decodes a truncated JPEG without a word, filling the
    rest grey, where Pillow refuses it), in RGB or gray (CMYK, MPO and the rest go
    through Pillow), and only when OpenCV's EXIF orientation gives the size Pillow's
    would; anything else is left to Pillow.
    """
    if (img.format != "JPEG" or img.mode not in ("RGB", "L")
            or not data.rstrip(b"\0").endswith(b"\xff\xd9")):
        return None
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        return None
    w, h = img.size
    if img.getexif().get(EXIF_ORIENTATION, 1) in _SIDEWAYS:
        w, h = h, w
    return bgr if bgr.shape == (h, w, 3) else None


def _check_pixels(width: int, height: int, max_pixels: int) -> None:
    """Refuse an image whose header claims more than ``max_pixels``, before decoding it."""
    if width * height > max_pixels:
        raise UnprocessableImage(
            f"image is {width}x{height} = {width * height:,} pixels; the limit is {max_pixels:,}"
        )


def webp_size(data: bytes) -> tuple[int, int] | None:
    """The width and height a WebP file's first chunk claims, or None if it is no WebP.

    Read here and not by Pillow because some Pillow versions (12.x) create
    libwebp's decoder while opening, before the size can be checked, and refuse
    a huge canvas as "could not create decoder object": the same upload would be
    "not an image" with one Pillow and "too many pixels" with another.
    """
    if len(data) < 30 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return None
    chunk = data[12:16]
    if chunk == b"VP8X":  # extended: 24-bit canvas width-1 and height-1
        return (1 + int.from_bytes(data[24:27], "little"),
                1 + int.from_bytes(data[27:30], "little"))
    if chunk == b"VP8L" and data[20] == 0x2F:  # lossless: 14-bit width-1, height-1
        bits = int.from_bytes(data[21:25], "little")
        return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    if chunk == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":  # lossy key frame
        return (int.from_bytes(data[26:28], "little") & 0x3FFF,
                int.from_bytes(data[28:30], "little") & 0x3FFF)
    return None


def _to_rgb(img: Image.Image) -> Image.Image:
    """Bring any Pillow mode to 8-bit RGB, compositing alpha over white."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float64)
        hi = float(arr.max())
        hi = hi if hi > 0 else 1.0  # 32-bit "I" may be all negative
        img = Image.fromarray(np.clip(arr * (255.0 / hi), 0, 255).astype(np.uint8), mode="L")
    elif img.mode == "F":
        # a float TIFF may hold inf or NaN: they would make the scaling NaN everywhere; a
        # signalling NaN also raises the FPU's "invalid" flag when widened to float64
        # (found by tests/test_fuzz_decode.py): nothing is wrong, it becomes 0 below
        with np.errstate(invalid="ignore"):
            arr = np.asarray(img, dtype=np.float64)
        arr = np.nan_to_num(arr, nan=0.0, posinf=0.0, neginf=0.0)
        lo, hi = float(arr.min()), float(arr.max())
        scaled = (arr - lo) / (hi - lo) * 255.0 if hi > lo else np.zeros_like(arr)
        img = Image.fromarray(scaled.astype(np.uint8), mode="L")
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA"):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return img if img.mode == "RGB" else img.convert("RGB")


def read_image(path: str | Path, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Read and decode an image file; see :func:`decode_image`.

    Raises
    ------
    UnsupportedMedia
        The path does not exist, is not a file, or is not a readable image.
    """
    p = Path(path)
    if not p.is_file():
        raise UnsupportedMedia(f"{p}: no such file")
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise UnsupportedMedia(f"{p}: cannot read ({exc.strerror})") from exc
    try:
        return decode_image(data, max_pixels=max_pixels)
    except (UnsupportedMedia, UnprocessableImage) as exc:
        raise type(exc)(f"{p}: {exc.message}") from exc


def encode_png(image: np.ndarray) -> bytes:
    """Encode a BGR or grayscale ``uint8`` array as PNG bytes."""
    import cv2

    ok, buf = cv2.imencode(".png", image)
    if not ok:  # pragma: no cover - cv2 fails only on invalid arrays
        raise ValueError(f"cannot encode array of shape {image.shape} as PNG")
    return buf.tobytes()


def is_image_path(path: Path) -> bool:
    """True for a file name with one of the supported image suffixes."""
    return path.suffix.lower() in IMAGE_SUFFIXES
