"""Import IMDB-WIKI (Rothe, Timofte, Van Gool) into a labeled folder: ``female/``, ``male/``.

The data set's faces-only archives (``wiki_crop.tar``, ``imdb_crop.tar``)
unpack to ``00/`` ... ``99/`` image folders beside a MATLAB file,
``wiki.mat`` or ``imdb.mat``, holding one struct (``wiki`` or ``imdb``)
whose fields are ``1 x N`` arrays, one entry per photo:

- ``dob``: date of birth as a MATLAB serial date number (days from year 0)
- ``photo_taken``: the year the photo was taken
- ``full_path``: cell of paths such as ``17/10000217_1981-05-05_2009.jpg``
- ``gender``: 1 male, 0 female, NaN unknown
- ``name``: cell of names
- ``face_location``: cell of ``[x1 y1 x2 y2]`` boxes
- ``face_score``: detector score of the face, ``-inf`` when none was found
- ``second_face_score``: score of a second face, NaN when there is none

:func:`import_imdbwiki` keeps photos with a known gender, one face scored at
least ``min_score`` and no second face, links (or copies) them into
``DST/female/`` and ``DST/male/`` and writes ``DST/labels.csv`` with the age
at the photo (``photo_taken`` minus the year of birth). Ages outside 0-120,
which the data set's noisy birth dates give now and then, are left blank.
"""

from __future__ import annotations

import csv
import math
import os
import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import BadRequest
from ..types import GENDERS

STRUCTS = ("wiki", "imdb")
LABEL_FIELDS = ["path", "gender", "age", "name", "dob", "photo_taken", "face_score",
                "second_face_score", "source"]
DEFAULT_MIN_SCORE = 1.0
MAX_AGE = 120


@dataclass(frozen=True)
class Entry:
    """One photo of the ``.mat`` file; ``gender`` is None when unknown."""

    full_path: str
    gender: str | None
    dob: date | None
    photo_taken: int
    name: str
    face_score: float
    second_face_score: float | None

    @property
    def age(self) -> int | None:
        """Age in the photo's year; None for an unknown or impossible birth date."""
        if self.dob is None:
            return None
        age = self.photo_taken - self.dob.year
        return age if 0 <= age <= MAX_AGE else None


def datenum_to_date(datenum: float) -> date | None:
    """A MATLAB serial date number as a date (None when not a usable number)."""
    if not math.isfinite(datenum) or datenum < 367:
        return None
    try:
        return (datetime.fromordinal(int(datenum)) - timedelta(days=366)).date()
    except (OverflowError, ValueError):
        return None


def _text(cell: Any) -> str:
    """A MATLAB char cell as str (scipy gives a 1-element array, or an empty one)."""
    arr = np.asarray(cell).ravel()
    return str(arr[0]) if arr.size else ""


def read_mat(path: str | Path) -> list[Entry]:
    """Every photo of a ``wiki.mat`` / ``imdb.mat`` file, in file order."""
    from scipy.io import loadmat
    from scipy.io.matlab import MatReadError

    try:
        mat = loadmat(str(path))
    except (OSError, ValueError, NotImplementedError, MatReadError) as exc:
        raise BadRequest(f"{path} is not a MATLAB file scipy can read: {exc}") from exc
    names = [k for k in STRUCTS if k in mat]
    if not names:
        found = [k for k in mat if not k.startswith("__")]
        raise BadRequest(f"{path} holds {found}, not an IMDB-WIKI struct ({' or '.join(STRUCTS)})")
    meta = mat[names[0]][0, 0]
    missing = {"dob", "photo_taken", "full_path", "gender", "face_score",
               "second_face_score"} - set(meta.dtype.names)
    if missing:
        raise BadRequest(f"{path}: the {names[0]} struct has no field {sorted(missing)}")
    col = {k: np.asarray(meta[k]).ravel() for k in meta.dtype.names}
    n = len(col["full_path"])
    return [Entry(
        full_path=_text(col["full_path"][i]),
        gender=None if math.isnan(g := float(col["gender"][i])) else GENDERS[int(g == 1)],
        dob=datenum_to_date(float(col["dob"][i])),
        photo_taken=int(col["photo_taken"][i]),
        name=_text(col["name"][i]) if "name" in col else "",
        face_score=float(col["face_score"][i]),
        second_face_score=None if math.isnan(s := float(col["second_face_score"][i])) else s,
    ) for i in range(n)]


