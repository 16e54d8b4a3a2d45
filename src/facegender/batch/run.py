"""``facegender batch``: every image under a folder to rows, on one core, many, or a cluster.

The work is cut into chunks of files (:mod:`facegender.batch.engine` runs them in
this process, in local worker processes or on Dask) and each finished chunk
is written at once (:mod:`facegender.batch.output`). Workers get the model's
name or path, not the model: each loads it once, on its first chunk, into a
per-process cache checked against the sha256 the client loaded. A file that
fails gives one error row and the run goes on; a chunk that fails as a whole
(a worker lost too often, a worker without the model) is left out of the
output and counted, so ``--resume`` does it again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..analyze import analyze_image
from ..errors import FaceGenderError, ModelError
from ..images import is_image_path, read_image
from ..model import GenderModel
from ..persist import DEFAULT_MODEL, load_model, read_manifest, resolve_model_dir
from ..types import Box, Face
from .engine import Executor, check_executor_args, chunked, open_executor
from .output import FIELDS, Row, open_writer, output_format, prepare_output

log = logging.getLogger(__name__)

DEFAULT_CHUNK_SIZE = 16

_models: dict[tuple[str, str], GenderModel] = {}
_model_loads: Counter[str] = Counter()
_models_lock = threading.Lock()


def worker_model(ref: str, sha256: str) -> GenderModel:
    """The model ``ref`` (a shipped name or a folder), loaded once per process.

    Raises :class:`ModelError` when this process finds a different model
    under ``ref`` than the client did (``sha256`` differs), for example a
    cluster worker with another facegender version.
    """
    key = (ref, sha256)
    with _models_lock:  # one load even when a Dask worker runs several threads
        model = _models.get(key)
        if model is None:
            model = load_model(ref)
            _model_loads[ref] += 1
            if model.manifest.get("sha256") != sha256:
                raise ModelError(f"the model {ref!r} on this worker has sha256 "
                                 f"{str(model.manifest.get('sha256'))[:12]}..., the client's "
                                 f"{sha256[:12]}...: install the same model on every worker")
            _models[key] = model
    return model


def client_model(ref: str) -> GenderModel:
    """The model for the process that starts a run: loaded and checked once, then cached."""
    try:
        sha = read_manifest(resolve_model_dir(ref)).get("sha256")
    except ModelError:
        return load_model(ref)  # raises with the full explanation
    return worker_model(ref, str(sha))


def model_loads() -> dict[str, int]:
    """How many times this process loaded each model reference (1 each, normally)."""
    return dict(_model_loads)


def model_label(model: GenderModel) -> str:
    """The ``model`` column: name and the first 12 hex digits of its sha256."""
    return f"{model.manifest.get('name', 'model')}:{str(model.manifest.get('sha256'))[:12]}"


def file_rows(path: Path, rel: str, model: GenderModel, whole_image: bool = False,
              label: str = "") -> list[Row]:
    """Rows for one file: one per face, one ``faces`` 0 row when faceless, one error row."""
    empty: Row = {**dict.fromkeys(FIELDS), "path": rel, "model": label}
    try:
        image = read_image(path)
        if whole_image:
            h, w = image.shape[:2]
            faces = [Face(Box(0, 0, w, h), model.classify_crops([image])[0])]
        else:
            faces = analyze_image(image, model).faces
    except FaceGenderError as exc:  # the relative path: rows alike on every machine
        return [{**empty, "error": exc.message.replace(str(path), rel)}]
    except Exception as exc:  # any other failure is this file's, never the run's
        log.warning("%s failed: %s: %s", path, type(exc).__name__, exc)
        return [{**empty, "error": f"{type(exc).__name__}: {exc}"}]
    if not faces:
        return [{**empty, "faces": 0}]
    return [face_row(empty, i, len(faces), f) for i, f in enumerate(faces)]


def face_row(empty: Row, index: int, n: int, face: Face) -> Row:
    """One row for one face."""
    p = face.prediction
    return {**empty, "face": index, "faces": n, **face.box.to_dict(), "gender": p.gender,
            "p_female": round(p.p_female, 4), "p_male": round(p.p_male, 4),
            "confidence": round(p.confidence, 4), "uncertain": p.uncertain}


def analyze_chunk(rels: list[str], root: str, model_ref: str, sha256: str,
                  whole_image: bool, label: str) -> list[Row]:
    """The engine's task: rows for files ``rels`` under ``root`` (runs on a worker)."""
    model = worker_model(model_ref, sha256)
    rows: list[Row] = []
    for rel in rels:
        rows += file_rows(Path(root) / rel, rel, model, whole_image, label)
    return rows


