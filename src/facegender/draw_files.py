"""Where ``facegender analyze --draw`` writes annotated copies, and writing them safely.

File-system edge of the command line: names are checked before any model loads,
input photos are never overwritten, and an image is written whole or not at all.
"""

from __future__ import annotations

import os
from contextlib import suppress
from pathlib import Path
from typing import Any

from .errors import BadRequest, FaceGenderError

DRAW_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
"""The image formats ``analyze --draw`` writes, told by the file name's suffix."""


def same_file(a: Path, b: Path) -> bool:
    """True when ``a`` and ``b`` name one file (also through links, ``..`` or ``./``)."""
    if a.resolve() == b.resolve():
        return True
    with suppress(OSError):
        return a.exists() and b.exists() and a.samefile(b)
    return False


def draw_targets(images: tuple[Path, ...], draw: Path) -> list[Path]:
    """Where ``--draw`` writes each photo's annotated copy; the folder is made here.

    Checked before the model is loaded, so a bad ``--draw`` fails at once.
    Raises :class:`BadRequest` (exit code 2) for a name that cannot be used.
    """
    if len(images) == 1 and not draw.is_dir():
        if draw.suffix.lower() not in DRAW_SUFFIXES:
            told = f"the suffix {draw.suffix!r}" if draw.suffix else "a name without a suffix"
            raise BadRequest(f"--draw {draw}: cannot tell the image format from {told}; "
                             f"name it {', '.join(DRAW_SUFFIXES)} or give an existing folder")
        targets, folder = [draw], draw.parent
    else:
        if draw.exists() and not draw.is_dir():
            raise BadRequest(f"--draw {draw} is a file; with several photos it names a folder "
                             "to write <stem>.annotated.jpg files into")
        if not draw.exists() and draw.suffix.lower() in DRAW_SUFFIXES:
            raise BadRequest(f"--draw {draw}: with several photos --draw names a folder, "
                             "not an image file")
        targets, folder = [draw / f"{p.stem}.annotated.jpg" for p in images], draw
    drawn_from: dict[Path, Path] = {}
    for photo, target in zip(images, targets, strict=True):
        for other in images:
            if same_file(target, other):
                raise BadRequest(f"--draw {target}: refusing to overwrite the input photo "
                                 f"{other}")
        first = drawn_from.setdefault(target.resolve(), photo)
        if not same_file(first, photo):
            raise BadRequest(f"--draw: {first} and {photo} would both be written to {target}; "
                             "draw them in separate runs")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        why = ("a file is in the way" if isinstance(exc, FileExistsError | NotADirectoryError)
               else exc.strerror or str(exc))
        raise BadRequest(f"--draw {draw}: cannot make the folder {folder} ({why})") from exc
    return targets


def write_image(path: Path, image: Any) -> None:
    """Encode ``image`` by ``path``'s suffix and write it whole or not at all.

    Written to a hidden side file first and renamed, so a failed write leaves
    no half image. Raises :class:`BadRequest` when the file cannot be written.
    """
    import cv2

    ok, buf = cv2.imencode(path.suffix.lower(), image)
    if not ok:  # pragma: no cover - only on invalid arrays
        raise FaceGenderError(f"{path}: cannot encode the annotated image")
    side = path.with_name(f".{path.name}.part")
    try:
        side.write_bytes(buf.tobytes())
        os.replace(side, path)
    except OSError as exc:
        with suppress(OSError):
            side.unlink(missing_ok=True)
        raise BadRequest(f"{path}: cannot write the annotated image "
                         f"({exc.strerror or exc})") from exc