def find_mat(src: Path) -> Path:
    """The ``.mat`` file: ``src`` itself or ``wiki.mat`` / ``imdb.mat`` inside it."""
    if src.is_file():
        return src
    for name in STRUCTS:
        if (src / f"{name}.mat").is_file():
            return src / f"{name}.mat"
    raise BadRequest(f"no wiki.mat or imdb.mat in {src}: give the unpacked wiki_crop/ or "
                     "imdb_crop/ folder, or the .mat file")


def why_dropped(e: Entry, min_score: float, allow_second_face: bool) -> str | None:
    """The reason an entry is left out, or None to keep it."""
    if e.gender is None:
        return "no_gender"
    if math.isinf(e.face_score):
        return "no_face"
    if e.face_score < min_score:
        return "low_score"
    if e.second_face_score is not None and not allow_second_face:
        return "second_face"
    return None


def _place(src: Path, dst: Path, copy: bool) -> None:
    """Hard-link ``src`` to ``dst`` (copy when asked or across file systems)."""
    tmp = dst.with_name(dst.name + ".tmp")
    tmp.unlink(missing_ok=True)
    if copy:
        shutil.copy2(src, tmp)
    else:
        try:
            os.link(src, tmp)
        except OSError:
            shutil.copy2(src, tmp)
    os.replace(tmp, dst)


def _kept(entries: list[Entry], image_root: Path, min_score: float, allow_second_face: bool,
          counts: Counter[str]) -> Iterator[tuple[Entry, Path, str]]:
    for e in entries:
        reason = why_dropped(e, min_score, allow_second_face)
        src = image_root / e.full_path
        if reason is None and not src.is_file():
            reason = "missing"
        if reason:
            counts[reason] += 1
            continue
        yield e, src, f"{e.gender}/{e.full_path.replace('/', '_')}"


def import_imdbwiki(src: str | Path, dst: str | Path, *, min_score: float = DEFAULT_MIN_SCORE,
                    allow_second_face: bool = False, copy: bool = False) -> dict[str, Any]:
    """Make a labeled folder of IMDB-WIKI photos; resumable, returns counts.

    Parameters
    ----------
    src : the unpacked ``wiki_crop/`` (or ``imdb_crop/``) folder, or its ``.mat`` file
    dst : receives ``female/``, ``male/`` and ``labels.csv``
    min_score : lowest ``face_score`` kept (the data set's face detector score)
    allow_second_face : keep photos where a second face was found too
    copy : copy the images instead of hard-linking them
    """
    mat = find_mat(Path(src))
    entries = read_mat(mat)
    out = Path(dst)
    for g in GENDERS:
        (out / g).mkdir(parents=True, exist_ok=True)
    counts: Counter[str] = Counter()
    labels = []
    for e, image, rel in _kept(entries, mat.parent, min_score, allow_second_face, counts):
        target = out / rel
        if target.is_file() and target.stat().st_size == image.stat().st_size:
            counts["exists"] += 1
        else:
            _place(image, target, copy)
            counts["written"] += 1
        counts[str(e.gender)] += 1
        counts["age_unknown"] += e.age is None
        labels.append({"path": rel, "gender": e.gender, "age": e.age, "name": e.name,
                       "dob": e.dob.isoformat() if e.dob else None, "photo_taken": e.photo_taken,
                       "face_score": round(e.face_score, 4),
                       "second_face_score": e.second_face_score, "source": e.full_path})
    tmp = out / "labels.csv.tmp"
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=LABEL_FIELDS)
        writer.writeheader()
        writer.writerows(labels)
    os.replace(tmp, out / "labels.csv")
    dropped = ("no_gender", "no_face", "low_score", "second_face", "missing")
    return {"mat": str(mat), "entries": len(entries), "kept": len(labels),
            **{g: counts[g] for g in GENDERS}, "written": counts["written"],
            "exists": counts["exists"], "age_unknown": counts["age_unknown"],
            "dropped": {k: counts[k] for k in dropped}}
