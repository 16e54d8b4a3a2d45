"""The crop step: labeled raw photos to the course's ``Crop_Female``/``Crop_Male`` folders.

For each photo: detect faces, keep the largest, cut the square crop with a
margin (the same :func:`facegender.preprocess.crop_face` that serving uses)
and write it as JPEG. Unreadable photos and photos without a face are counted,
never fatal. Resumable: crops already written are skipped, and so are photos
recorded as faceless or unreadable by an earlier run with the same settings.
Runs on :mod:`facegender.engine`, like ``facegender batch``: in this process,
in local worker processes, or on a Dask cluster (whose workers must see both
folders at the same paths).
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

import cv2

from .analyze import haar_detector
from .data import CROP_DIRS, scan_labeled
from .detect import DetectorSettings
from .engine import chunked, open_executor
from .errors import FaceGenderError
from .images import read_image
from .preprocess import CROP_MARGIN, crop_face
from .types import GENDERS

log = logging.getLogger(__name__)

STATE_FILE = ".facegender-crop.json"
CHUNK_SIZE = 16


def crop_name(src_root: Path, path: Path) -> str:
    """Flat, collision-free output name for a photo: its relative path with ``__``."""
    rel = path.relative_to(src_root).with_suffix("")
    return "__".join(rel.parts[1:]) + ".jpg"


def crop_one(src: str, dst: str, settings: DetectorSettings) -> str:
    """Crop one photo to ``dst``; returns ``written``, ``no_face`` or ``unreadable``."""
    try:
        image = read_image(src)
    except FaceGenderError:
        return "unreadable"
    boxes = haar_detector(settings).detect(image)  # one detector per worker process
    if not boxes:
        return "no_face"
    face = crop_face(image, boxes[0], CROP_MARGIN)
    Path(dst).parent.mkdir(parents=True, exist_ok=True)
    tmp = dst + ".tmp.jpg"
    cv2.imwrite(tmp, face, [cv2.IMWRITE_JPEG_QUALITY, 95])
    os.replace(tmp, dst)  # atomic: an interrupted run never leaves half a crop
    return "written"


def crop_chunk(tasks: list[tuple[str, str, str]], settings: DetectorSettings
               ) -> list[tuple[str, str]]:
    """The engine's task: ``(rel, status)`` for each ``(rel, src, dst)``."""
    return [(rel, crop_one(src, dst, settings)) for rel, src, dst in tasks]


def crop_folder(
    src: str | Path,
    dst: str | Path,
    *,
    workers: int | None = None,
    dask: str | None = None,
    settings: DetectorSettings | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Crop every photo of a raw labeled folder; returns a summary of counts.

    Parameters
    ----------
    src : folder with ``female/`` and ``male/``
    dst : folder to receive ``Crop_Female/`` and ``Crop_Male/``
    workers : local processes; default the number of cores
    dask : run on Dask instead: ``local:N``, a scheduler address or scheduler file
    """
    from tqdm import tqdm

    src_root, dst_root = Path(src).resolve(), Path(dst).resolve()
    settings = settings or DetectorSettings()
    labeled = scan_labeled(src_root)
    if labeled.kind != "raw":
        raise FaceGenderError(f"{src_root} already holds crops; crop needs female/ and male/")
    state_path = dst_root / STATE_FILE
    state = _read_state(state_path, settings)
    skipped_before = set(state["no_face"]) | set(state["unreadable"])
    counts: Counter[str] = Counter()
    tasks = []
    for path, label in zip(labeled.paths, labeled.labels, strict=True):
        rel = path.relative_to(src_root).as_posix()
        out = dst_root / CROP_DIRS[GENDERS[label]] / crop_name(src_root, path)
        if out.exists() or rel in skipped_before:
            counts["exists" if out.exists() else "skipped_before"] += 1
            continue
        tasks.append((rel, str(path), str(out)))
    dst_root.mkdir(parents=True, exist_ok=True)
    bar = tqdm(total=len(tasks), desc="crop", unit="photo", disable=not progress)
    try:
        if tasks:
            with open_executor(workers, dask) as ex:
                for res in ex.map_chunks(crop_chunk, chunked(tasks, CHUNK_SIZE), settings):
                    bar.update(len(res.items))
                    for rel, status in res.result or [(t[0], "failed") for t in res.items]:
                        counts[status] += 1
                        if status in ("no_face", "unreadable"):
                            state[status].append(rel)
    finally:  # an interrupted run keeps what it learnt
        bar.close()
        state_path.write_text(json.dumps(state, indent=1) + "\n")
    summary = {"photos": len(labeled), **{k: counts.get(k, 0) for k in
               ("written", "exists", "no_face", "unreadable", "skipped_before", "failed")}}
    summary["no_face_total"] = len(state["no_face"])
    summary["unreadable_total"] = len(state["unreadable"])
    return summary


def _read_state(path: Path, settings: DetectorSettings) -> dict[str, Any]:
    """Earlier run's skipped lists, reused only when the detector settings match."""
    # Through JSON, as stored: tuples in the settings come back as lists.
    fresh = {"settings": json.loads(json.dumps(asdict(settings))), "margin": CROP_MARGIN,
             "no_face": [], "unreadable": []}
    try:
        state = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return fresh
    if state.get("settings") != fresh["settings"] or state.get("margin") != CROP_MARGIN:
        return fresh
    return state
