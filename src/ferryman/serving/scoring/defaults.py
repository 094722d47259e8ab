"""Defaults of batch scoring: rows per chunk, and chunks predicted at once.

They live apart from ``job.py`` so that building the ``ferryman score`` command's help does not
import pandas.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

DEFAULT_CHUNK_ROWS = 50_000
MAX_DEFAULT_THREADS = 8


def default_threads() -> int:
    """Chunks predicted at once by default: one per CPU this process may use (its affinity,
    and a container's CPU quota), at most 8."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count() or 1
    quota = _cgroup_cpu_quota()
    if quota is not None:
        usable = min(usable, math.ceil(quota))
    return max(1, min(usable, MAX_DEFAULT_THREADS))


def _cgroup_cpu_quota(path: Path = Path("/sys/fs/cgroup/cpu.max")) -> float | None:
    """CPUs a cgroup v2 quota allows (``"200000 100000"`` is 2), or None without one."""
    try:
        quota, period = path.read_text().split()[:2]
        return None if quota == "max" else max(int(quota) / int(period), 1.0)
    except (OSError, ValueError):
        return None
