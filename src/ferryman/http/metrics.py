"""Prometheus metrics of the server, exposed at ``GET /metrics``.

With several workers each process writes its figures to files in ``PROMETHEUS_MULTIPROC_DIR``
(set by ``ferryman serve`` before the workers start) and ``/metrics`` adds them up, so any
worker answers for all of them.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client import multiprocess as prom_multiprocess

from ferryman.serving.pool import LoadFailure
from ferryman.serving.served import ServedVersion

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
LATENCY_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, 16384)
LOAD_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


disable_created_metrics()  # the *_created series only add noise to every scrape


class ServerMetrics:
    """The server's counters and histograms, in a registry of their own."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.multiprocess = bool(os.environ.get(MULTIPROC_ENV))
        # in multiprocess mode values live in files; the collector reads them at scrape time
        self.registry = CollectorRegistry(auto_describe=True)
        target = None if self.multiprocess else self.registry
        request_labels = ["model", "version", "endpoint", "status"]
        self.requests = Counter(
            "ferryman_requests",
            "Prediction requests answered, by model, version, endpoint and HTTP status.",
            request_labels,
            registry=target,
        )
        self.latency = Histogram(
            "ferryman_request_seconds",
            "Time from reading a prediction request to its answer.",
            request_labels,
            buckets=LATENCY_BUCKETS,
            registry=target,
        )
        self.errors = Counter(
            "ferryman_errors",
            "Prediction requests that failed, by kind (invalid_input, prediction_failed, ...).",
            ["model", "version", "endpoint", "kind"],
            registry=target,
        )
        self.rows = Counter(
            "ferryman_rows_predicted", "Rows predicted.", ["model", "version"], registry=target
        )
        self.batch_rows = Histogram(
            "ferryman_batch_rows",
            "Rows per call to the model (after micro-batching).",
            ["model", "version"],
            buckets=BATCH_BUCKETS,
            registry=target,
        )
        self.load_seconds = Histogram(
            "ferryman_model_load_seconds",
            "Time to load and warm a model version.",
            ["model", "version"],
            buckets=LOAD_BUCKETS,
            registry=target,
        )
        self.swaps = Counter(
            "ferryman_model_swaps", "Times a served alias moved to another version.", ["model"],
            registry=target,
        )  # fmt: skip
        self.serving = Gauge(
            "ferryman_serving_version",
            "The version answering for each served model.",
            ["model"],
            registry=target,
            multiprocess_mode="max",
        )
        self.model_ready = Gauge(
            "ferryman_model_ready",
            "1 while a version of the model answers, 0 while none could be loaded (503).",
            ["model"],
            registry=target,
            multiprocess_mode="min",
        )
        self.load_failures = Counter(
            "ferryman_model_load_failures",
            "Times a version could not be loaded (reason in the server log).",
            ["model", "version"],
            registry=target,
        )
        self.accepted_values = Counter(
            "ferryman_accepted_values",
            "Values that reached a model by its columns' tolerance: unknown categories and "
            "nulls where training had none, by model, column and kind.",
            ["model", "column", "kind"],
            registry=target,
        )
        self.auth_refusals = Counter(
            "ferryman_auth_refusals",
            "Requests refused by access control, by reason (no_token, invalid_token, "
            "forbidden, limited).",
            ["reason"],
            registry=target,
        )
        self._monitoring_metrics(target)
        # per model: requests answered and server-side failures, for the error-rate alert
        self.tally: dict[str, list[int]] = {}
        if self.multiprocess:
            prom_multiprocess.MultiProcessCollector(self.registry)

    def _monitoring_metrics(self, target: CollectorRegistry | None) -> None:
        self.log_records = Gauge(
            "ferryman_prediction_log_records",
            "Prediction-log records since start, by outcome (logged, dropped, sampled_out, "
            "written, write_errors).",
            ["outcome"],
            registry=target,
            multiprocess_mode="sum",
        )
        self.feedback_unknown_not_stored = Gauge(
            "ferryman_feedback_unknown_not_stored",
            "Feedback items naming unknown request ids not stored since start (past the "
            "hourly limit monitoring.feedback_unknown_limit), by model.",
            ["model"],
            registry=target,
            multiprocess_mode="sum",
        )
        self.drift_share = Gauge(
            "ferryman_drift_share",
            "Share of a version's features that drifted in the last monitoring window.",
            ["model", "version"],
            registry=target,
            multiprocess_mode="mostrecent",
        )
        self.feature_psi = Gauge(
            "ferryman_feature_psi",
            "Population Stability Index of each feature in the last monitoring window.",
            ["model", "version", "feature"],
            registry=target,
            multiprocess_mode="mostrecent",
        )
        self.feature_drifted = Gauge(
            "ferryman_feature_drifted",
            "1 when a feature drifted (significant and large) in the last window, else 0.",
            ["model", "version", "feature"],
            registry=target,
            multiprocess_mode="mostrecent",
        )
        self.kpi = Gauge(
            "ferryman_kpi",
            "Live performance of a version over the last window (accuracy, f1, rmse, ...).",
            ["model", "version", "kpi"],
            registry=target,
            multiprocess_mode="mostrecent",
        )
        self.alert_firing = Gauge(
            "ferryman_alert_firing",
            "1 while an alert rule fires for a model, 0 once resolved.",
            ["model", "rule"],
            registry=target,
            multiprocess_mode="mostrecent",
        )

    def observe(
        self,
        model: str,
        version: str,
        endpoint: str,
        status: int,
        seconds: float,
        rows: int,
        model_failed: bool = False,
    ) -> None:
        """Count an answer; a server error or a model failing on checked input (a 422 for
        the caller) counts toward the model's error rate."""
        code = str(status)
        counts = self.tally.get(model)
        if counts is None:
            counts = self.tally[model] = [0, 0]
        counts[0] += 1
        if status >= 500 or model_failed:
            counts[1] += 1
        self.requests.labels(model, version, endpoint, code).inc()
        self.latency.labels(model, version, endpoint, code).observe(seconds)
        if rows:
            self.rows.labels(model, version).inc(rows)

    def accepted(self, model: str, counts: Mapping[tuple[str, str], int]) -> None:
        for (column, kind), count in counts.items():
            self.accepted_values.labels(model, column, kind).inc(count)

    def refused(self, reason: str) -> None:
        """A request refused by access control (the reason, never the token)."""
        self.auth_refusals.labels(reason).inc()

    def error(self, model: str, version: str, endpoint: str, kind: str) -> None:
        self.errors.labels(model, version, endpoint, kind).inc()

    def batch(self, served: ServedVersion, rows: int) -> None:
        self.batch_rows.labels(served.name, str(served.number)).observe(rows)

    def loaded(self, served: ServedVersion) -> None:
        self.load_seconds.labels(served.name, str(served.number)).observe(served.load_seconds)

    def swapped(self, name: str, old: int | None, new: int) -> None:
        del old
        self.swaps.labels(name).inc()
        self.serves(name, new)

    def serves(self, name: str, number: int) -> None:
        """``name`` answers with version ``number``."""
        self.serving.labels(name).set(number)
        self.model_ready.labels(name).set(1)

    def failed(self, failure: LoadFailure) -> None:
        self.load_failures.labels(failure.name, str(failure.version)).inc()
        if failure.serving is None:
            self.model_ready.labels(failure.name).set(0)

    def dropped(self, name: str) -> None:
        """A model that was never loaded is no longer served: its readiness series goes."""
        with contextlib.suppress(KeyError):  # never set in this process
            self.model_ready.remove(name)

    def render(self) -> bytes:
        return generate_latest(self.registry)
