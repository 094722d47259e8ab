"""A window of the log and what the monitor found in it: drift and live KPIs of one version.

These are the monitor's results as objects; they become dicts only at the edges (an HTTP body,
the stored JSON of the monitor-results table, ``--json``) through their ``to_dict``, whose
shape the stored results and the command-line output keep.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ferryman.core.durations import parse_duration

if TYPE_CHECKING:  # types only: a window loads no SciPy or DuckDB
    from ferryman.monitoring.drift.detector import DriftReport, FeatureDrift
    from ferryman.monitoring.kpi.performance import PerformanceReport, VersionPerformance


@dataclass(frozen=True, slots=True)
class Window:
    """The span ``[start, end)`` of the log a result covers; ``label`` as the user wrote it."""

    start: datetime
    end: datetime
    label: str

    @classmethod
    def last(cls, text: str, end: datetime | None = None) -> Window:
        """The ``text`` (e.g. ``24h``) up to ``end`` (default now)."""
        seconds = parse_duration(text, "window")
        stop = (end or datetime.now(UTC)).astimezone(UTC)
        return cls(stop - timedelta(seconds=seconds), stop, text)

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "label": self.label}


@dataclass(frozen=True, slots=True)
class WindowDrift:
    """The drift of one version's features and outputs over a window, against training.

    ``features`` is None when nothing was compared (``reason`` says why); ``outputs`` is the
    drift of the model's prediction and score, None when skipped (``outputs_reason``).
    """

    model: str
    version: int
    window: Window
    sources: list[str]
    live_rows: int
    features: DriftReport | None = None
    outputs: DriftReport | None = None
    reason: str | None = None
    outputs_reason: str | None = None

    @property
    def share(self) -> float | None:
        """The share of tested features that drifted; None when nothing was compared."""
        return self.features.share if self.features is not None else None

    @property
    def tested(self) -> list[FeatureDrift]:
        """Every tested feature's drift (the outputs' are in ``outputs``)."""
        return self.features.features if self.features is not None else []

    @property
    def drifted(self) -> list[str]:
        """Names of the drifted features."""
        return self.features.drifted if self.features is not None else []

    def to_dict(self) -> dict[str, Any]:
        head = _head(self.model, self.version, self.window, self.sources)
        head["live_rows"] = self.live_rows
        if self.features is None:
            return {**head, "features": [], "share": None, "reason": self.reason}
        outputs: dict[str, Any]
        if self.outputs is not None:
            outputs = {**self.outputs.to_dict(), "reason": None}
        else:
            outputs = {"features": [], "skipped": {}, "share": None, "reason": self.outputs_reason}
        return {**head, **self.features.to_dict(), "prediction": outputs}


@dataclass(frozen=True, slots=True)
class VersionKpis:
    """One version's live KPIs over the window (or one bucket of it), beside what it scored
    at registration: ``registered`` holds those scores, ``change`` live minus registered."""

    live: VersionPerformance
    metrics: dict[str, Any]
    registered: dict[str, float]
    change: dict[str, float]

    @classmethod
    def of(cls, live: VersionPerformance, baseline: dict[str, float]) -> VersionKpis:
        """``live`` next to ``baseline`` (the version's metrics recorded at registration)."""
        metrics: dict[str, Any] = dict(live.metrics)
        if live.value_mean is not None:
            metrics["business_value"] = live.value_mean
        scored = {k: baseline.get(k) for k in metrics}
        change = {
            k: metrics[k] - b
            for k, b in scored.items()
            if isinstance(b, int | float) and isinstance(metrics[k], int | float)
        }
        registered = {k: v for k, v in scored.items() if v is not None}
        return cls(live, metrics, registered, change)

    @property
    def version(self) -> int:
        return self.live.version

    @property
    def is_whole_window(self) -> bool:
        """True for the whole window, False for one time bucket of it."""
        return self.live.bucket_start is None

    def to_dict(self) -> dict[str, Any]:
        row = self.live
        bucket = row.bucket_start
        return {
            "version": row.version,
            "bucket_start": bucket.isoformat() if bucket is not None else None,
            "predictions": row.predictions,
            "labelled": row.labelled,
            "values": row.values,
            "coverage": row.coverage,
            "metrics": dict(self.metrics),
            "intervals": {k: list(v) for k, v in row.intervals.items()},
            "registered": dict(self.registered),
            "change": dict(self.change),
            "reasons": dict(row.reasons),
        }


@dataclass(frozen=True, slots=True)
class WindowPerformance:
    """Live KPIs of a model per version (and per time bucket) over a window; ``report`` is
    None when the model has no KPIs to compute (``reason`` says why)."""

    model: str
    version: int
    window: Window
    sources: list[str]
    report: PerformanceReport | None = None
    versions: list[VersionKpis] = field(default_factory=list)
    reason: str | None = None

    def current(self) -> VersionKpis | None:
        """The whole window's KPIs of the monitored version; None when it has none."""
        for row in self.versions:
            if row.version == self.version and row.is_whole_window:
                return row
        return None

    def to_dict(self) -> dict[str, Any]:
        head = _head(self.model, self.version, self.window, self.sources)
        report = self.report
        if report is None:
            return {**head, "versions": [], "reason": self.reason}
        return {
            **head,
            "task": report.task,
            "bucket": report.bucket,
            "positive_class": report.positive_class,
            "average": report.average,
            "reason": report.reason,
            "versions": [row.to_dict() for row in self.versions],
        }


def _head(model: str, version: int, window: Window, sources: list[str]) -> dict[str, Any]:
    """What a result's dict starts with: whose it is, over which window, from which sources."""
    return {"model": model, "version": version, "window": window.to_dict(), "sources": sources}
