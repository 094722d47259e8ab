"""Class labels as flavors hand them out: plain Python values, and the most probable one."""

from __future__ import annotations

from typing import Any

import numpy as np


def label_from_proba(proba: np.ndarray, classes: tuple[Any, ...]) -> np.ndarray:
    """The most probable class label of each row."""
    return np.asarray(classes, dtype=object)[np.argmax(proba, axis=1)]


def plain_classes(values: Any) -> tuple[Any, ...]:
    """Class labels as plain Python values (JSON-friendly)."""
    return tuple(v.item() if isinstance(v, np.generic) else v for v in np.asarray(values).tolist())
