"""Run one function over chunks of work: here, in local worker processes, or on Dask.

``facegender batch`` and ``facegender crop`` share this engine::

    with open_executor(workers=2) as ex:        # or dask="local:2" / "tcp://host:8786"
        for done in ex.map_chunks(fn, chunks, *args):
            write(done.result)                   # or count done.error

Chunks come back as they complete, not in order, so the caller writes each
one as it arrives: a crash or a lost worker costs at most the chunks still in
flight. A chunk whose function raised comes back with ``error`` set and the
others go on. On Dask a chunk that was running on a worker that died is run
again elsewhere by the scheduler; a local pool whose process dies is broken,
so its remaining chunks come back as errors (the written rows stay, and a
resumed run does the rest).

``fn`` must be a module-level function (it is pickled to the workers) and
keep heavy state, such as a loaded model, in a per-process cache, so that
each worker loads it once and not once per chunk.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ..errors import BadRequest
from ..threads import limit_threads, per_worker, process_pool

log = logging.getLogger(__name__)

DASK_CONNECT_TIMEOUT = "20s"


@dataclass
class ChunkResult:
    """One finished chunk: its position, its items, and ``result`` or ``error``."""

    index: int
    items: list[Any]
    result: Any = None
    error: str | None = None


class Executor(Protocol):
    """Where chunks run; ``description`` says it in words for summaries and logs."""

    description: str

    def map_chunks(self, fn: Callable[..., Any], chunks: Sequence[list[Any]],
                   *args: Any) -> Iterator[ChunkResult]: ...

    def close(self) -> None: ...

    def __enter__(self) -> Executor: ...

    def __exit__(self, *exc: object) -> None: ...


def chunked(items: Sequence[Any], size: int) -> list[list[Any]]:
    """``items`` cut into lists of at most ``size``, in order."""
    if size < 1:
        raise BadRequest(f"chunk size must be at least 1, got {size}")
    return [list(items[i:i + size]) for i in range(0, len(items), size)]


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


class _Base:
    description = ""

    def close(self) -> None:
        """Release the workers; safe to call twice."""

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SerialExecutor(_Base):
    """Every chunk in this process, one after the other."""

    description = "this process"

    def map_chunks(self, fn: Callable[..., Any], chunks: Sequence[list[Any]],
                   *args: Any) -> Iterator[ChunkResult]:
        for i, chunk in enumerate(chunks):
            try:
                yield ChunkResult(i, chunk, result=fn(chunk, *args))
            except Exception as exc:  # one bad chunk is reported, the run goes on
                log.warning("chunk %d failed: %s", i, _describe(exc))
                yield ChunkResult(i, chunk, error=_describe(exc))


class PoolExecutor(_Base):
    """``n`` local worker processes (spawned: fresh interpreters, no inherited threads)."""

    def __init__(self, n: int) -> None:
        self.description = f"{n} local worker process{'es' if n > 1 else ''}"
        self._pool = process_pool(n)

    def map_chunks(self, fn: Callable[..., Any], chunks: Sequence[list[Any]],
                   *args: Any) -> Iterator[ChunkResult]:
        index: dict[Future[Any], int] = {}
        try:
            for i, chunk in enumerate(chunks):
                index[self._pool.submit(fn, chunk, *args)] = i
            for fut in as_completed(index):
                i = index[fut]
                try:
                    yield ChunkResult(i, chunks[i], result=fut.result())
                except Exception as exc:
                    log.warning("chunk %d failed: %s", i, _describe(exc))
                    yield ChunkResult(i, chunks[i], error=_describe(exc))
        finally:  # stopped early (error, Ctrl-C, caller gave up): drop what has not started
            for fut in index:
                fut.cancel()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class DaskExecutor(_Base):
    """Chunks as tasks on a Dask cluster: ``local[:N]`` starts one here, else connect.

    ``spec`` is ``local`` (a worker process per core), ``local:N``, a
    scheduler address (``tcp://host:8786``, ``host:8786``) or a scheduler
    file (``*.json``, written by ``dask scheduler --scheduler-file``).
    """

    def __init__(self, spec: str) -> None:
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError as exc:  # pragma: no cover - a dependency, but say what to do
            raise BadRequest("--dask needs dask[distributed]: pip install 'dask[distributed]'"
                             ) from exc
        # distributed logs every start and stop at INFO; show that only with -v
        verbose = logging.getLogger().isEnabledFor(logging.INFO)
        logging.getLogger("distributed").setLevel(logging.INFO if verbose else logging.WARNING)
        self._cluster: Any = None
        n_local = parse_local(spec)
        if n_local is not None:
            self._cluster = LocalCluster(n_workers=n_local, threads_per_worker=1,
                                         processes=True, dashboard_address="127.0.0.1:0")
            self.client = Client(self._cluster)
            self.client.run(limit_threads, per_worker(n_local))
            self.description = f"a local Dask cluster of {n_local} worker process" + (
                "es" if n_local > 1 else "")
        else:
            self.client = _connect(Client, spec)
            self.description = f"the Dask cluster at {spec}"

    def map_chunks(self, fn: Callable[..., Any], chunks: Sequence[list[Any]],
                   *args: Any) -> Iterator[ChunkResult]:
        from dask.distributed import as_completed as dask_completed

        run = f"facegender-{getattr(fn, '__name__', 'chunk')}-{uuid.uuid4().hex[:8]}"
        futures = [self.client.submit(fn, chunk, *args, key=f"{run}-{i}")  # unique per call
                   for i, chunk in enumerate(chunks)]
        index = {f.key: i for i, f in enumerate(futures)}
        try:
            for fut in dask_completed(futures):
                i = index[fut.key]
                try:
                    yield ChunkResult(i, chunks[i], result=fut.result())
                except Exception as exc:  # includes KilledWorker after repeated worker deaths
                    log.warning("chunk %d failed: %s", i, _describe(exc))
                    yield ChunkResult(i, chunks[i], error=_describe(exc))
                fut.release()
        finally:
            self.client.cancel([f for f in futures if not f.done()])

    def close(self) -> None:
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None


def parse_local(spec: str) -> int | None:
    """Worker count of a ``local`` / ``local:N`` spec, None for anything else."""
    if spec == "local":
        return os.cpu_count() or 1
    if not spec.startswith("local:"):
        return None
    n = spec.split(":", 1)[1]
    if not n.isdigit() or not 1 <= int(n) <= 256:
        raise BadRequest(f"--dask {spec!r}: expected local, local:N with N from 1 to 256, "
                         "a scheduler address such as tcp://host:8786, or a scheduler file")
    return int(n)


def _connect(client_cls: Any, spec: str) -> Any:
    try:
        if spec.endswith(".json") and Path(spec).is_file():
            return client_cls(scheduler_file=spec, timeout=DASK_CONNECT_TIMEOUT)
        return client_cls(spec, timeout=DASK_CONNECT_TIMEOUT)
    except (OSError, TimeoutError, ValueError) as exc:
        raise BadRequest(f"cannot reach the Dask scheduler at {spec!r}: {exc}") from exc


def check_executor_args(workers: int | None, dask: str | None) -> None:
    """Refuse a bad ``--workers`` / ``--dask`` pair before any work starts."""
    if workers is not None and workers < 1:
        raise BadRequest(f"--workers must be at least 1, got {workers}")
    if dask:
        if workers not in (None, 1):
            raise BadRequest("give --workers or --dask, not both "
                             "(--dask local:N starts N local Dask workers)")
        parse_local(dask)


def open_executor(workers: int | None = 1, dask: str | None = None) -> Executor:
    """The executor for ``--workers N`` (1: this process; None: one per core) or ``--dask``."""
    check_executor_args(workers, dask)
    if dask:
        return DaskExecutor(dask)
    n = workers or os.cpu_count() or 1
    return SerialExecutor() if n == 1 else PoolExecutor(n)
