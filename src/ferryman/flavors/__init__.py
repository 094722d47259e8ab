"""Model formats: a small plug-in interface, with scikit-learn, XGBoost, LightGBM and ONNX."""

from ferryman.flavors.base import ArrayPredictor, Flavor, LoadContext, Predictor
from ferryman.flavors.catalog import FlavorCatalog, catalog, get_flavor, register_flavor
from ferryman.flavors.conformance import check_flavor
from ferryman.flavors.pickles import refuse_pickle

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
