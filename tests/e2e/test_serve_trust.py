"""``ferryman serve`` has no ``--trust``: a version it may not load says what does work."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin

from ferryman.config import Settings
from ferryman.registry import Registry
from live_server import FERRYMAN, free_port


class Majority(ClassifierMixin, BaseEstimator):
    """Predicts the most frequent training class; skops does not trust it by default."""

    def fit(self, X: Any, y: Any) -> Majority:
        self.classes_, counts = np.unique(np.asarray(y), return_counts=True)
        self.majority_ = self.classes_[np.argmax(counts)]
        return self

    def predict(self, X: Any) -> np.ndarray:
        return np.full(len(X), self.majority_)


MAJORITY = f"{__name__}.Majority"


def _log_of_serve(home: Path, *args: str, until: str, timeout: float = 90.0) -> str:
    """Run ``ferryman serve`` until its log shows ``until`` (or it exits); its log."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FERRYMAN_")}
    env["FERRYMAN_HOME"] = str(home)
    log_path = home.parent / "serve.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [str(FERRYMAN), "serve", "--port", str(free_port()), *args],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and process.poll() is None:
                if until in log_path.read_text():
                    break
                time.sleep(0.1)
        finally:
            process.terminate()
            process.wait(timeout=30)
    return log_path.read_text()


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_refused_type_names_only_ways_that_exist_for_serve(home: Path, workers: str) -> None:
    frame = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0]})
    model = Majority().fit(frame, [0, 1, 1, 1])
    registry = Registry(Settings.load(trusted_types=[MAJORITY], record_git=False))
    registry.register(model, "custom", aliases=["production"])  # trust not kept: settings'
    registry.close()

    log = _log_of_serve(home, "--workers", workers, until="FERRYMAN_TRUSTED_TYPES")

    assert f"custom/1: the model file needs types that are not trusted: {MAJORITY}" in log
    assert "`ferryman register FILE --name NAME --trust TYPE`" in log
    assert "FERRYMAN_TRUSTED_TYPES" in log
    assert "pass --trust" not in log
    assert "trusted_types=[...]" not in log
