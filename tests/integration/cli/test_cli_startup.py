"""What keeps ``ferryman`` quick to start: help, the version and metadata commands import
neither the data stack nor the server (bench/cli_startup.py measures the time itself)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cli_support import Cli

DATA_STACK = ("duckdb", "numpy", "pandas", "pyarrow", "scipy", "sklearn", "uvicorn")
# imported only when a command needs them: artifacts (fsspec), a PostgreSQL database
ON_USE = ("fsspec", "sqlalchemy", "sqlalchemy.dialects.postgresql")
# the modules of other commands: a command builds and imports its own part of the tree only
OTHER_COMMANDS = tuple(
    f"ferryman.cli.{name}"
    for name in ("aliases", "history", "monitor", "register", "score", "serve")
)


def modules_loaded_by(*args: str, among: tuple[str, ...] = (*DATA_STACK, *ON_USE)) -> list[str]:
    """Run ``ferryman ARGS`` in a fresh interpreter; which modules of ``among`` it imported."""
    code = (
        "import json, sys\n"
        "from ferryman.cli import main\n"
        f"sys.argv = ['ferryman', *{list(args)!r}]\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        f"heavy = [m for m in {among!r} if m in sys.modules]\n"
        "print(json.dumps(sorted(heavy)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    loaded: list[str] = json.loads(done.stdout.splitlines()[-1])
    return loaded


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["flavors"], ["score", "--help"]])
def test_help_version_and_flavors_load_no_data_stack_and_no_database(
    home: Path, args: list[str]
) -> None:
    assert modules_loaded_by(*args) == []


def test_listing_models_loads_the_database_but_not_the_data_stack_or_artifacts(
    run: Cli,
) -> None:
    run.ok("models", "create", "churn")  # an existing store, as a user would have

    assert modules_loaded_by("models", "list") == ["sqlalchemy"]


def test_a_command_imports_no_other_commands_module(run: Cli) -> None:
    run.ok("models", "create", "churn")

    assert modules_loaded_by("models", "list", among=OTHER_COMMANDS) == []
    assert modules_loaded_by("history", "churn", among=OTHER_COMMANDS) == ["ferryman.cli.history"]
    assert len(modules_loaded_by("--help", among=OTHER_COMMANDS)) == len(OTHER_COMMANDS)
