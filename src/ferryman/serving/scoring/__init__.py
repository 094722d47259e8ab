"""Batch scoring: a CSV or Parquet file in, predictions out, a chunk of rows at a time.

``score_file`` (``job.py``) runs a job: it reads the input (``readers.py``), settles its
columns (``plan.py``), checks each chunk against the signature (``checks.py``) and writes the
predictions and rejects (``writers.py``). ``defaults.py`` needs no pandas: the ``ferryman
score`` command's help imports it alone, so this package loads ``job.py`` on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ferryman.serving.scoring.defaults import DEFAULT_CHUNK_ROWS, default_threads

if TYPE_CHECKING:
    from ferryman.serving.scoring.job import (
        ScoreProgress,
        ScoreReport,
        default_rejects_path,
        score_file,
    )

__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "ScoreProgress",
    "ScoreReport",
    "default_rejects_path",
    "default_threads",
    "score_file",
]

_IN_JOB = frozenset({"ScoreProgress", "ScoreReport", "default_rejects_path", "score_file"})

if not TYPE_CHECKING:  # type checkers see the import above

    def __getattr__(name: str) -> Any:
        if name in _IN_JOB:
            return getattr(importlib.import_module("ferryman.serving.scoring.job"), name)
        raise AttributeError(f"module 'ferryman.serving.scoring' has no attribute {name!r}")
