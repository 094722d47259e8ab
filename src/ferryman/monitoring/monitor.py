"""The monitor: drift, data quality, performance and root cause of a model over a window of
its prediction log, stored as time series and checked against the alert rules.

The server runs :meth:`Monitor.run` on its schedule; ``ferryman monitor ...`` calls the same
methods on demand.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from ferryman.config import DriftThresholds, Settings
from ferryman.core.records import ModelVersion
from ferryman.core.sources import describe_sources, parse_sources
from ferryman.errors import FerrymanError
from ferryman.monitoring.alerts import (
    AlertBook,
    AlertChanges,
    AlertNotifier,
    Observation,
    feature_signals,
    rules_for,
)
from ferryman.monitoring.drift.detector import DriftDetector, compare_together
from ferryman.monitoring.kpi.feedback import FeedbackResult, FeedbackStore
from ferryman.monitoring.kpi.performance import compute_performance
from ferryman.monitoring.log.reader import LogReader, source_filter
from ferryman.monitoring.log.scheme import score_values
from ferryman.monitoring.quality import QualityReport, assess_quality
from ferryman.monitoring.results import MonitorResults
from ferryman.monitoring.root_cause import (
    Importance,
    RootCause,
    estimate_importance,
    kpi_dropped,
    rank_causes,
)
from ferryman.monitoring.storage import MonitorStore, open_monitor_store
from ferryman.monitoring.window import VersionKpis, Window, WindowDrift, WindowPerformance
from ferryman.registry import LoadedModel, Registry

log = logging.getLogger("ferryman.monitoring")
REFERENCE_CACHE = 8
OUTPUT_COLUMNS = ("prediction", "score")
T = TypeVar("T")

__all__ = ["Health", "Monitor", "RunOutcome", "Window"]


@dataclass
class Health:
    """Serving figures for one model over the window, from the server (None when unknown)."""

    error_rate: float | None = None
    dropped_records: int | None = None


@dataclass
class RunResults:
    """The results of one monitoring pass over a model, as they are stored; a result is None
    when its check failed."""

    model: str
    version: int
    window: Window
    drift: WindowDrift | None
    quality: QualityReport | None
    performance: WindowPerformance | None
    root_cause: RootCause | None


@dataclass
class RunOutcome(RunResults):
    """One monitoring pass over a model: every result, what the alert rules saw and what
    changed in the alerts. A result is None when its check failed (``errors`` says how)."""

    observation: Observation
    alerts: AlertChanges | None = None
    errors: list[str] = field(default_factory=list)


class _Reference:
    """What comparisons against one version reuse: its training sample, fitted detectors and
    importances; ``outputs_reason`` says why there is no output detector."""

    def __init__(
        self,
        sample: pd.DataFrame,
        features: DriftDetector,
        outputs: DriftDetector | str,
    ) -> None:
        self.sample = sample
        self.features = features
        self.outputs = outputs if isinstance(outputs, DriftDetector) else None
        self.outputs_reason = outputs if isinstance(outputs, str) else None
        self.importance: Importance | None = None


class Monitor:
    """Monitoring of a registry's models over their prediction log.

    Parameters
    ----------
    registry
        Where the versions, their profiles and reference samples, and the stored results are.
    notifier
        Told about alerts that fire or resolve (e.g. a WebhookNotifier).
    sources
        The prediction-log sources every result looks at: ``live`` (the server's answers),
        ``score`` (rows written by ``ferryman score``) or ``all``; several as a list or
        separated by commas. Default: the ``monitoring.sources`` setting (``live``).
    store
        Where results and alert events are kept. Default: monitoring's store in the
        registry's database (``open_monitor_store(registry)``).
    """

    def __init__(
        self,
        registry: Registry,
        notifier: AlertNotifier | None = None,
        *,
        sources: str | Iterable[str] | None = None,
        store: MonitorStore | None = None,
    ) -> None:
        self.registry = registry
        self.settings: Settings = registry.settings
        chosen = self.settings.monitoring.sources if sources is None else sources
        self.sources: frozenset[str] = parse_sources(chosen)
        self.reader = LogReader.from_settings(self.settings)
        self.feedback = FeedbackStore.from_settings(self.settings, self.reader)
        store = open_monitor_store(registry) if store is None else store
        self.results = MonitorResults(store)
        self.alerts = AlertBook(store, notifier)
        self._references: dict[tuple[str, int], _Reference] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        self.reader.close()

    # --- what to monitor ----------------------------------------------------------------------
    def version(self, ref: str) -> ModelVersion:
        """The version ``ref`` names (``name`` is its production alias)."""
        return self.registry.resolve(ref)

    def thresholds(self, model: str) -> DriftThresholds:
        """Global drift thresholds with the model's own table set over them, field by field."""
        base = self.settings.monitoring.drift
        own = self.settings.monitoring.models.get(model)
        if own is None or own.drift is None:
            return base
        return base.model_copy(update=own.drift.model_dump(exclude_unset=True))

    # --- ground truth ---------------------------------------------------------------------------
    def add_feedback(self, model: str, items: Sequence[Mapping[str, Any]]) -> FeedbackResult:
        """Store labels or business values for logged predictions of ``model`` (checked the
        way its production version answers: classes for a classifier, numbers otherwise)."""
        task, classes = self._feedback_task(model)
        return self.feedback.add(model, items, task=task, classes=classes)

    def add_feedback_file(self, model: str, path: str | Path) -> FeedbackResult:
        """Feedback from a CSV or Parquet file (request_id, label and/or value, row)."""
        task, classes = self._feedback_task(model)
        return self.feedback.add_file(model, path, task=task, classes=classes)

    def _feedback_task(self, model: str) -> tuple[str, tuple[Any, ...] | None]:
        """How labels of ``model`` are checked: its production (else latest) version's task
        and classes."""
        info = self.registry.get_model(model)
        for number in (info.aliases.get("production"), info.latest_version):
            if number is not None:
                version = self.registry.resolve(f"{model}/{number}")
                task = _task(version) or "classification"
                return task, version.output.classes if task == "classification" else None
        return "classification", None

    # --- results --------------------------------------------------------------------------------
    def drift(self, ref: str, window: Window) -> WindowDrift:
        """Drift of each feature and of the model's outputs in ``window`` against training."""
        version = self.version(ref)
        return self._drift(version, window, self._window_rows(version, window))

    def quality(self, ref: str, window: Window) -> QualityReport:
        """Nulls, out-of-range values, unseen categories and refused requests per feature."""
        version = self.version(ref)
        return self._quality(version, window, self._window_rows(version, window))

    def performance(
        self, ref: str, window: Window, bucket: float | None = None
    ) -> WindowPerformance:
        """Live KPIs per version (and per time bucket) from predictions joined with feedback,
        next to each version's metrics recorded at registration."""
        version = self.version(ref)
        return self._performance(version, window, bucket)

    def explain(self, ref: str, window: Window) -> tuple[RootCause, WindowDrift]:
        """The features most responsible for drift or a KPI drop, with the drift behind them."""
        version = self.version(ref)
        drift = self.drift(ref, window)
        if not drift.live_rows:
            summary = f"{self._no_rows()} in this window (last {window.label})"
            return RootCause(version.model, "none", [], summary), drift
        return self._explain(version, drift), drift

    def run(
        self,
        model: str,
        window: Window,
        health: Health | None = None,
        alias: str = "production",
        check_alerts: bool = True,
    ) -> RunOutcome:
        """Every result for the version under ``alias``, stored, then the alert rules.

        A check that fails is logged and named in the outcome's ``errors``; the others go on.
        """
        version = self.version(f"{model}@{alias}")
        live = self._window_rows(version, window)
        errors: list[str] = []
        drift = _checked(errors, "drift", lambda: self._drift(version, window, live))
        quality = _checked(errors, "quality", lambda: self._quality(version, window, live))
        performance = _checked(errors, "performance", lambda: self._performance(version, window))
        cause = None
        if _calls_for_a_cause(drift, performance):
            cause = _checked(errors, "root cause", lambda: self._explain(version, drift))
        self._save(  # stored first: the results are kept even if the alert rules cannot run
            RunResults(model, version.version, window, drift, quality, performance, cause)
        )
        outcome = RunOutcome(
            model, version.version, window, drift, quality, performance, cause,
            self._observation(version, window, drift, performance, health, live), errors=errors,
        )  # fmt: skip
        if check_alerts:
            rules = rules_for(self.settings.monitoring, model)
            outcome.alerts = self.alerts.check(rules, outcome.observation, window.end)
        return outcome

    # --- the work -------------------------------------------------------------------------------
    def _window_rows(self, version: ModelVersion, window: Window) -> pd.DataFrame:
        """The version's logged rows in the window, from the monitored sources."""
        start, end = window.start, window.end
        return self.reader.read_window(
            version.model, start, end, version.version, sources=self.sources
        )

    def _drift(self, version: ModelVersion, window: Window, live: pd.DataFrame) -> WindowDrift:
        sources = describe_sources(self.sources)
        head = WindowDrift(version.model, version.version, window, sources, len(live))
        reference = self._reference(version)
        if reference is None:
            missing = (
                f"version {version.ref} has no training data profile or reference "
                "sample; register it with its training data to get drift"
            )
            return dataclasses.replace(head, reason=missing)
        if live.empty:
            return dataclasses.replace(head, reason=self._no_rows())
        inputs = [c for c in _features(version) if c in live.columns]  # not the log's own
        parts = [(reference.features, live[inputs])]
        present = [c for c in OUTPUT_COLUMNS if c in live.columns]
        reason = reference.outputs_reason
        if reference.outputs is not None and not present:
            reason = "the logged rows have no prediction or score column"
        if reference.outputs is not None and present:
            parts.append((reference.outputs, live[present]))
        # features and outputs are one family: one correction over every test of the pass
        reports = compare_together(parts)
        outputs = reports[1] if len(reports) > 1 else None
        return dataclasses.replace(
            head, features=reports[0], outputs=outputs, outputs_reason=None if outputs else reason
        )

    def _no_rows(self) -> str:
        shown = describe_sources(self.sources)
        if shown == ["all"]:
            return "no logged predictions"
        return f"no logged predictions from the {' and '.join(shown)} sources"

    def _quality(self, version: ModelVersion, window: Window, live: pd.DataFrame) -> QualityReport:
        refused, requests = self._rejections(version, window)
        profile = self.registry.profile(version.ref)
        return assess_quality(version.model, live, profile, _features(version), refused, requests)

    def _rejections(self, version: ModelVersion, window: Window) -> tuple[pd.DataFrame, int]:
        """Problems per column and kind in the window, and how many requests they came from."""
        start, end = window.start, window.end
        summary = self.reader.rejections(version.model, start, end, self.sources)
        if summary.empty:
            return summary, 0
        counted = self.reader.query(
            lambda files: (
                f"SELECT count(DISTINCT request_id) AS n FROM {self.reader.source_sql(files)} "  # noqa: S608
                f"WHERE ts >= ? AND ts < ? AND {source_filter(self.sources)}"
            ),
            lambda: self.reader.rejection_files(version.model, start, end),
            [start, end],
        )
        return summary, int(counted["n"].iloc[0]) if not counted.empty else 0

    def _performance(
        self, version: ModelVersion, window: Window, bucket: float | None = None
    ) -> WindowPerformance:
        task = _task(version)
        sources = describe_sources(self.sources)
        head = WindowPerformance(version.model, version.version, window, sources)
        if task is None:
            return dataclasses.replace(head, reason="the model is neither classifier nor regressor")
        report = compute_performance(
            self.reader,
            self.feedback,
            version.model,
            window.start,
            window.end,
            task,
            bucket,
            classes=version.output.classes,
            sources=self.sources,
        )
        baselines = self._baselines(version.model)
        rows = [VersionKpis.of(row, baselines.get(row.version, {})) for row in report.rows]
        return dataclasses.replace(head, report=report, versions=rows)

    def _baselines(self, model: str) -> dict[int, dict[str, float]]:
        out: dict[int, dict[str, float]] = {}
        for item in self.registry.list_versions(model):
            out[item.version] = dict(item.metrics)
        return out

    def _explain(self, version: ModelVersion, drift: WindowDrift | None) -> RootCause:
        reference = self._reference(version)
        records = drift.tested if drift is not None else []
        columns = [r.feature for r in records]
        if reference is None or not columns:
            return rank_causes(version.model, records, Importance({}, "none"))
        if reference.importance is None:
            reference.importance = self._importance(version, columns, reference.sample)
        return rank_causes(version.model, records, reference.importance)

    def _importance(
        self, version: ModelVersion, columns: list[str], sample: pd.DataFrame
    ) -> Importance:
        loaded = self.registry.load(version.ref, self.settings.trusted_types)
        names = _features(version)
        frame = sample[[c for c in names if c in sample.columns]]

        def answers(data: pd.DataFrame) -> np.ndarray:
            return _answers(loaded, data)

        importance = estimate_importance(loaded.native, answers, frame, list(frame.columns))
        return Importance({c: importance.shares.get(c, 0.0) for c in columns}, importance.method)

    def _reference(self, version: ModelVersion) -> _Reference | None:
        key = (version.model, version.version)
        with self._lock:
            cached = self._references.get(key)
        if cached is not None:
            return cached
        profile = self.registry.profile(version.ref)
        sample = self.registry.reference_sample(version.ref)
        if sample is None or sample.empty:
            return None
        names = [c for c in _features(version) if c in sample.columns]
        own = self.settings.monitoring.models.get(version.model)
        features = DriftDetector(self.thresholds(version.model), own.features if own else None)
        if profile is not None:  # the target and other non-inputs are not drift subjects
            kept = {n: c for n, c in profile.columns.items() if n in names}
            profile = dataclasses.replace(profile, columns=kept)
        features.fit(sample[names], profile)
        outputs = self._output_detector(version, names)
        reference = _Reference(sample, features, outputs)
        with self._lock:
            if len(self._references) >= REFERENCE_CACHE:
                self._references.pop(next(iter(self._references)))
            self._references[key] = reference
        return reference

    def _output_detector(self, version: ModelVersion, names: list[str]) -> DriftDetector | str:
        """Prediction drift's detector, fitted on the model's answers on its held-out sample,
        or the reason there is none.

        Answers on the training sample are no reference: a model fits its own training rows
        better than new ones (a forest scores them near 0 and 1), so live answers would look
        drifted in every window. Without held-out rows, prediction drift is skipped.
        """
        held_out = self.registry.validation_sample(version.ref)
        if held_out is None or held_out.empty:
            return (
                f"version {version.ref} was registered without held-out data, and the model's "
                "answers on its own training rows are not a fair reference; register it with "
                "validation_data= (CLI: --validation-data FILE) to get prediction drift"
            )
        try:
            loaded = self.registry.load(version.ref, self.settings.trusted_types)
            outputs = _reference_outputs(loaded, held_out[[n for n in names if n in held_out]])
        except FerrymanError as exc:
            log.warning("no prediction drift for %s: %s", version.ref, exc)
            return f"the model could not answer its held-out sample: {exc}"
        kinds = {"prediction": "categorical" if loaded.is_classifier else "numeric"}
        if "score" in outputs:
            kinds["score"] = "numeric"
        detector = DriftDetector(self.thresholds(version.model))
        return detector.fit(outputs, None, kinds)

    def _save(self, outcome: RunResults) -> None:
        """Store the pass's results (a failed check's as an empty payload)."""
        model, window = outcome.model, outcome.window
        common: dict[str, Any] = {
            "window_start": window.start,
            "window_end": window.end,
            "version": outcome.version,
        }
        drift, quality, performance = outcome.drift, outcome.quality, outcome.performance
        psi = {f.feature: f.psi for f in drift.tested} if drift is not None else {}
        self.results.save(
            model,
            "drift",
            _payload(drift),
            summary={
                "share": drift.share if drift is not None else None,
                "psi": psi,
                "rows": drift.live_rows if drift is not None else None,
            },
            **common,
        )
        self.results.save(
            model,
            "quality",
            _payload(quality),
            summary={
                "rejected": quality.rejected_requests if quality is not None else None,
                "rows": quality.rows if quality is not None else None,
            },
            **common,
        )
        current = performance.current() if performance is not None else None
        self.results.save(
            model,
            "performance",
            _payload(performance),
            summary={"metrics": dict(current.metrics) if current is not None else {}},
            **common,
        )
        if outcome.root_cause is not None:
            self.results.save(model, "root_cause", outcome.root_cause.to_dict(), **common)

    def _observation(
        self,
        version: ModelVersion,
        window: Window,
        drift: WindowDrift | None,
        performance: WindowPerformance | None,
        health: Health | None,
        live: pd.DataFrame,
    ) -> Observation:
        tested = drift is not None and drift.features is not None and bool(drift.tested)
        latency = None
        if "latency_ms" in live.columns and len(live):
            served = live["latency_ms"].to_numpy(dtype=float)
            served = served[served > 0]
            latency = float(np.percentile(served, 99)) if len(served) else None
        current = performance.current() if performance is not None else None
        kpis = {}
        if current is not None:
            kpis = {k: float(v) for k, v in current.metrics.items() if _number(v)}
        return Observation(
            model=version.model,
            window_start=window.start,
            window_end=window.end,
            version=version.version,
            drift_share=drift.share if tested and drift is not None else None,
            features=feature_signals(drift.features) if drift and drift.features else {},
            live_rows=len(live),
            kpis=kpis,
            kpi_intervals=dict(current.live.intervals) if current is not None else {},
            labelled=current.live.labelled if current is not None else None,
            valued=current.live.values if current is not None else None,
            error_rate=health.error_rate if health else None,
            latency_p99_ms=latency,
            dropped_records=health.dropped_records if health else None,
            evidence={"live_rows": len(live), "window": window.label},
        )


def _checked(errors: list[str], what: str, work: Callable[[], T]) -> T | None:
    """Run one check of a pass; a failure is logged and named in ``errors``, and gives None."""
    try:
        return work()
    except Exception as exc:  # one broken check must not stop the others
        log.exception("monitoring %s failed", what)
        errors.append(f"{what}: {exc}")
        return None


def _calls_for_a_cause(drift: WindowDrift | None, performance: WindowPerformance | None) -> bool:
    """A root cause is looked for when a feature drifted or a live KPI clearly dropped."""
    if drift is not None and drift.features is not None and drift.features.drifted_count:
        return True
    return performance is not None and kpi_dropped(performance.versions)


def _payload(result: WindowDrift | QualityReport | WindowPerformance | None) -> dict[str, Any]:
    return result.to_dict() if result is not None else {}


def _features(version: ModelVersion) -> list[str]:
    signature = version.signature
    target = version.output.target
    names = list(signature.names) if signature is not None else []
    return [n for n in names if n != target]


def _task(version: ModelVersion) -> str | None:
    kind = version.output.kind
    if kind == "classifier":
        return "classification"
    if kind == "regressor":
        return "regression"
    return None


def _answers(loaded: LoadedModel, data: pd.DataFrame) -> np.ndarray:
    predictor = loaded.predictor
    if loaded.is_classifier:
        proba = predictor.predict_proba(data)
        if proba is not None:
            return np.asarray(proba)
    return np.asarray(predictor.predict(data))


def _reference_outputs(loaded: LoadedModel, sample: pd.DataFrame) -> pd.DataFrame:
    """``prediction`` (and ``score``, as the log defines it) of the model on ``sample``."""
    predictor = loaded.predictor
    classes = loaded.classes
    if classes is None:
        return pd.DataFrame({"prediction": np.asarray(predictor.predict(sample), dtype=float)})
    proba = predictor.predict_proba(sample)
    labels = np.asarray(predictor.predict(sample))
    out = pd.DataFrame({"prediction": labels})
    if proba is not None:
        out["score"] = score_values(labels, np.asarray(proba), classes)
    return out


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
