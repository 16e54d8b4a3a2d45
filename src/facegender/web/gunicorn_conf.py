"""gunicorn settings for ``make run``: loopback by default, the model loaded once (preload).

HOST and PORT choose the address (default 127.0.0.1:8000); WEB_CONCURRENCY the
number of worker processes (default 2); FACEGENDER_THREADS the threads OpenCV and
numpy's BLAS may use in each worker (unset: the cores shared out among the
workers, at least 1; 0: the libraries' own default, one per core each).
"""

import os
import sys

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = 1
preload_app = True
timeout = 60
graceful_timeout = 10
max_requests = 2000  # recycle workers now and then; jitter avoids restarting all at once
max_requests_jitter = 200
accesslog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'


def when_ready(server):  # noqa: ANN001 - gunicorn hook
    _load_native_libraries()
    # the sockets really listening: a -b on gunicorn's command line overrides ``bind``
    where = ", ".join(f"{listener}/" for listener in server.LISTENERS) or f"http://{bind}/"
    server.log.info("facegender is serving on %s", where)
    print(f"facegender: open {where} in your browser", flush=True)


def _load_native_libraries():
    """Load the runtimes' shared libraries in the master, before any worker is forked.

    Why: a fresh worker used to load LiteRT's ``libLiteRt.so`` itself, during its warm-up,
    while the BLAS thread pools it had just set up were starting, and now and then
    (3 of 50 boots of the shipped config, 2026-12-04) glibc's ``dlopen`` waited forever on
    one of those threads (``__thread_gscope_wait``; seen with gdb): the worker never served.
    Loaded here, the workers inherit the mapped libraries and never ``dlopen`` them.
    Importing creates no thread pool (those come with the first interpreter or session).
    """
    import contextlib
    import importlib

    for name in ("ai_edge_litert.interpreter", "onnxruntime"):
        # a missing runtime: the request that needs it reports it
        with contextlib.suppress(ImportError):
            importlib.import_module(name)


def post_fork(server, worker):  # noqa: ANN001, ARG001 - gunicorn hook
    """Per worker: gunicorn's own refusals (414, 431, 400) in the JSON envelope, and
    OpenCV's and the BLAS's threads limited (FACEGENDER_THREADS).

    Both spread one request over every core; with several workers on few cores
    their threads compete and OpenBLAS's spin while waiting (facegender.threads).
    Set in each worker after the fork, because the thread pools belong to the process.
    """
    from ..threads import limit_threads, per_worker
    from .server_errors import install

    install()
    threads = os.environ.get("FACEGENDER_THREADS", "").strip()
    limit_threads(int(threads) if threads else per_worker(workers))


def post_worker_init(worker):  # noqa: ANN001 - gunicorn hook
    """Per worker, before its first request: load every model part each service uses.

    They load lazily (nothing at import time, interpreters per thread), so without
    this each fresh worker's first request took about 1 s more than the next ones.
    The app is already loaded here (``worker.wsgi``); a failure is logged, not fatal:
    the request that needs the part loads it and reports its own error.
    """
    services = worker.wsgi.extensions.get("facegender_models", {})
    try:
        ms = sum(svc.warm_up() for svc in services.values())
        worker.log.info("worker %s warmed up %d model(s) in %.0f ms", worker.pid,
                        len(services), ms)
    except Exception as exc:  # noqa: BLE001 - any failure is the first request's to report
        worker.log.warning("worker %s warm-up failed: %s", worker.pid, exc)


def _start_error_in_one_line(kind, exc, tb):  # noqa: ANN001 - sys.excepthook signature
    """A facegender error while gunicorn loads the app is one line on stderr, not a traceback.

    With ``preload_app`` the model is loaded in the master, inside gunicorn's
    own start-up code, before any server hook runs; a missing or corrupt model
    file (``ModelError``) reaches the interpreter from there. The exit status
    stays 1; any other error keeps its full traceback.
    """
    from ..errors import FaceGenderError

    if isinstance(exc, FaceGenderError):
        print(f"facegender: cannot start: {exc.message}", file=sys.stderr, flush=True)
    else:
        sys.__excepthook__(kind, exc, tb)


sys.excepthook = _start_error_in_one_line
