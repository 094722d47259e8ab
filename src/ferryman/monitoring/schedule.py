"""Monitoring inside the server: the prediction log serving feeds, and the schedule that
computes drift, quality, KPIs and alerts every few minutes and exports them at /metrics.

With several workers every worker logs its own predictions, but only the one that holds the
schedule lock (a file beside the store) runs the schedule, so results and alerts are computed
once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from filelock import FileLock, Timeout

from ferryman import monitoring
from ferryman.config import Settings
from ferryman.core.predictions import NullSink, PredictionSink
from ferryman.monitoring.log.writer import PredictionLog
from ferryman.monitoring.storage import MonitorStore, open_monitor_store
from ferryman.monitoring.webhooks import WebhookNotifier
from ferryman.registry import Registry

if TYPE_CHECKING:
    from ferryman.monitoring.monitor import Health, Monitor, RunOutcome

log = logging.getLogger("ferryman.monitoring")
CLOSE_TIMEOUT = 30.0


class Gauge(Protocol):
    """A labelled gauge (prometheus_client's ``Gauge``)."""

    def labels(self, *values: str) -> Gauge: ...

    def set(self, value: float) -> None: ...


class ScheduleMetrics(Protocol):
    """What the schedule reads (each model's requests and failures, ``tally``) and sets of
    the server's metrics (``http/metrics.py``)."""

    @property
    def tally(self) -> Mapping[str, Sequence[int]]: ...

    @property
    def log_records(self) -> Gauge: ...

    @property
    def feedback_unknown_not_stored(self) -> Gauge: ...

    @property
    def drift_share(self) -> Gauge: ...

    @property
    def feature_psi(self) -> Gauge: ...

    @property
    def feature_drifted(self) -> Gauge: ...

    @property
    def kpi(self) -> Gauge: ...

    @property
    def alert_firing(self) -> Gauge: ...


class ServingAlias(Protocol):
    @property
    def alias(self) -> str: ...


class ServedModels(Protocol):
    """What the schedule reads of the server's model pool (``serving/pool.py``): the models
    answering now, and the alias they are served by."""

    @property
    def names(self) -> list[str]: ...

    @property
    def settings(self) -> ServingAlias: ...


# the prediction log's counters the server shows (/metrics, GET /models/{name}/monitoring)
LOG_OUTCOMES = ("logged", "written", "dropped", "sampled_out", "write_errors", "replayed")


class Watch:
    """The server's monitoring: a sink for serving, a schedule, and its gauges."""

    def __init__(self, registry: Registry, metrics: ScheduleMetrics) -> None:
        self.settings: Settings = registry.settings
        self.config = self.settings.monitoring
        self.metrics = metrics
        self.registry = registry
        self.log: PredictionLog | None = None
        self.notifier: WebhookNotifier | None = None
        self._monitor: Monitor | None = None
        self._monitor_lock = threading.Lock()
        self._lock: FileLock | None = None
        self._task: asyncio.Task[None] | None = None
        self._seen: dict[str, tuple[int, int]] = {}
        self._dropped_seen = 0
        self._store: MonitorStore | None = None
        if self.config.enabled:
            self.log = PredictionLog.from_settings(self.settings)
            self._store = open_monitor_store(registry)
            self.notifier = WebhookNotifier.from_settings(self.config, self._store)

    @property
    def enabled(self) -> bool:
        return self.log is not None

    @property
    def monitor(self) -> Monitor:
        """The monitor, built on first use: the statistics stack (SciPy, DuckDB) and its
        memory are paid for by the first scheduled pass or monitoring request, not by every
        server start."""
        with self._monitor_lock:
            if self._monitor is None:
                self._monitor = monitoring.Monitor(self.registry, self.notifier, store=self._store)
            return self._monitor

    @property
    def sink(self) -> PredictionSink:
        return self.log if self.log is not None else NullSink()

    # --- life cycle -----------------------------------------------------------------------------
    def start(self, pool: ServedModels) -> None:
        """Start the schedule if monitoring is on, scheduled, and no other worker runs it."""
        if not self.enabled or self.config.schedule_seconds <= 0:
            return
        if self.log is not None and self.log.root_is_local:
            # the schedule's upkeep (here or in another worker) merges every writer's files
            self.log.merge_own_segments = False
        lock = FileLock(str(lock_path(self.settings)))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            log.info("another worker runs the monitoring schedule")
            return
        self._lock = lock
        self._task = asyncio.get_running_loop().create_task(self._schedule(pool))

    async def stop(self) -> None:
        """Stop the schedule, then drain the prediction log and the webhooks (SIGTERM path)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.log is not None:
            stats = await asyncio.to_thread(self.log.close, CLOSE_TIMEOUT)
            log.info(
                "prediction log closed: %d logged, %d written, %d dropped",
                stats.logged,
                stats.written,
                stats.dropped,
            )
        if self.notifier is not None:
            await asyncio.to_thread(self.notifier.close, 10.0)
        if self._monitor is not None:
            self._monitor.close()
        if self._lock is not None:
            self._lock.release()

    def export_log_stats(self) -> None:
        """Copy the prediction log's counters into /metrics (called at each scrape)."""
        if self.log is None:
            return
        stats = self.log.stats
        for outcome in LOG_OUTCOMES:
            self.metrics.log_records.labels(outcome).set(getattr(stats, outcome))
        if self._monitor is not None:  # no feedback has come in before the monitor exists
            left_out = self._monitor.feedback.unknown_not_stored
            for model, count in list(left_out.items()):
                self.metrics.feedback_unknown_not_stored.labels(model).set(count)

    # --- the schedule ---------------------------------------------------------------------------
    async def _schedule(self, pool: ServedModels) -> None:
        period = self.config.schedule_seconds
        while True:
            await asyncio.sleep(period)
            started = time.perf_counter()
            dropped = self._dropped_since_last_pass()
            for name in list(pool.names):
                try:
                    await asyncio.to_thread(self.run_once, name, pool.settings.alias, dropped)
                except Exception:  # the schedule outlives any one failure
                    log.exception("scheduled monitoring of %s failed", name)
            await asyncio.to_thread(self._upkeep)
            log.info("monitoring pass done in %.2fs", time.perf_counter() - started)

    def run_once(
        self, name: str, alias: str = "production", dropped: int | None = None
    ) -> RunOutcome | None:
        """One monitoring pass over ``name`` with the server's health figures; gauges set.
        ``dropped``: log records dropped since the last pass (the log is shared by every
        model, so each model's rule sees the same figure)."""
        if not self.enabled:
            return None
        window = monitoring.Window.last(self.config.window)
        outcome = self.monitor.run(name, window, self._health(name, dropped), alias=alias)
        self._export(outcome)
        return outcome

    def _health(self, name: str, dropped: int | None) -> Health:
        requests, failures = self.metrics.tally.get(name, [0, 0])
        before = self._seen.get(name, (0, 0))
        self._seen[name] = (requests, failures)
        answered = requests - before[0]
        rate = (failures - before[1]) / answered if answered > 0 else None
        return monitoring.Health(error_rate=rate, dropped_records=dropped)

    def _dropped_since_last_pass(self) -> int | None:
        if self.log is None:
            return None
        total = self.log.stats.dropped
        dropped, self._dropped_seen = total - self._dropped_seen, total
        return dropped

    def _export(self, outcome: RunOutcome) -> None:
        model, version = outcome.model, str(outcome.version)
        drift = outcome.drift
        share = drift.share if drift is not None else None
        if share is not None:
            self.metrics.drift_share.labels(model, version).set(share)
        for feature in drift.tested if drift is not None else []:
            name = feature.feature
            if math.isfinite(feature.psi):  # an unknown PSI leaves the gauge as it was
                self.metrics.feature_psi.labels(model, version, name).set(feature.psi)
            self.metrics.feature_drifted.labels(model, version, name).set(
                1 if feature.drifted else 0
            )
        for kpi, value in outcome.observation.kpis.items():
            self.metrics.kpi.labels(model, version, kpi).set(value)
        changes = outcome.alerts
        if changes is not None:
            for event in [*changes.fired, *changes.still_firing]:
                self.metrics.alert_firing.labels(model, event.rule).set(1)
            for event in changes.resolved:
                self.metrics.alert_firing.labels(model, event.rule).set(0)

    def _upkeep(self) -> None:
        """Merge small log files and delete what is past the retention."""
        if self.log is None:
            return
        try:
            self.log.compact()
        except Exception:  # upkeep failing must not stop monitoring
            log.exception("prediction-log compaction failed")
        try:
            self.log.prune(self.config.retention_days)
        except Exception:
            log.exception("prediction-log retention failed")


def lock_path(settings: Settings) -> Path:
    """The file whose lock the worker running the schedule holds."""
    return settings.home_path / "monitoring.lock"
