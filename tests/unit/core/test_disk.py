"""Telling a full disk apart: sizes for people, and no diagnosis where there is room."""

from __future__ import annotations

import errno
import subprocess
import sys
from pathlib import Path

import pytest

from ferryman.core.disk import format_size, is_space_error, may_be_space, space_problem


@pytest.mark.parametrize(
    ("size", "said"),
    [(0, "0 bytes"), (1023, "1023 bytes"), (1536, "1.5 KB"), (2 * 1024**2, "2.0 MB"),
     (3 * 1024**3, "3.0 GB"), (5 * 1024**5, "5120.0 TB")],
)  # fmt: skip
def test_sizes_are_said_in_the_largest_unit_under_1024(size: int, said: str) -> None:
    assert format_size(size) == said


def test_a_folder_with_room_has_no_space_problem(tmp_path: Path) -> None:
    assert space_problem(tmp_path / "not" / "yet" / "made.db") is None
    assert space_problem(None) is None
    assert space_problem("s3://bucket/log") is None


def test_only_errors_of_room_count_as_space_errors() -> None:
    assert is_space_error(OSError(errno.ENOSPC, "No space left on device"))
    assert is_space_error(OSError(errno.EFBIG, "File too large"))
    assert not is_space_error(OSError(errno.EACCES, "Permission denied"))
    assert not is_space_error(ValueError("no room"))


@pytest.mark.parametrize(
    ("message", "looked_at"),
    [("disk I/O error", True), ("database or disk is full", True), ("File too large", True),
     ("database is locked", False), ("file is not a database", False),
     ("no such table: api_tokens", False)],
)  # fmt: skip
def test_only_failed_writes_send_a_database_error_to_the_disk(
    message: str, looked_at: bool
) -> None:
    assert may_be_space(message) is looked_at


def test_a_damaged_database_under_a_file_size_limit_is_not_called_a_full_disk(
    tmp_path: Path,
) -> None:
    """A finite ``ulimit -f`` is no reason to blame the disk for a file that is not a
    database: the error says what is wrong with the file."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "ferryman.db").write_bytes(b"this is not a database" * 100)
    script = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (10_000_000, 10_000_000))\n"
        "from ferryman.config import Settings\n"
        "from ferryman.registry import Registry\n"
        "from ferryman.errors import StoreError\n"
        "try:\n"
        f"    Registry(Settings.load(home={str(home)!r}))\n"
        "except StoreError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    assert "ferryman.db" in out or "metadata database" in out
    assert "file size limit" not in out
    assert "is full" not in out
