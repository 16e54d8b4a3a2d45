"""Batch runs on real photos: the same rows in this process, in a local pool and on Dask.

One real Dask cluster (2 worker processes) serves the whole module.
"""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

import facegender.batch.run as batch_mod
from facegender.batch.output import read_rows
from facegender.batch.run import model_loads, run_batch
from facegender.cli import main
from facegender.training.crop import crop_folder


def ordered(rows: list[dict]) -> list[dict]:
    return sorted(rows, key=lambda r: (r["path"], -1 if r["face"] is None else r["face"]))


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    """Eight IMDB-WIKI photos (four in a subfolder), a two-face photo, no face, a broken file."""
    d = tmp_path_factory.mktemp("batch-photos")
    (d / "sub").mkdir()
    for i, p in enumerate(sorted((shared_data / "imdbwiki" / "female").iterdir())[:4]):
        shutil.copy(p, d / f"f{i}.jpg")
    for i, p in enumerate(sorted((shared_data / "imdbwiki" / "male").iterdir())[:4]):
        shutil.copy(p, d / "sub" / f"m{i}.jpg")
    shutil.copy(shared_data / "detection/portraits/obama_and_biden.jpg", d / "two.jpg")
    shutil.copy(shared_data / "detection/no_face/coins.png", d / "coins.png")
    (d / "broken.jpg").write_bytes(b"not really a jpeg")
    return d


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """A real LocalCluster: 2 worker processes of one thread; yields the scheduler address."""
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as c:
        yield c.scheduler_address


