"""Fixtures the integration tests share."""

from __future__ import annotations

import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from ferryman.registry import Registry


@pytest.fixture
def cancer_registry(
    registry: Registry, cancer_model: Pipeline, cancer_frame: pd.DataFrame
) -> Registry:
    """Model ``cancer`` version 1, registered with its training data and target."""
    registry.register(cancer_model, "cancer", train_data=cancer_frame, target="target")
    return registry
