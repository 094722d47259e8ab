"""The model registry: the service over the store that every interface calls."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ferryman.registry.cache import PredictorCache
from ferryman.registry.service import Registry, parse_metric_filter

if TYPE_CHECKING:
    from ferryman.registry.loading import LoadedModel

__all__ = ["LoadedModel", "PredictorCache", "Registry", "parse_metric_filter"]

if not TYPE_CHECKING:  # type checkers see the import above

    def __getattr__(name: str) -> Any:
        if name == "LoadedModel":  # it needs pandas; metadata commands start without it
            return importlib.import_module("ferryman.registry.loading").LoadedModel
        raise AttributeError(f"module 'ferryman.registry' has no attribute {name!r}")
