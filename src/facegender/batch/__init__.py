"""Many photos at once: a folder in, one row per face out (CSV, JSON lines, Parquet).

One engine runs the work in this process, in local worker processes or on a
Dask cluster, writes rows as they finish and resumes after a stop.
"""

from __future__ import annotations

from .engine import Executor, chunked, open_executor
from .output import FIELDS, read_rows
from .run import BatchSummary, run_batch

__all__ = ["FIELDS", "BatchSummary", "Executor", "chunked", "open_executor", "read_rows",
           "run_batch"]
