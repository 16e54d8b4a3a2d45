"""Batch output files: every format reads back what was written, and resuming repairs a crash."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from facegender.batch.output import (
    FIELDS,
    complete_paths,
    open_writer,
    output_format,
    prepare_output,
    read_rows,
)
from facegender.errors import BadRequest

MODEL = "eigenface:0123456789ab"


def row(path: str, **kw: object) -> dict:
    return {**dict.fromkeys(FIELDS), "path": path, "model": MODEL, **kw}


def face(path: str, i: int, n: int) -> dict:
    return row(path, face=i, faces=n, x=1, y=2, w=30, h=30, gender="female", p_female=0.8,
               p_male=0.2, confidence=0.8, uncertain=True)


ROWS = [face("a.jpg", 0, 1), row("b.png", faces=0), row("c.jpg", error="c.jpg: cannot read"),
        face("d/e.jpg", 0, 2), face("d/e.jpg", 1, 2)]


def write(path: Path, kind: str, rows: list[dict], part_rows: int = 1000) -> None:
    w = open_writer(path, kind, part_rows)
    for r in rows:
        w.write([r])
    w.close()


@pytest.mark.parametrize("name", ["r.csv", "r.jsonl", "r.parquet"])
def test_round_trip(tmp_path: Path, name: str) -> None:
    out = tmp_path / name
    write(out, output_format(out), ROWS, part_rows=2)
    assert read_rows(out) == ROWS
    assert complete_paths(read_rows(out)) == {"a.jpg", "b.png", "c.jpg", "d/e.jpg"}


def test_parquet_is_a_folder_of_parts_readable_as_one_table(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    out = tmp_path / "r.parquet"
    write(out, "parquet", ROWS, part_rows=2)
    assert sorted(p.name for p in out.iterdir()) == [
        "part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
    table = pq.read_table(out)
    assert table.num_rows == 5 and table.schema.field("faces").type == "int64"


def test_format_from_suffix_or_option(tmp_path: Path) -> None:
    assert output_format(tmp_path / "x.ndjson") == "jsonl"
    assert output_format(tmp_path / "x.txt", "csv") == "csv"
    with pytest.raises(BadRequest, match="--format"):
        output_format(tmp_path / "x.txt")


@pytest.mark.parametrize("kind", ["csv", "jsonl"])
def test_resume_drops_torn_line_and_incomplete_file(tmp_path: Path, kind: str) -> None:
    out = tmp_path / f"r.{kind}"
    write(out, kind, ROWS[:4])  # d/e.jpg has 1 of its 2 faces: killed between the two
    with out.open("a") as fh:
        fh.write('d/f.jpg,0,1,5,5' if kind == "csv" else '{"path": "d/f.jp')  # torn last line
    done = prepare_output(out, kind, resume=True, overwrite=False, model=MODEL)
    assert done == {"a.jpg", "b.png", "c.jpg"}
    assert read_rows(out) == ROWS[:3]
    assert out.read_text().endswith("\n")
    write(out, kind, ROWS[3:])  # the resumed run appends the rest
    assert read_rows(out) == ROWS


def test_resume_parquet_removes_unfinished_part(tmp_path: Path) -> None:
    out = tmp_path / "r.parquet"
    write(out, "parquet", ROWS[:3], part_rows=1)
    (out / ".part-00003.tmp").write_bytes(b"PAR1 half a part")
    done = prepare_output(out, "parquet", resume=True, overwrite=False, model=MODEL)
    assert done == {"a.jpg", "b.png", "c.jpg"}
    write(out, "parquet", ROWS[3:])
    assert not list(out.glob(".part-*")) and read_rows(out) == ROWS


def test_existing_output_needs_resume_or_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    write(out, "csv", ROWS)
    with pytest.raises(BadRequest, match="--resume"):
        prepare_output(out, "csv", resume=False, overwrite=False, model=MODEL)
    assert prepare_output(out, "csv", resume=False, overwrite=True, model=MODEL) == set()
    assert not out.exists()


def test_resume_refuses_rows_of_another_model(tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    write(out, "jsonl", ROWS)
    with pytest.raises(BadRequest, match="another --out"):
        prepare_output(out, "jsonl", resume=True, overwrite=False, model="embedding:ffffffffffff")


def test_overwrite_spares_a_folder_that_is_not_ours(tmp_path: Path) -> None:
    out = tmp_path / "r.parquet"
    write(out, "parquet", ROWS)
    (out / "notes.txt").write_text("mine")
    with pytest.raises(BadRequest, match="not removing"):
        prepare_output(out, "parquet", resume=False, overwrite=True, model=MODEL)
    assert (out / "notes.txt").exists()


def test_csv_of_another_layout_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    out.write_text("path,gender\nx.jpg,male\n")
    with pytest.raises(BadRequest, match="not a facegender batch CSV"):
        read_rows(out)


def test_jsonl_rows_hold_every_field(tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    write(out, "jsonl", ROWS[:1])
    assert list(json.loads(out.read_text())) == FIELDS


def test_resume_and_overwrite_together_are_refused(tmp_path: Path) -> None:
    with pytest.raises(BadRequest, match="not both"):
        prepare_output(tmp_path / "r.csv", "csv", resume=True, overwrite=True, model=MODEL)
