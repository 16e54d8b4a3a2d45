"""How many threads OpenCV and numpy's BLAS may use in this process.

Why it matters: both libraries start one thread per core in every process.
With several worker processes on few cores (gunicorn workers, ``--workers``,
Dask workers) their threads compete, and OpenBLAS's threads spin while they
wait: two embedding workers on 2 cores ran 2.3-4x *slower* with the default
pools than with one thread each (UTKFace chips 9-14 against 37-38 photos/s,
IMDB-WIKI photos 10-11 against 25). So every worker pool caps its processes
at :func:`per_worker` threads, and one process alone keeps the defaults.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from typing import Any


def per_worker(workers: int) -> int:
    """Threads each of ``workers`` processes should use: the cores shared out, at least 1."""
    return max(1, (os.cpu_count() or 1) // max(1, workers))


_cap = 0


def cap() -> int:
    """The cap :func:`limit_threads` set in this process, 0 when none (runtimes that start
    their own pools later, like onnxruntime's, read it)."""
    return _cap


def pool_threads(most: int = 4) -> int:
    """Threads a runtime that keeps its own pool (LiteRT's) should start in this process:
    the :func:`cap` when one is set, else one per core up to ``most``.

    Why: LiteRT defaults to one thread; on 2 cores a second cuts BlazeFace's run from
    3.4 to 2.6 ms (the finder's hard photos make up to 16 runs). Past a few threads
    a 192x192 network gains nothing and idle threads only spin.
    """
    return _cap or max(1, min(most, os.cpu_count() or 1))


def onnx_options(threads: int) -> Any:
    """onnxruntime session options: ``threads`` intra-op threads (0: one per core), one
    inter-op thread, quiet logs, and no spinning.

    Why no spinning: by default onnxruntime's pool threads keep spinning on a core for a
    while after each run, waiting for the next. The finder's LiteRT runs and dlib's
    landmarks come right after one (CenterFace's, the ResNet's), so on 2 cores they ran
    beside a busy thread: a pixabay-external portrait's whole answer took 24.6-25.5 ms
    with spinning and 17.3 without (2026-12-04, AMD EPYC; latency.md).
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    return options


def limit_threads(n: int) -> None:
    """Cap OpenCV's and the BLAS's thread pools of this process at ``n`` (0: leave them).

    Called once per worker process, before its first task (a pool initializer,
    gunicorn's ``post_fork``); the limits hold for the life of the process.
    """
    if n <= 0:
        return
    global _cap
    _cap = n
    import cv2
    from threadpoolctl import threadpool_limits

    cv2.setNumThreads(n)
    threadpool_limits(n)


def process_pool(n: int) -> ProcessPoolExecutor:
    """``n`` worker processes, spawned (fresh interpreters) and capped at :func:`per_worker`.

    Spawned, not forked: a fork of a process whose BLAS threads are running can
    deadlock in the child (the embedding trainer did, in the test suite).
    """
    return ProcessPoolExecutor(n, mp_context=multiprocessing.get_context("spawn"),
                               initializer=limit_threads, initargs=(per_worker(n),))
