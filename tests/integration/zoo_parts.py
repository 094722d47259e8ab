"""A transformer of the data scientist's own, in a module the server can import (the model
zoo's custom-class setup): skops loads it only when trusted by name."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin


class Clipper(TransformerMixin, BaseEstimator):
    """Clips every column to the range of its 1st and 99th training percentiles."""

    def __init__(self, low: float = 1.0, high: float = 99.0) -> None:
        self.low = low
        self.high = high

    def fit(self, X: Any, y: Any = None) -> Clipper:
        values = np.asarray(X, dtype=np.float64)
        self.lower_ = np.percentile(values, self.low, axis=0)
        self.upper_ = np.percentile(values, self.high, axis=0)
        self.n_features_in_ = values.shape[1]
        return self

    def transform(self, X: Any) -> np.ndarray:
        return np.clip(np.asarray(X, dtype=np.float64), self.lower_, self.upper_)
