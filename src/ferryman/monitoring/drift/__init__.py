"""Drift: a live window compared with the training reference, feature by feature.

``detector`` holds what others use (``DriftDetector``, ``DriftReport``, ``FeatureDrift``);
``features``, ``reference`` and ``stats`` are its own: the per-feature measures, the reference
sample's bins and categories, and the statistical tests.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["DriftDetector", "DriftReport", "FeatureDrift", "detector"]
_PUBLIC = frozenset({"DriftDetector", "DriftReport", "FeatureDrift"})


def __getattr__(name: str) -> Any:
    """``from ferryman.monitoring.drift import DriftDetector`` (the path these had before the
    subpackage) keeps working; loaded on first use, as the rest of monitoring is."""
    if name in _PUBLIC:
        return getattr(importlib.import_module("ferryman.monitoring.drift.detector"), name)
    if name == "detector":
        return importlib.import_module("ferryman.monitoring.drift.detector")
    raise AttributeError(f"module 'ferryman.monitoring.drift' has no attribute {name!r}")
