"""The model registry: the service over the store that every interface calls."""

from ferryman.registry.loading import LoadedModel, PredictorCache
from ferryman.registry.service import Registry, parse_metric_filter

__all__ = ["LoadedModel", "PredictorCache", "Registry", "parse_metric_filter"]