def list_images(folder: Path) -> list[Path]:
    """Image files under ``folder``, recursive, sorted."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and is_image_path(p))


def model_ref(model: str | Path | None) -> str:
    """What workers load: a shipped model's name as is (each worker has its own
    installed copy), any other model as an absolute folder path."""
    if model is None:
        return DEFAULT_MODEL
    shipped = resolve_model_dir(model)
    if not Path(model).exists() and shipped.is_dir():
        return str(model)
    return str(Path(model).resolve())


@dataclass
class BatchSummary:
    """What a batch run did; ``failed`` files are not in the output (run again to retry)."""

    files: int
    skipped: int
    processed: int
    rows: int
    faces: int
    no_face: int
    errors: int
    failed: int
    first_failure: str | None
    seconds: float
    images_per_s: float
    executor: str
    output: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_batch(
    folder: str | Path,
    out: str | Path,
    model: str | Path | None = None,
    *,
    fmt: str | None = None,
    whole_image: bool = False,
    resume: bool = False,
    overwrite: bool = False,
    workers: int = 1,
    dask: str | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    part_rows: int = 1000,
    progress: bool = False,
    executor: Executor | None = None,
) -> BatchSummary:
    """Classify every face of every image under ``folder`` into ``out``.

    Parameters
    ----------
    folder : searched recursively; ``path`` in the rows is relative to it
    out : ``.csv``, ``.jsonl`` or ``.parquet`` (a folder of parts), or ``fmt``
    model : a model folder or shipped name (default: the shipped default)
    resume : skip files already complete in ``out`` and append the others
    overwrite : start ``out`` over; without it or ``resume`` an existing ``out`` is refused
    workers : local processes (1: this process); ``dask`` instead runs on a
        Dask cluster (``local:N``, a scheduler address or scheduler file)
    chunk_size : files per task; each finished chunk is written at once
    executor : an open :mod:`facegender.batch.engine` executor to run on (kept open
        afterwards) instead of ``workers`` / ``dask``: several runs, one start-up
    """
    from tqdm import tqdm

    root, out_path = Path(folder).resolve(), Path(out)
    kind = output_format(out_path, fmt)
    check_executor_args(workers, dask)
    ref = model_ref(model)
    model_here = client_model(ref)  # fails here, once, on a missing or corrupt model
    sha = str(model_here.manifest.get("sha256"))
    label = model_label(model_here)
    done = prepare_output(out_path, kind, resume=resume, overwrite=overwrite, model=label)
    rels = [p.relative_to(root).as_posix() for p in list_images(root)]
    todo = [r for r in rels if r not in done]
    counts: Counter[str] = Counter()
    first_failure = None
    t0 = time.perf_counter()
    ex = executor or open_executor(workers, dask)
    writer = open_writer(out_path, kind, part_rows)
    bar = tqdm(total=len(todo), desc="batch", unit="img", disable=not progress)
    try:
        for res in ex.map_chunks(analyze_chunk, chunked(todo, chunk_size), str(root), ref, sha,
                                 whole_image, label):
            bar.update(len(res.items))
            if res.error is not None:
                counts["failed"] += len(res.items)
                first_failure = first_failure or res.error
                continue
            writer.write(res.result)
            _count(counts, res.result)
    finally:
        writer.close()
        bar.close()
        if executor is None:
            ex.close()
    seconds = time.perf_counter() - t0
    processed = len(todo) - counts["failed"]
    return BatchSummary(
        files=len(rels), skipped=len(rels) - len(todo), processed=processed,
        rows=counts["rows"], faces=counts["faces"], no_face=counts["no_face"],
        errors=counts["errors"], failed=counts["failed"], first_failure=first_failure,
        seconds=round(seconds, 3), images_per_s=round(processed / seconds, 2) if seconds else 0.0,
        executor=ex.description, output=str(out_path))


def _count(counts: Counter[str], rows: list[Row]) -> None:
    counts["rows"] += len(rows)
    for r in rows:
        if r["error"] is not None:
            counts["errors"] += 1
        elif r["faces"] == 0:
            counts["no_face"] += 1
        else:
            counts["faces"] += 1
