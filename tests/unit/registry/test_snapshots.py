"""Signed snapshots: a later load skips skops, and only ever reads what this store signed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from ferryman.config import Settings
from ferryman.registry import Registry


def _snapshot_files(home: Path) -> list[Path]:
    return sorted((home / "cache" / "snapshots").glob("*.pkl"))


def _register(registry: Registry, model: Pipeline, frame: pd.DataFrame) -> None:
    registry.register(model, "cancer", train_data=frame, target="target")


def _fresh_load_uses_skops(home: Path) -> tuple[bool, list[int]]:
    """Load cancer/1 in a new process: was skops imported, and what does it predict?"""
    code = (
        "import sys, ferryman\n"
        "from sklearn.datasets import load_breast_cancer\n"
        "rows = load_breast_cancer(as_frame=True).frame.drop(columns='target').head(5)\n"
        "model = ferryman.load('cancer/1')\n"
        "print('skops.io' in sys.modules, list(model.predict(rows)))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("FERRYMAN_")}
    env["FERRYMAN_HOME"] = str(home)
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.split(" ", 1)
    return out[0] == "True", eval(out[1])


def test_registration_keeps_a_signed_snapshot_that_a_new_process_loads_without_skops(
    registry: Registry, home: Path, cancer_model: Pipeline, cancer_frame: pd.DataFrame
) -> None:
    _register(registry, cancer_model, cancer_frame)
    assert len(_snapshot_files(home)) == 1
    key = home / "cache" / "snapshots" / "key"
    assert key.stat().st_mode & 0o777 == 0o600
    used_skops, predicted = _fresh_load_uses_skops(home)
    assert used_skops is False
    expected = cancer_model.predict(cancer_frame.drop(columns="target").head(5))
    assert predicted == expected.tolist()


def test_an_altered_snapshot_is_ignored_and_replaced(
    registry: Registry, home: Path, cancer_model: Pipeline, cancer_frame: pd.DataFrame
) -> None:
    _register(registry, cancer_model, cancer_frame)
    (path,) = _snapshot_files(home)
    data = bytearray(path.read_bytes())
    data[-5] ^= 0xFF
    path.write_bytes(bytes(data))
    used_skops, predicted = _fresh_load_uses_skops(home)
    assert used_skops is True  # the full, checked load ran
    assert predicted == cancer_model.predict(cancer_frame.drop(columns="target").head(5)).tolist()
    assert path.read_bytes() != bytes(data)  # rewritten with a valid signature
    assert _fresh_load_uses_skops(home)[0] is False


def test_a_snapshot_signed_by_another_store_is_not_read(
    registry: Registry,
    home: Path,
    tmp_path: Path,
    cancer_model: Pipeline,
    cancer_frame: pd.DataFrame,
) -> None:
    _register(registry, cancer_model, cancer_frame)
    (path,) = _snapshot_files(home)
    other = Registry(Settings.load(home=tmp_path / "other", record_git=False))
    other.register(cancer_model, "cancer", train_data=cancer_frame, target="target")
    other.close()
    (foreign,) = _snapshot_files(tmp_path / "other")
    # a well-formed snapshot, signed with the other store's key, put where ours would be
    path.write_bytes(foreign.read_bytes())
    assert _fresh_load_uses_skops(home)[0] is True


def test_snapshots_can_be_turned_off(
    home: Path, cancer_model: Pipeline, cancer_frame: pd.DataFrame
) -> None:
    registry = Registry(Settings.load(home=home, record_git=False, snapshot_models=False))
    try:
        _register(registry, cancer_model, cancer_frame)
        loaded = registry.load("cancer/1")
        assert np.array_equal(
            loaded.predict(cancer_frame.head(3)),
            cancer_model.predict(cancer_frame.drop(columns="target").head(3)),
        )
    finally:
        registry.close()
    assert _snapshot_files(home) == []


def test_a_snapshot_is_per_trust_setting(
    registry: Registry, home: Path, cancer_model: Pipeline, cancer_frame: pd.DataFrame
) -> None:
    _register(registry, cancer_model, cancer_frame)
    registry.cache.clear()
    registry.load("cancer/1", trusted_types=["builtins.frozenset"])
    assert len(_snapshot_files(home)) == 2  # trusting more types is another snapshot
