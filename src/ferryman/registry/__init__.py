"""The model registry: the service over the store that every interface calls."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ferryman.registry.cache import PredictorCache
from ferryman.registry.service import Registry, parse_metric_filter

if TYPE_CHECKING:
    from ferryman.registry.failures import failing_rows, first_line, is_model_failure, run_located
    from ferryman.registry.loading import LoadedModel

__all__ = [
    "LoadedModel",
    "PredictorCache",
    "Registry",
    "failing_rows",
    "first_line",
    "is_model_failure",
    "parse_metric_filter",
    "run_located",
]

# these need pandas; metadata commands start without it
_LAZY = {
    "LoadedModel": "ferryman.registry.loading",
    "failing_rows": "ferryman.registry.failures",
    "first_line": "ferryman.registry.failures",
    "is_model_failure": "ferryman.registry.failures",
    "run_located": "ferryman.registry.failures",
}

if not TYPE_CHECKING:  # type checkers see the imports above

    def __getattr__(name: str) -> Any:
        if name in _LAZY:
            return getattr(importlib.import_module(_LAZY[name]), name)
        raise AttributeError(f"module 'ferryman.registry' has no attribute {name!r}")
