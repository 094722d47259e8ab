"""Drift: a live window compared with the training reference, feature by feature.

``detector`` holds what others use (``DriftDetector``, ``DriftReport``, ``FeatureDrift``);
``features``, ``reference`` and ``stats`` are its own: the per-feature measures, the reference
sample's bins and categories, and the statistical tests.
"""

__all__ = ["detector"]
