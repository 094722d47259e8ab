"""Run a command with a real full disk under a folder.

Where this machine lets a user make a mount namespace (``unshare --user --map-root-user
--mount``, root or not), the folder becomes a small tmpfs, filled to the last byte, holding a
copy of what was there. Where it does not, the command runs with a file size limit
(RLIMIT_FSIZE, ``ulimit -f``) instead, so writes past it fail with EFBIG: a real refusal by
the kernel too, which the messages name differently. ``MODE`` says which one runs here.
"""

from __future__ import annotations

import functools
import os
import resource
import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

SIZE_LIMIT = 4096  # bytes a file may grow to in "rlimit" mode

# mount a tmpfs over $1 holding a copy of $1's files, fill it, then run the rest
_FILL = (
    'seed=$(mktemp -d) && cp -a "$1"/. "$seed"/ && mount -t tmpfs -o size=2m tmpfs "$1" && '
    'cp -a "$seed"/. "$1"/ && rm -rf "$seed" && '
    '(dd if=/dev/zero of="$1/.fill" bs=4k 2>/dev/null; dd if=/dev/zero of="$1/.fill2" bs=1 '
    '2>/dev/null; true) && shift && exec "$@"'
)


@functools.cache
def mode() -> str:
    """ "mount" where a mount namespace can be made here, else "rlimit" (or as the
    environment's FULL_DISK_MODE says, to try the other one)."""
    forced = os.environ.get("FULL_DISK_MODE")
    if forced in ("mount", "rlimit"):
        return forced
    if shutil.which("unshare") is None:
        return "rlimit"
    probe = subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c",
         'd=$(mktemp -d) && mount -t tmpfs -o size=1m tmpfs "$d" && umount "$d"'],
        capture_output=True,
        timeout=30,
    )  # fmt: skip
    return "mount" if probe.returncode == 0 else "rlimit"


def _limit_size() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (SIZE_LIMIT, SIZE_LIMIT))


def on_full_disk(folder: Path, command: Sequence[str], **popen: Any) -> subprocess.Popen[str]:
    """Start ``command`` with the disk under ``folder`` full (see the module's docstring)."""
    folder.mkdir(parents=True, exist_ok=True)
    preexec: Callable[[], None] | None = None
    if mode() == "mount":
        argv = ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", _FILL, "sh"]
        argv += [str(folder), *command]
    else:
        argv = list(command)
        preexec = _limit_size
    return subprocess.Popen(argv, preexec_fn=preexec, text=True, **popen)


def run_on_full_disk(folder: Path, command: Sequence[str]) -> subprocess.CompletedProcess[str]:
    """Run ``command`` to its end with the disk under ``folder`` full: its exit and output."""
    process = on_full_disk(folder, command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stdout, stderr = process.communicate(timeout=120)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def full_disk_said(stderr: str, folder: Path) -> bool:
    """The message names the full disk (or, in "rlimit" mode, the size limit) and where."""
    if mode() == "mount":
        return f"the disk holding {folder}" in stderr and "is full (" in stderr
    return "may not write files over 4.0 KB" in stderr and "ulimit -f" in stderr
