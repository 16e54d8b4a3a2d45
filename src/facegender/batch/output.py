"""Batch results on disk: CSV, JSON lines or Parquet, written as they come and resumable.

Every input file gets at least one row: one per face (``face`` 0, 1, ...
of ``faces``), one with ``faces`` 0 when no face was found, or one with
``error`` set when the file could not be read. That makes a file's rows
self-checking: they are complete when there is an error row, a ``faces`` 0
row, or ``faces`` face rows.

Writing: CSV and JSON lines get each completed chunk appended in one write
and flushed. Parquet cannot be appended to, so ``OUT.parquet`` is a folder of
part files (``part-00000.parquet``, ...) that pandas, pyarrow, polars and
DuckDB read as one table; a part is written every ``part_rows`` rows and at
the end, each under a temporary name then renamed, so a part is whole or
absent.

Resuming: :func:`prepare_output` reads what is there, drops rows of files
that are incomplete (a run killed mid-write) and a torn last line, and
returns the files that are done, which the run then skips.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

from ..errors import BadRequest

FIELDS = ["path", "face", "faces", "x", "y", "w", "h", "gender", "p_female", "p_male",
          "confidence", "uncertain", "model", "error"]
INT_FIELDS = frozenset({"face", "faces", "x", "y", "w", "h"})
FLOAT_FIELDS = frozenset({"p_female", "p_male", "confidence"})
FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet",
           ".pq": "parquet"}
PART_GLOB = "part-*.parquet"

Row = dict[str, Any]


def output_format(path: Path, fmt: str | None = None) -> str:
    """``csv``, ``jsonl`` or ``parquet``: ``fmt`` when given, else from the suffix."""
    if fmt:
        if fmt not in ("csv", "jsonl", "parquet"):
            raise BadRequest(f"unknown output format {fmt!r}: use csv, jsonl or parquet")
        return fmt
    found = FORMATS.get(path.suffix.lower())
    if found is None:
        raise BadRequest(f"cannot tell the format of {path} from its suffix: name it .csv, "
                         ".jsonl or .parquet, or give --format")
    return found


def typed(row: dict[str, Any]) -> Row:
    """A row read back from any format, with Python types and None for empty cells."""
    out: Row = {}
    for k in FIELDS:
        v = row.get(k)
        if v is None or v == "":
            out[k] = None
        elif k in INT_FIELDS:
            out[k] = int(v)
        elif k in FLOAT_FIELDS:
            out[k] = float(v)
        elif k == "uncertain":
            out[k] = v if isinstance(v, bool) else str(v) == "True"
        else:
            out[k] = str(v)
    return out


def complete_paths(rows: Iterable[Row]) -> set[str]:
    """Paths whose rows are all there (an error row, a no-face row, or every face)."""
    faces: dict[str, set[int]] = defaultdict(set)
    done: set[str] = set()
    for r in rows:
        p = r["path"]
        if r["error"] is not None or r["faces"] == 0:
            done.add(p)
        elif r["face"] is not None and r["faces"] is not None:
            faces[p].add(r["face"])
            if len(faces[p]) == r["faces"]:
                done.add(p)
    return done


def read_rows(path: str | Path, fmt: str | None = None) -> list[Row]:
    """Every well-formed row of a batch output (typed); a torn last line is left out."""
    out = Path(path)
    kind = output_format(out, fmt)
    if kind == "parquet":
        import pyarrow.parquet as pq

        return [typed(r) for part in sorted(out.glob(PART_GLOB))
                for r in pq.read_table(part).to_pylist()]
    text = _whole_lines(out)
    if kind == "csv":
        reader = csv.DictReader(io.StringIO(text, newline=""))
        if reader.fieldnames is not None and list(reader.fieldnames) != FIELDS:
            raise BadRequest(f"{out} is not a facegender batch CSV of this version "
                             f"(columns {reader.fieldnames}); give another --out")
        return [typed(r) for r in reader if None not in r and None not in r.values()]
    rows = []
    for line in text.splitlines():
        try:
            rows.append(typed(json.loads(line)))
        except (json.JSONDecodeError, TypeError, ValueError, AttributeError):
            continue  # a line cut by a crash
    return rows


def _whole_lines(path: Path) -> str:
    text = path.read_text(encoding="utf-8", errors="replace")
    return text if text.endswith("\n") else text[:text.rfind("\n") + 1]


class RowWriter(Protocol):
    def write(self, rows: list[Row]) -> None: ...

    def close(self) -> None: ...


class _TextWriter:
    """Appends whole chunks to a CSV or JSON-lines file, one write and a flush each."""

    def __init__(self, path: Path, kind: str) -> None:
        self.kind = kind
        new = not path.exists() or path.stat().st_size == 0
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = path.open("a", newline="", encoding="utf-8")
        if new and kind == "csv":
            self._fh.write(",".join(FIELDS) + "\r\n")
            self._fh.flush()

    def write(self, rows: list[Row]) -> None:
        if not rows:
            return
        buf = io.StringIO()
        if self.kind == "csv":
            csv.DictWriter(buf, fieldnames=FIELDS).writerows(rows)
        else:
            for r in rows:
                buf.write(json.dumps({k: r.get(k) for k in FIELDS}) + "\n")
        self._fh.write(buf.getvalue())
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()


class _ParquetWriter:
    """Buffers rows and writes them as numbered part files, each renamed into place."""

    def __init__(self, folder: Path, part_rows: int) -> None:
        self.folder = folder
        self.part_rows = part_rows
        folder.mkdir(parents=True, exist_ok=True)
        for tmp in folder.glob(".part-*.tmp"):
            tmp.unlink()  # a part a killed run never finished
        numbers = [int(p.stem.split("-")[1]) for p in folder.glob(PART_GLOB)]
        self._next = max(numbers, default=-1) + 1
        self._buffer: list[Row] = []

    def write(self, rows: list[Row]) -> None:
        self._buffer += rows
        if len(self._buffer) >= self.part_rows:
            self._flush()

    def _flush(self) -> None:
        if not self._buffer:
            return
        write_parquet_part(self.folder, self._next, self._buffer)
        self._next += 1
        self._buffer = []

    def close(self) -> None:
        self._flush()


def parquet_schema() -> Any:
    import pyarrow as pa

    types = {k: pa.int64() for k in INT_FIELDS} | {k: pa.float64() for k in FLOAT_FIELDS}
    types["uncertain"] = pa.bool_()
    return pa.schema([(k, types.get(k, pa.string())) for k in FIELDS])


def write_parquet_part(folder: Path, number: int, rows: list[Row]) -> Path:
    """Write ``rows`` as ``part-NNNNN.parquet`` in ``folder``, atomically."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist([{k: r.get(k) for k in FIELDS} for r in rows],
                                 schema=parquet_schema())
    final = folder / f"part-{number:05d}.parquet"
    tmp = folder / f".part-{number:05d}.tmp"
    pq.write_table(table, tmp)
    os.replace(tmp, final)
    return final


