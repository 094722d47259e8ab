"""Helpers for the CLI tests: the in-process runner and an estimator class of our own."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from click.testing import Result
from sklearn.base import BaseEstimator, ClassifierMixin
from typer.testing import CliRunner

from ferryman.cli import app
from ferryman.cli.context import CliState

FEATURES = [f"x{i}" for i in range(5)]
TARGET = "label"
INPUT_ROWS = 7
CUSTOM_TYPE = "cli_support.ThresholdClassifier"


@dataclass
class Cli:
    """Invokes the ``ferryman`` Typer app the way ``main()`` does: with a fresh CliState."""

    runner: CliRunner

    def __call__(self, *args: str | Path) -> Result:
        state = CliState()
        try:
            return self.runner.invoke(app, [str(a) for a in args], obj=state)
        finally:
            if state._registry is not None:
                state._registry.close()

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
        assert not isinstance(result.exception, Exception) or isinstance(
            result.exception, SystemExit
        ), result.exception
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
