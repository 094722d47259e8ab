"""Monitoring: prediction log, feedback, live KPIs, drift, data quality, alerts, root cause.

Names load on first use (PEP 562): serving a model or scoring a file needs the prediction log,
not the statistics stack (SciPy, DuckDB) or the report's matplotlib, and should not pay for
importing them.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "AlertBook": "ferryman.monitoring.alerts",
    "DriftDetector": "ferryman.monitoring.drift.detector",
    "DriftReport": "ferryman.monitoring.drift.detector",
    "FeatureDrift": "ferryman.monitoring.drift.detector",
    "FeedbackResult": "ferryman.monitoring.kpi.feedback",
    "FeedbackStore": "ferryman.monitoring.kpi.feedback",
    "Health": "ferryman.monitoring.monitor",
    "LogReader": "ferryman.monitoring.log.reader",
    "LogStats": "ferryman.monitoring.log.writer",
    "Monitor": "ferryman.monitoring.monitor",
    "MonitorResults": "ferryman.monitoring.results",
    "Observation": "ferryman.monitoring.alerts",
    "PerformanceReport": "ferryman.monitoring.kpi.performance",
    "PredictionLog": "ferryman.monitoring.log.writer",
    "QualityReport": "ferryman.monitoring.quality",
    "RootCause": "ferryman.monitoring.root_cause",
    "RunOutcome": "ferryman.monitoring.monitor",
    "WebhookNotifier": "ferryman.monitoring.webhooks",
    "VersionKpis": "ferryman.monitoring.window",
    "Window": "ferryman.monitoring.window",
    "WindowDrift": "ferryman.monitoring.window",
    "WindowPerformance": "ferryman.monitoring.window",
    "assess_quality": "ferryman.monitoring.quality",
    "compute_performance": "ferryman.monitoring.kpi.performance",
    "estimate_importance": "ferryman.monitoring.root_cause",
    "evaluate": "ferryman.monitoring.alerts",
    "rank_causes": "ferryman.monitoring.root_cause",
    "rules_for": "ferryman.monitoring.alerts",
}

__all__ = [
    "AlertBook",
    "DriftDetector",
    "DriftReport",
    "FeatureDrift",
    "FeedbackResult",
    "FeedbackStore",
    "Health",
    "LogReader",
    "LogStats",
    "Monitor",
    "MonitorResults",
    "Observation",
    "PerformanceReport",
    "PredictionLog",
    "QualityReport",
    "RootCause",
    "RunOutcome",
    "VersionKpis",
    "WebhookNotifier",
    "Window",
    "WindowDrift",
    "WindowPerformance",
    "assess_quality",
    "compute_performance",
    "estimate_importance",
    "evaluate",
    "rank_causes",
    "rules_for",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'ferryman.monitoring' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
