"""Worker processes cap OpenCV's and the BLAS's threads; one process alone keeps them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from facegender.threads import per_worker

PROBE = """
import json, os, sys
os.sched_setaffinity(0, range(os.cpu_count()))  # a parent pinned to one core would hide pools
import cv2
from threadpoolctl import threadpool_info
from facegender.threads import limit_threads
limit_threads(int(sys.argv[1]))
print(json.dumps({"opencv": cv2.getNumThreads(),
                  "blas": sorted({p["num_threads"] for p in threadpool_info()
                                  if p["user_api"] == "blas"})}))
"""


def _threads_after(n: int) -> dict[str, object]:
    # Dask's LocalCluster (other tests) sets OMP_/OPENBLAS_NUM_THREADS=1 in this process
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    out = subprocess.run([sys.executable, "-c", PROBE, str(n)], capture_output=True, text=True,
                         check=True, timeout=120, env=env)
    return json.loads(out.stdout)


def test_per_worker_shares_the_cores() -> None:
    cores = os.cpu_count() or 1
    assert per_worker(1) == cores
    assert per_worker(cores) == 1
    assert per_worker(4 * cores) == 1  # never zero
    assert per_worker(0) == cores


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs 2 cores to see a limit")
def test_limit_threads_caps_opencv_and_blas() -> None:
    free = _threads_after(0)  # 0 leaves the libraries' defaults
    assert free["opencv"] >= 2 and max(free["blas"]) >= 2  # type: ignore[call-overload]
    assert _threads_after(1) == {"opencv": 1, "blas": [1]}


def test_worker_pool_processes_are_limited() -> None:
    from facegender.batch.engine import PoolExecutor

    pool = PoolExecutor(2)
    try:
        results = [r.result for r in pool.map_chunks(_report_threads, [[0], [1]])]
    finally:
        pool.close()
    assert results == [per_worker(2)] * 2


def _report_threads(chunk: list[int]) -> int:
    import cv2

    return int(cv2.getNumThreads())


def test_onnx_sessions_do_not_spin_between_runs() -> None:
    """The face network's and CenterFace's sessions: their idle pool threads would spin
    beside the finder's LiteRT runs and dlib (a pixabay-external photo 25 -> 17 ms without)."""
    from facegender.detection.centerface import CenterFace
    from facegender.features import default_embedder

    second = CenterFace(0.5, 0.87, 0.045)
    second.warm_up()
    for session in (default_embedder()._onnx()._session, second._session):
        config = session.get_session_options()
        assert config.get_session_config_entry("session.intra_op.allow_spinning") == "0"
        assert config.inter_op_num_threads == 1
