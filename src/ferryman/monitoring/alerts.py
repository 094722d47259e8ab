"""Alert rules over monitoring observations, and the book of alert events they open and resolve.

One evaluation looks at one model over one window (an :class:`Observation`). Each rule compares
one metric with its threshold; a rule whose metric the observation does not carry (no labels
yet, so no KPIs; no drift run) neither fires nor clears: unknown is not the same as fine. A
condition that fires opens one event, which stays open (de-duplicated by its fingerprint)
while later evaluations find it again, and is resolved by the first evaluation of the same
rule that finds it clear. Only openings and resolutions are notified.

Rules that can fire by chance account for it. A drift rule counts a feature only when its
drift test is significant after the multiple-testing correction *and* its effect passes the
rule's gate, so on undrifted data the drift rules together fire in at most ``alpha`` of
passes (Holm bounds the chance that any feature is significant). A KPI rule is decided only
with ``min_labels`` labelled answers and fires only when the KPI's 95% interval lies entirely
beyond its threshold. See docs/alerts.md.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

from ferryman.config import DEFAULT_MIN_LABELS, AlertRule, MonitoringSettings
from ferryman.monitoring._json import iso_utc, json_safe
from ferryman.monitoring.storage import AlertEvent, MonitorStore, NewAlert

if TYPE_CHECKING:  # the drift stack (SciPy) is not needed to check alerts
    from ferryman.monitoring.drift.detector import DriftReport

__all__ = [
    "AlertBook",
    "AlertChanges",
    "AlertNotifier",
    "Change",
    "FeatureSignal",
    "Finding",
    "Observation",
    "evaluate",
    "evaluated_rules",
    "feature_signals",
    "fingerprint",
    "rules_for",
]

logger = logging.getLogger("ferryman.alerts")
Change = Literal["fired", "resolved"]
_LOG_LEVELS = {"info": logging.INFO, "warning": logging.WARNING, "critical": logging.ERROR}
_TOP_FEATURES = 10


@dataclass(frozen=True)
class FeatureSignal:
    """What one feature's drift test found: its PSI, whether the test is significant after the
    multiple-testing correction, and whether the drift report calls it drifted (significant
    and past its kind's effect threshold)."""

    psi: float | None
    significant: bool
    drifted: bool


def feature_signals(drift: DriftReport) -> dict[str, FeatureSignal]:
    """The signal of each tested feature of a drift report (a PSI that is not a finite number
    is unknown, and so is a p-value: never significant)."""
    alpha = float(drift.thresholds.get("alpha", 0.05))
    out: dict[str, FeatureSignal] = {}
    for record in drift.features:
        psi = record.psi
        out[record.feature] = FeatureSignal(
            psi=float(psi) if psi is not None and math.isfinite(psi) else None,
            significant=bool(record.p_adjusted < alpha),
            drifted=bool(record.drifted),
        )
    return out


@dataclass(frozen=True)
class Observation:
    """What monitoring measured for one model over one window; None or empty means unknown.

    ``features`` holds each tested feature's drift signal and ``drift_share`` the drift
    report's share of drifted features; ``live_rows`` counts the window's rows. ``kpis`` holds
    live quality measures (accuracy, f1, roc_auc, rmse, business_value, ...) once labels have
    arrived, ``kpi_intervals`` their 95% intervals, ``labelled`` the labelled answers behind
    them and ``valued`` the answers with a business value (behind ``business_value``);
    ``evidence`` holds anything else worth attaching to an alert.
    """

    model: str
    window_start: datetime
    window_end: datetime
    version: int | None = None
    drift_share: float | None = None
    features: dict[str, FeatureSignal] = field(default_factory=dict)
    live_rows: int | None = None
    kpis: dict[str, float] = field(default_factory=dict)
    kpi_intervals: dict[str, tuple[float, float]] = field(default_factory=dict)
    labelled: int | None = None
    valued: int | None = None
    error_rate: float | None = None
    latency_p99_ms: float | None = None
    dropped_records: int | None = None
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def drifted_features(self) -> list[str]:
        """The features the drift report calls drifted, in its order."""
        return [name for name, signal in self.features.items() if signal.drifted]

    @property
    def feature_psi(self) -> dict[str, float]:
        """Each tested feature's PSI (where known)."""
        return {k: s.psi for k, s in self.features.items() if s.psi is not None and _known(s.psi)}


@dataclass(frozen=True)
class Finding:
    """A rule that fires: on what (``subject``: a feature or KPI), by how much, and why."""

    rule: AlertRule
    fingerprint: str
    subject: str | None
    value: float
    threshold: float
    message: str
    evidence: dict[str, Any]


@dataclass(frozen=True)
class AlertChanges:
    """What one update of the book changed: events opened, still open, and resolved."""

    fired: list[AlertEvent]
    still_firing: list[AlertEvent]
    resolved: list[AlertEvent]


class AlertNotifier(Protocol):
    """Told about every event that opens (``fired``) or closes (``resolved``); must not block."""

    def notify(self, event: AlertEvent, change: Change) -> None: ...


def rules_for(settings: MonitoringSettings, model: str) -> list[AlertRule]:
    """The rules of ``model``: the defaults, with the model's own rules added or, when they
    share a name, replacing a default in its place."""
    merged: dict[str, AlertRule] = {}
    for rule in settings.alerts:
        merged[rule.name] = rule
    own = settings.models.get(model)
    for rule in own.alerts if own is not None else []:
        merged[rule.name] = rule
    return list(merged.values())


def fingerprint(model: str, rule: str, subject: str | None = None) -> str:
    """The identity of one condition: the same model, rule and feature or KPI."""
    key = json.dumps([model, rule, subject], separators=(",", ":"))
    return hashlib.sha256(key.encode()).hexdigest()


def _known(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def _measured(rule: AlertRule, obs: Observation) -> list[tuple[str | None, float]] | None:
    """The values ``rule`` compares for ``obs`` by subject; None when unknown."""
    if rule.metric in {"feature_psi", "drift_share"}:
        return _drift_measured(rule, obs)
    if rule.metric == "kpi":
        # business_value is the mean of the feedback's values, which may come without labels
        evidence = obs.valued if rule.kpi == "business_value" else obs.labelled
        if rule.kpi is None or evidence is None:
            return None
        if evidence < (rule.min_labels or DEFAULT_MIN_LABELS):
            return None
        value = obs.kpis.get(rule.kpi)
        if value is None or not _known(value) or rule.kpi not in obs.kpi_intervals:
            return None
        return [(rule.kpi, float(value))]
    scalar: float | None = {
        "error_rate": obs.error_rate,
        "latency_p99_ms": obs.latency_p99_ms,
        "dropped_records": None if obs.dropped_records is None else float(obs.dropped_records),
    }[rule.metric]
    return [(None, float(scalar))] if scalar is not None and _known(scalar) else None


def _drift_measured(rule: AlertRule, obs: Observation) -> list[tuple[str | None, float]] | None:
    if rule.min_rows is not None and (obs.live_rows is None or obs.live_rows < rule.min_rows):
        return None
    if rule.metric == "drift_share":
        if rule.effect in (None, "drift"):
            share = obs.drift_share
            return [(None, float(share))] if share is not None and _known(share) else None
        if not obs.features:
            return None
        counted = sum(_passes(rule, signal) for signal in obs.features.values())
        return [(None, counted / len(obs.features))]
    if rule.effect is None:  # the rule's threshold on PSI is its gate: a PSI is needed
        known = {k: s.psi for k, s in obs.features.items() if s.psi is not None and _known(s.psi)}
    else:
        known = {k: s.psi if s.psi is not None else math.nan for k, s in obs.features.items()}
    if rule.feature is not None:
        return [(rule.feature, known[rule.feature])] if rule.feature in known else None
    return sorted(known.items()) if known else None


def _passes(rule: AlertRule, signal: FeatureSignal) -> bool:
    """Whether a feature counts for a drift rule: significant, and past the rule's gate."""
    if rule.effect == "none":
        return signal.significant
    if rule.effect in (None, "drift"):
        return signal.drifted
    gate = float(rule.effect)
    return signal.significant and signal.psi is not None and signal.psi >= gate


def _fires(rule: AlertRule, obs: Observation, subject: str | None, value: float) -> bool:
    if rule.metric == "feature_psi":  # never on a feature whose drift test is not significant
        signal = obs.features[str(subject)]
        if rule.effect is not None:
            return _passes(rule, signal)
        return signal.significant and _compared(rule, value)
    if rule.metric == "kpi":
        low, high = obs.kpi_intervals[str(subject)]
        return high < _threshold(rule) if rule.op == "below" else low > _threshold(rule)
    return _compared(rule, value)


def _compared(rule: AlertRule, value: float) -> bool:
    return value > _threshold(rule) if rule.op == "above" else value < _threshold(rule)


def _threshold(rule: AlertRule) -> float:
    return rule.threshold if rule.threshold is not None else 0.0


def evaluated_rules(rules: Iterable[AlertRule], observation: Observation) -> list[AlertRule]:
    """The rules ``observation`` can decide: those whose metric it carries.

    A rule on any feature is decided when the observation has drift for some feature; a
    feature it does not list then counts as clear. A KPI rule is decided only with at least
    ``min_labels`` labelled answers (default 100) and an interval for its KPI; a drift rule
    with ``min_rows`` only on a window of that many rows.
    """
    return [rule for rule in rules if _measured(rule, observation) is not None]


def evaluate(rules: Iterable[AlertRule], observation: Observation) -> list[Finding]:
    """The findings of every rule that fires on ``observation``.

    ``above`` fires when the value is greater than the threshold, ``below`` when it is
    smaller; a KPI rule fires only when the KPI's whole interval is past the threshold. A
    rule on any feature gives one finding per feature whose drift test is significant and
    whose effect passes the gate (by default PSI above the threshold). A rule whose metric
    is missing (or NaN) gives none, and is not counted as clear either.
    """
    findings: list[Finding] = []
    for rule in rules:
        for subject, value in _measured(rule, observation) or []:
            if _fires(rule, observation, subject, value):
                shown = value if _known(value) else 0.0
                findings.append(_finding(rule, observation, subject, shown))
    return findings


def _finding(rule: AlertRule, obs: Observation, subject: str | None, value: float) -> Finding:
    who = obs.model if obs.version is None else f"{obs.model} v{obs.version}"
    what = {
        "drift_share": "share of drifted features",
        "feature_psi": f"PSI of feature {subject!r}",
        "kpi": f"{subject}",
        "error_rate": "error rate",
        "latency_p99_ms": "p99 latency (ms)",
        "dropped_records": "dropped prediction-log records",
    }[rule.metric]
    threshold = _threshold(rule)
    if rule.metric == "feature_psi" and rule.effect is not None:
        gate = "significant" if rule.effect == "none" else "significant and large (drifted)"
        message = f"{who}: feature {subject!r} is {gate}, PSI {value:.4g}"
        threshold = 0.0  # the gate is the test, not a number
    elif rule.metric == "kpi":
        low, high = obs.kpi_intervals[str(subject)]
        message = (
            f"{who}: {what} is {value:.4g} (95% interval {low:.4g} to {high:.4g} over "
            f"{obs.labelled} labelled answers), wholly {rule.op} the threshold {threshold:.4g}"
        )
    else:
        gap = abs(value - threshold)
        message = (
            f"{who}: {what} is {value:.4g}, {rule.op} the threshold {threshold:.4g} by {gap:.4g}"
        )
        if rule.metric == "feature_psi":
            message += ", and its drift test is significant"
    message += f" (rule {rule.name!r}, {rule.severity})"
    if rule.metric == "drift_share" and obs.drifted_features:
        shown = ", ".join(obs.drifted_features[:5])
        more = len(obs.drifted_features) - 5
        message += f"; drifted: {shown}" + (f" and {more} more" if more > 0 else "")
    evidence: dict[str, Any] = {
        "metric": rule.metric,
        "op": rule.op,
        "subject": subject,
        "version": obs.version,
        "window_start": iso_utc(obs.window_start),
        "window_end": iso_utc(obs.window_end),
    }
    if rule.metric in {"drift_share", "feature_psi"}:
        top = sorted(
            ((k, v) for k, v in obs.feature_psi.items() if _known(v)), key=lambda kv: -kv[1]
        )
        evidence["drifted_features"] = list(obs.drifted_features)
        evidence["top_feature_psi"] = dict(top[:_TOP_FEATURES])
    if rule.metric == "kpi":
        evidence["kpis"] = dict(obs.kpis)
        evidence["kpi_intervals"] = {k: list(v) for k, v in obs.kpi_intervals.items()}
        evidence["labelled"] = obs.labelled
    if obs.evidence:
        evidence["details"] = obs.evidence
    return Finding(
        rule=rule,
        fingerprint=fingerprint(obs.model, rule.name, subject),
        subject=subject,
        value=value,
        threshold=threshold,
        message=message,
        evidence=json_safe(evidence, "evidence"),
    )


class AlertBook:
    """Alert events of every model: opens, de-duplicates and resolves them, and tells.

    Parameters
    ----------
    store : MonitorStore
        Where events are kept (so that several processes agree on what is firing).
    notifier : AlertNotifier, optional
        Told about openings and resolutions, e.g. a :class:`WebhookNotifier`. Every change is
        also logged on the ``ferryman.alerts`` logger.
    """

    def __init__(self, store: MonitorStore, notifier: AlertNotifier | None = None) -> None:
        self.store = store
        self.notifier = notifier

    def firing(self, model: str | None = None) -> list[AlertEvent]:
        """Events firing now (of ``model``, or of every model), oldest first."""
        return self.store.firing_alerts(model)

    def events(
        self, model: str | None = None, *, since: datetime | None = None, limit: int = 100
    ) -> list[AlertEvent]:
        """Events newest first; ``since`` keeps those seen at or after it."""
        return self.store.alert_events(model, since=since, limit=limit)

    def check(
        self, rules: Sequence[AlertRule], observation: Observation, at: datetime | None = None
    ) -> AlertChanges:
        """Evaluate ``rules`` on ``observation`` and update the book with the outcome."""
        return self.update(
            observation.model,
            evaluate(rules, observation),
            evaluated_rules(rules, observation),
            at,
            version=observation.version,
        )

    def update(
        self,
        model: str,
        findings: Sequence[Finding],
        evaluated_rules: Iterable[AlertRule],
        at: datetime | None = None,
        *,
        version: int | None = None,
    ) -> AlertChanges:
        """Record one evaluation of ``model``.

        Each finding opens an event, or refreshes the one already firing for its fingerprint
        (last seen, value, message; no new notification). A firing event of a rule in
        ``evaluated_rules`` that no finding repeats is resolved. Events of rules that were not
        evaluated (their metric unknown this time) are left as they are.
        """
        at = at or datetime.now(UTC)
        fired: list[AlertEvent] = []
        still: list[AlertEvent] = []
        seen: set[str] = set()
        for finding in findings:
            seen.add(finding.fingerprint)
            event, is_new = self.store.fire_alert(
                NewAlert(
                    model=model,
                    rule=finding.rule.name,
                    severity=finding.rule.severity,
                    fingerprint=finding.fingerprint,
                    value=finding.value,
                    threshold=finding.threshold,
                    message=finding.message,
                    version=version,
                    subject=finding.subject,
                    evidence=finding.evidence,
                ),
                at,
            )
            (fired if is_new else still).append(event)
        decided = {rule.name for rule in evaluated_rules}
        resolved: list[AlertEvent] = []
        for event in self.store.firing_alerts(model):
            if event.rule in decided and event.fingerprint not in seen:
                closed = self.store.resolve_alert(event.fingerprint, at)
                if closed is not None:  # None: another process resolved it first
                    resolved.append(closed)
        for event in fired:
            self._tell(event, "fired")
        for event in resolved:
            self._tell(event, "resolved")
        return AlertChanges(fired, still, resolved)

    def _tell(self, event: AlertEvent, change: Change) -> None:
        if change == "fired":
            logger.log(_LOG_LEVELS.get(event.severity, logging.WARNING), "alert: %s", event.message)
        else:
            logger.info("resolved: %s (rule %r, alert %d)", event.model, event.rule, event.id)
        if self.notifier is None:
            return
        try:
            self.notifier.notify(event, change)
        except Exception:  # a broken notifier must not stop monitoring
            logger.exception("alert notifier failed on alert %d (%s)", event.id, change)
