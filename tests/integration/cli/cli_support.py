"""Helpers for the CLI tests: the in-process runner and an estimator class of our own."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from typer.main import get_command
from typer.testing import CliRunner, Result

from ferryman.cli import app
from ferryman.cli.context import CliState

FEATURES = [f"x{i}" for i in range(5)]
TARGET = "label"
INPUT_ROWS = 7
CUSTOM_TYPE = "cli_support.ThresholdClassifier"

# Typer builds the click command from the app on every CliRunner.invoke (~0.1 s); a real
# process builds it once, and so do these tests.
COMMAND = get_command(app)


@dataclass
class Cli:
    """Invokes the ``ferryman`` Typer app the way ``main()`` does: with a fresh CliState."""

    runner: CliRunner

    def __call__(self, *args: str | Path) -> Result:
        """Run ``ferryman ARGS`` as ``main()`` does: ``app(obj=CliState())``."""
        state = CliState()
        exit_code, exception = 0, None
        try:
            with self.runner.isolation() as (stdout, stderr, output):
                try:
                    COMMAND.main(args=[str(a) for a in args], prog_name="ferryman", obj=state)
                except SystemExit as exc:
                    exit_code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
                    exception = exc if exit_code else None
                except Exception as exc:  # noqa: BLE001 - a runner records whatever escapes
                    exit_code, exception = 1, exc
                finally:
                    sys.stdout.flush()
                    sys.stderr.flush()
                result = Result(
                    runner=self.runner,
                    stdout_bytes=stdout.getvalue(),
                    stderr_bytes=stderr.getvalue(),
                    output_bytes=output.getvalue(),
                    return_value=None,
                    exit_code=exit_code,
                    exception=exception,
                )
        finally:
            if state._registry is not None:
                state._registry.close()
        return result

    def ok(self, *args: str | Path) -> Result:
        """Run and insist on exit code 0."""
        result = self(*args)
        assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr)
        assert result.exception is None
        return result

    def json(self, *args: str | Path) -> Any:
        """Run with ``--json`` appended and parse stdout."""
        return json.loads(self.ok(*args, "--json").stdout)

    def fails(self, *args: str | Path) -> str:
        """Run a command that must fail as a FerrymanError: exit 1, one ``error:`` line on
        stderr, no traceback. Returns that line."""
        result = self(*args)
        assert result.exit_code == 1, (result.exit_code, result.stdout, result.stderr)
        assert "Traceback" not in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(
            result.exception
        )
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("error: "), result.stderr
        assert result.stdout == ""
        return lines[0]

    def misused(self, *args: str | Path) -> str:
        """Run a command with a usage mistake: exit 2, no traceback. Returns stderr."""
        result = self(*args)
        assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
        assert "Traceback" not in result.output
        assert result.stdout == ""
        return result.stderr

    def versions(self, name: str) -> list[int]:
        """The version numbers of ``name``, newest first."""
        return [v["version"] for v in self.json("versions", "list", name)["versions"]]

    def model_names(self) -> list[str]:
        return [m["name"] for m in self.json("models", "list")["models"]]


class ThresholdClassifier(ClassifierMixin, BaseEstimator):
    """Predicts the second class where one column is above a threshold.

    skops does not trust this type, so loading a file that holds it needs ``--trust``.
    """

    def __init__(self, column: int = 0, threshold: float = 0.0) -> None:
        self.column = column
        self.threshold = threshold

    def fit(self, X: Any, y: Any) -> ThresholdClassifier:
        self.classes_ = np.unique(np.asarray(y))
        return self

    def predict(self, X: Any) -> np.ndarray:
        values = np.asarray(X, dtype=float)[:, self.column]
        return self.classes_[(values > self.threshold).astype(int)]
