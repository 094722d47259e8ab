"""Telling a full disk apart: sizes for people, and no diagnosis where there is room."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from ferryman.core.disk import format_size, is_space_error, space_problem


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