def open_writer(path: Path, kind: str, part_rows: int = 1000) -> RowWriter:
    """A writer appending to ``path`` (created when missing)."""
    if kind == "parquet":
        return _ParquetWriter(path, part_rows)
    return _TextWriter(path, kind)


def prepare_output(path: Path, kind: str, *, resume: bool, overwrite: bool,
                   model: str) -> set[str]:
    """Make ``path`` ready to be written; return the input paths already done.

    A new output starts empty. An existing one is refused unless ``resume``
    (keep its complete files, drop incomplete ones) or ``overwrite`` (start
    over). Resuming an output made with another model is refused: its rows
    would mix two models.
    """
    if resume and overwrite:
        raise BadRequest("give --resume or --overwrite, not both")
    if not path.exists():
        return set()
    if kind == "parquet" and path.is_file():
        raise BadRequest(f"{path} is a file; a parquet output is a folder of part files")
    if kind != "parquet" and path.is_dir():
        raise BadRequest(f"{path} is a folder; give a file name for {kind} output")
    if overwrite:
        _remove(path, kind)
        return set()
    if not resume:
        raise BadRequest(f"{path} already exists: add --resume to go on with it (files in it "
                         "are skipped) or --overwrite to start over")
    rows = read_rows(path, kind)
    models = {r["model"] for r in rows} - {None}
    if models - {model}:
        raise BadRequest(f"{path} was written with model {sorted(models)}, this run uses "
                         f"{model}: give another --out, or --overwrite")
    done = complete_paths(rows)
    kept = [r for r in rows if r["path"] in done]
    if len(kept) != len(rows) or _has_torn_tail(path, kind):
        _rewrite(path, kind, kept)
    return done


def _has_torn_tail(path: Path, kind: str) -> bool:
    if kind == "parquet" or path.stat().st_size == 0:
        return False
    with path.open("rb") as fh:
        fh.seek(-1, os.SEEK_END)
        return fh.read(1) != b"\n"


def _rewrite(path: Path, kind: str, rows: list[Row]) -> None:
    """Replace the output with ``rows`` only (atomically for files, part by part for parquet)."""
    if kind == "parquet":
        parts = sorted(path.glob(PART_GLOB))
        n = len(parts)
        if rows:
            write_parquet_part(path, n, rows)  # the new whole part first, then the old ones go
        for p in parts:
            p.unlink()
        if rows:
            os.replace(path / f"part-{n:05d}.parquet", path / "part-00000.parquet")
        return
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    writer = _TextWriter(tmp, kind)
    writer.write(rows)
    writer.close()
    os.replace(tmp, path)


def _remove(path: Path, kind: str) -> None:
    if kind != "parquet":
        path.unlink()
        return
    others = [p for p in path.iterdir() if not p.match(PART_GLOB) and not p.match(".part-*.tmp")]
    if others:
        raise BadRequest(f"{path} holds files other than parquet parts ({others[0].name}, ...): "
                         "not removing it; give another --out")
    shutil.rmtree(path)