@pytest.fixture(scope="module")
def reference(photos: Path, tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    """The rows of a plain run in this process."""
    out = tmp_path_factory.mktemp("ref") / "r.csv"
    summary = run_batch(photos, out)
    assert summary.files == summary.processed == 11 and summary.failed == 0
    return ordered(read_rows(out))


def test_rows_say_what_happened_to_every_file(reference: list[dict]) -> None:
    by_path: dict[str, list[dict]] = {}
    for r in reference:
        by_path.setdefault(r["path"], []).append(r)
    assert len(by_path) == 11 and "sub/m0.jpg" in by_path  # recursive, relative to FOLDER
    assert by_path["broken.jpg"][0]["error"].startswith("broken.jpg: not a readable image")
    assert by_path["coins.png"] == [{**by_path["coins.png"][0], "faces": 0, "face": None}]
    two = by_path["two.jpg"]
    # Obama, Biden and a girl half in shadow behind them
    assert [r["face"] for r in two] == [0, 1, 2] and {r["faces"] for r in two} == {3}
    assert all(abs(r["p_female"] + r["p_male"] - 1) < 1e-3 for r in two)
    assert {r["model"] for r in reference} == {reference[0]["model"]}
    assert reference[0]["model"].startswith("embedding:")  # the shipped default


def test_local_pool_and_dask_give_the_same_rows(photos: Path, cluster: str, tmp_path: Path,
                                                reference: list[dict]) -> None:
    pool = run_batch(photos, tmp_path / "pool.jsonl", workers=2, chunk_size=3)
    dask = run_batch(photos, tmp_path / "dask.parquet", dask=cluster, chunk_size=2)
    assert pool.executor == "2 local worker processes" and dask.executor.startswith("the Dask")
    assert ordered(read_rows(tmp_path / "pool.jsonl")) == reference
    assert ordered(read_rows(tmp_path / "dask.parquet")) == reference


def test_cli_dask_local_2_gives_the_same_rows(photos: Path, tmp_path: Path,
                                              reference: list[dict]) -> None:
    out = tmp_path / "cli.csv"
    res = CliRunner().invoke(main, ["batch", str(photos), "--out", str(out), "--dask", "local:2"])
    assert res.exit_code == 0, res.output
    assert "11 image(s)" in res.output and "local Dask cluster of 2 worker processes" in res.output
    assert ordered(read_rows(out)) == reference


def test_each_dask_worker_loads_the_model_once(photos: Path, cluster: str,
                                               tmp_path: Path) -> None:
    from dask.distributed import Client

    for i in range(2):  # 22 one-file tasks over 2 workers
        run_batch(photos, tmp_path / f"once{i}.csv", dask=cluster, chunk_size=1)
    with Client(cluster) as client:
        loads = client.run(model_loads)
    assert len(loads) == 2
    assert all(n.get("embedding", 0) <= 1 for n in loads.values()), loads
    assert sum(n.get("embedding", 0) for n in loads.values()) >= 1


def test_resume_after_an_interrupted_run(photos: Path, tmp_path: Path, reference: list[dict],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    real = batch_mod.analyze_chunk
    calls = []

    def stop_on_third(rels: list[str], *args: object) -> list[dict]:
        calls.append(rels)
        if len(calls) == 3:
            raise KeyboardInterrupt  # the user's Ctrl-C, mid-run
        return real(rels, *args)

    monkeypatch.setattr(batch_mod, "analyze_chunk", stop_on_third)
    out = tmp_path / "r.csv"
    with pytest.raises(KeyboardInterrupt):
        run_batch(photos, out, chunk_size=2)
    written = read_rows(out)
    assert {r["path"] for r in written} == set(calls[0] + calls[1])  # each chunk written at once
    monkeypatch.setattr(batch_mod, "analyze_chunk", real)
    again = run_batch(photos, out, resume=True, chunk_size=2)
    assert again.skipped == 4 and again.processed == 7
    assert ordered(read_rows(out)) == reference


def test_a_failed_chunk_is_left_out_then_redone(photos: Path, tmp_path: Path,
                                                reference: list[dict],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    real = batch_mod.analyze_chunk

    def fail_on_two(rels: list[str], *args: object) -> list[dict]:
        if "two.jpg" in rels:
            raise RuntimeError("worker lost")
        return real(rels, *args)

    monkeypatch.setattr(batch_mod, "analyze_chunk", fail_on_two)
    out = tmp_path / "r.parquet"
    first = run_batch(photos, out, chunk_size=2)
    assert first.failed == 1 and first.first_failure == "RuntimeError: worker lost"
    assert "two.jpg" not in {r["path"] for r in read_rows(out)}
    monkeypatch.setattr(batch_mod, "analyze_chunk", real)
    second = run_batch(photos, out, resume=True, chunk_size=2)
    assert (second.skipped, second.processed, second.failed) == (10, 1, 0)
    assert ordered(read_rows(out)) == reference


def test_cli_refuses_to_clobber_and_resumes(photos: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    runner = CliRunner()
    assert runner.invoke(main, ["batch", str(photos), "--out", str(out)]).exit_code == 0
    again = runner.invoke(main, ["batch", str(photos), "--out", str(out)])
    assert again.exit_code == 2 and "--resume" in again.output
    resumed = runner.invoke(main, ["batch", str(photos), "--out", str(out), "--resume"])
    assert resumed.exit_code == 0 and "11 already in" in resumed.output
    bad = runner.invoke(main, ["batch", str(photos), "--out", str(out), "--resume",
                               "--dask", "local:x"])
    assert bad.exit_code == 2 and "local:N" in bad.output
    both = runner.invoke(main, ["batch", str(photos), "--out", str(out), "--resume",
                                "--dask", "local:2", "--workers", "2"])
    assert both.exit_code == 2 and "not both" in both.output


@pytest.mark.slow
def test_a_lost_dask_worker_loses_no_written_row(shared_data: Path, cluster: str,
                                                 tmp_path: Path) -> None:
    """Kill a worker process mid-run: its tasks run again elsewhere, written rows stay."""
    from dask.distributed import Client

    folder = tmp_path / "many"
    folder.mkdir()
    for p in sorted((shared_data / "imdbwiki" / "female").iterdir())[:40]:
        shutil.copy(p, folder / p.name)
    out = tmp_path / "r.csv"
    with Client(cluster) as client:
        victim = next(iter(client.run(os.getpid).values()))
    seen: dict[str, str] = {}

    def kill_when_rows_appear() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            text = out.read_text() if out.exists() else ""
            if text.count("\n") >= 5:  # header + 4 rows written
                seen["before"] = text
                os.kill(victim, signal.SIGKILL)
                return
            time.sleep(0.02)

    killer = threading.Thread(target=kill_when_rows_appear)
    killer.start()
    summary = run_batch(folder, out, dask=cluster, chunk_size=2)
    killer.join()
    assert "before" in seen, "the run ended before a worker could be killed"
    after = out.read_text()
    assert after.startswith(seen["before"])  # nothing written was lost or rewritten
    assert summary.failed == 0 and summary.processed == 40
    rows = read_rows(out)
    assert sorted(r["path"] for r in rows) == sorted(p.name for p in folder.iterdir())


def test_crop_on_dask_writes_the_same_crops(tiny_raw: Path, cluster: str,
                                            tmp_path: Path) -> None:
    subset = tmp_path / "raw"
    for g in ("female", "male"):
        (subset / g).mkdir(parents=True)
        for p in sorted((tiny_raw / g).iterdir())[:6]:
            shutil.copy(p, subset / g / p.name)
    here = crop_folder(subset, tmp_path / "here", workers=1, progress=False)
    there = crop_folder(subset, tmp_path / "dask", dask=cluster, progress=False)
    assert here == there and here["written"] + here["no_face"] == 12 and here["failed"] == 0
    for g in ("Crop_Female", "Crop_Male"):
        a = {p.name: p.read_bytes() for p in (tmp_path / "here" / g).iterdir()}
        b = {p.name: p.read_bytes() for p in (tmp_path / "dask" / g).iterdir()}
        assert a == b
