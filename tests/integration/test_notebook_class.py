"""A class defined in a notebook (``__main__``) is refused at registration, with the way out:
no other process could ever load the model."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from typer.testing import CliRunner

from ferryman.cli import app
from ferryman.config import Settings
from ferryman.registry import Registry

SCRIPT = textwrap.dedent(
    """
    import sys

    import numpy as np
    import pandas as pd
    import skops.io as sio
    from sklearn.base import BaseEstimator, TransformerMixin
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    import ferryman
    from ferryman.errors import UnimportableTypeError


    class Clipper(TransformerMixin, BaseEstimator):
        def fit(self, X, y=None):
            return self

        def transform(self, X):
            return np.clip(np.asarray(X, dtype=float), -1.0, 1.0)


    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    model = make_pipeline(Clipper(), LogisticRegression()).fit(frame, frame["a"] > 0)
    sio.dump(model, sys.argv[1])
    for trusted in (["__main__.Clipper"], []):
        try:
            ferryman.register(model, "clipped", train_data=frame, trusted_types=trusted)
        except UnimportableTypeError as exc:
            print(exc)
        else:
            print("registered")
    """
)


def test_a_notebook_class_is_refused_at_registration(home: Path, tmp_path: Path) -> None:
    script, saved = tmp_path / "notebook.py", tmp_path / "clipped.skops"
    script.write_text(SCRIPT, encoding="utf-8")

    done = subprocess.run(
        [sys.executable, str(script), str(saved)],
        env={**os.environ, "FERRYMAN_RECORD_GIT": "false"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 2, done.stdout  # trusted or not: the same refusal, nothing registered
    for line in lines:
        assert "__main__.Clipper is defined in __main__" in line
        assert "Move each class into a module of its own" in line
        assert "install it as a package, or put its folder on PYTHONPATH" in line
    registry = Registry(Settings.load())
    assert registry.list_models().items == []
    # the file saved by the notebook is refused by `register` in the same words
    result = CliRunner().invoke(
        app, ["register", str(saved), "--name", "clipped", "--trust", "__main__.Clipper"]
    )
    assert result.exit_code == 1, result.output
    assert "__main__.Clipper is defined in __main__" in result.output
    assert registry.list_models().items == []
    registry.close()
