"""Shared fixtures: a fresh store per test, and small real models and data sets."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from ferryman.config import Settings
from ferryman.registry import Registry


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty store folder; the working folder and FERRYMAN_* point at it, nothing else."""
    for name in list(os.environ):
        if name.startswith("FERRYMAN_"):
            monkeypatch.delenv(name)
    store = tmp_path / "store"
    monkeypatch.setenv("FERRYMAN_HOME", str(store))
    monkeypatch.setenv("FERRYMAN_ACTOR", "tester")
    monkeypatch.chdir(tmp_path)
    return store


@pytest.fixture
def settings(home: Path) -> Settings:
    return Settings.load(home=home, actor="tester", record_git=False)


@pytest.fixture
def registry(settings: Settings) -> Iterator[Registry]:
    reg = Registry(settings)
    yield reg
    reg.close()


@pytest.fixture(scope="session")
def cancer_frame() -> pd.DataFrame:
    """scikit-learn's bundled breast-cancer data: 569 rows, 30 float features, ``target``."""
    return load_breast_cancer(as_frame=True).frame


@pytest.fixture(scope="session")
def cancer_model(cancer_frame: pd.DataFrame) -> Pipeline:
    features = cancer_frame.drop(columns="target")
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    return model.fit(features, cancer_frame["target"])
