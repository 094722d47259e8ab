"""Every command's ``--help``: flags show no value type."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cli_support import COMMAND, Cli


def command_paths(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield path
    for name, sub in getattr(command, "commands", {}).items():
        yield from command_paths(sub, (*path, name))


def test_no_help_page_shows_a_type_beside_a_flag(run: Cli) -> None:
    paths = list(command_paths(COMMAND))
    assert len(paths) > 25  # every group and command, the root included
    for path in paths:
        page = run.ok(*path, "--help").stdout
        assert "--help" in page
        assert "<bool>" not in page, (path, page)
