"""A registered breast-cancer model, and the data a scoring job reads."""

from __future__ import annotations

import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from ferryman.registry import LoadedModel, Registry


@pytest.fixture
def model(registry: Registry, cancer_frame: pd.DataFrame, cancer_model: Pipeline) -> LoadedModel:
    registry.register(cancer_model, "cancer", train_data=cancer_frame, target="target")
    return registry.load("cancer/1")


@pytest.fixture
def features(cancer_frame: pd.DataFrame) -> pd.DataFrame:
    return cancer_frame.drop(columns="target")


@pytest.fixture
def with_ids(cancer_frame: pd.DataFrame) -> pd.DataFrame:
    """The training data as scored in practice: an id column first, the target still there."""
    ids = pd.Series([f"c{i:04d}" for i in range(len(cancer_frame))], name="customer")
    return pd.concat([ids, cancer_frame], axis=1)
