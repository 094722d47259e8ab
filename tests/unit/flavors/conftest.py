"""Data sets shared by the flavor tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from flavor_support import frame_of
from sklearn.datasets import make_classification


@pytest.fixture(scope="module")
def binary() -> tuple[pd.DataFrame, np.ndarray]:
    X, y = make_classification(200, 5, random_state=0)
    return frame_of(X), y


@pytest.fixture(scope="module")
def three_class() -> tuple[pd.DataFrame, np.ndarray]:
    X, y = make_classification(200, 5, n_informative=3, n_classes=3, random_state=0)
    return frame_of(X), y


@pytest.fixture(scope="module")
def mixed() -> tuple[pd.DataFrame, np.ndarray]:
    """Four number columns and a text one (``colour``)."""
    X, y = make_classification(200, 4, random_state=1)
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    frame.insert(2, "colour", np.random.default_rng(1).choice(["red", "green", "blue"], 200))
    return frame, y
