"""Model formats: a small plug-in interface, with scikit-learn, XGBoost, LightGBM and ONNX.

``check_flavor`` (which needs pandas) loads on first use, so the registry's metadata commands
(``ferryman models list``) start without pandas.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ferryman.flavors.base import ArrayPredictor, Flavor, LoadContext, Predictor
from ferryman.flavors.catalog import FlavorCatalog, catalog, get_flavor, register_flavor
from ferryman.flavors.pickles import refuse_pickle

if TYPE_CHECKING:
    from ferryman.flavors.conformance import check_flavor

__all__ = [
    "ArrayPredictor",
    "Flavor",
    "FlavorCatalog",
    "LoadContext",
    "Predictor",
    "catalog",
    "check_flavor",
    "get_flavor",
    "refuse_pickle",
    "register_flavor",
]

if not TYPE_CHECKING:  # type checkers see the import above

    def __getattr__(name: str) -> Any:
        if name == "check_flavor":
            return importlib.import_module("ferryman.flavors.conformance").check_flavor
        raise AttributeError(f"module 'ferryman.flavors' has no attribute {name!r}")
