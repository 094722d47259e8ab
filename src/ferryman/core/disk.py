"""Telling a full disk from a damaged file: why a write under a path failed for want of room.

SQLite reports a full disk as "disk I/O error" as often as "database or disk is full" (the
write-ahead log's shared memory file fails first), and Arrow's writers as a generic I/O
error: the reason is found by looking at the disk itself, not at the message.
"""

from __future__ import annotations

import errno
import shutil
import sys
from pathlib import Path

if sys.platform != "win32":
    import resource

# free space under which a failed write is put down to a full disk
LOW_SPACE = 1024 * 1024
SPACE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


# what a database driver says when a write could not be made, full disk or not; other errors
# (a locked or damaged file, a missing table) are never put down to the disk
WRITE_FAILURES = ("disk i/o error", "database or disk is full", "file too large", "no space")


def may_be_space(message: str) -> bool:
    """Whether a database error's ``message`` is a failed write, which a full disk (or a
    file size limit) can cause: only then is the disk looked at."""
    text = message.lower()
    return any(words in text for words in WRITE_FAILURES)


def is_space_error(exc: BaseException) -> bool:
    """An OSError that says outright that there is no room (ENOSPC, EDQUOT, EFBIG)."""
    return isinstance(exc, OSError) and exc.errno in SPACE_ERRNOS


def space_problem(path: str | Path | None) -> str | None:
    """Why files under ``path`` cannot grow, said for a person, or None when there is room.

    ``path`` is a file or folder (it need not exist yet: its nearest existing parent is
    looked at); None or a URL (not a local path) gives None.
    """
    if path is None or "://" in str(path):
        return None
    folder = _existing(Path(path))
    if folder is None:
        return None
    try:
        usage = shutil.disk_usage(folder)
    except OSError:
        return None
    if usage.free < LOW_SPACE:
        return (
            f"the disk holding {folder} is full ({format_size(usage.free)} free of "
            f"{format_size(usage.total)}); free some space there"
        )
    if sys.platform != "win32":
        limit, _ = resource.getrlimit(resource.RLIMIT_FSIZE)
        if limit != resource.RLIM_INFINITY:
            return (
                f"this process may not write files over {format_size(limit)} (its file size "
                f"limit, `ulimit -f`) under {folder}; raise the limit"
            )
    return None


def format_size(size: int) -> str:
    """``size`` bytes as a person reads it: 512 bytes, 1.5 KB, 2.0 MB, 3.1 GB."""
    if size < 1024:
        return f"{size} bytes"
    value = float(size)
    for unit in ("KB", "MB", "GB", "TB"):
        value /= 1024
        if value < 1024 or unit == "TB":
            break
    return f"{value:.1f} {unit}"


def _existing(path: Path) -> Path | None:
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate if candidate.is_dir() else candidate.parent
    return None
