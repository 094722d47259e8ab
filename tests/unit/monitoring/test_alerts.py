"""Alert rules and the alert book: firing, de-duplication, resolution, unknown values."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from ferryman.config import AlertRule, ModelMonitoring, MonitoringSettings
from ferryman.monitoring.alerts import (
    AlertBook,
    Change,
    FeatureSignal,
    Observation,
    evaluate,
    evaluated_rules,
    fingerprint,
    rules_for,
)
from ferryman.monitoring.storage import AlertEvent, MonitorStore
from ferryman.store import open_database

T0 = datetime(2026, 3, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
DRIFT = AlertRule(name="dataset-drift", metric="drift_share", threshold=0.2)
ANY_PSI = AlertRule(name="feature-drift", metric="feature_psi", threshold=0.25)
ACCURACY = AlertRule(name="accuracy", metric="kpi", kpi="accuracy", op="below", threshold=0.9)


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[int, str, Change]] = []

    def notify(self, event: AlertEvent, change: Change) -> None:
        self.calls.append((event.id, event.rule, change))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MonitorStore]:
    engine = open_database(f"sqlite:///{tmp_path / 'meta.db'}")
    yield MonitorStore(engine)
    engine.dispose()


@pytest.fixture
def told() -> Recorder:
    return Recorder()


@pytest.fixture
def book(store: MonitorStore, told: Recorder) -> AlertBook:
    return AlertBook(store, told)


def seen(hour: int = 0, **measures: Any) -> Observation:
    """An observation; ``feature_psi`` gives features whose drift tests are significant
    (``drifted_features`` the drifted ones), and ``kpis`` come with narrow intervals over
    1,000 labels unless ``kpi_intervals`` and ``labelled`` say otherwise."""
    start = T0 + hour * HOUR
    psi = measures.pop("feature_psi", {})
    drifted = measures.pop("drifted_features", [])
    features = {k: FeatureSignal(v, True, k in drifted) for k, v in psi.items()}
    features.update({k: FeatureSignal(None, True, True) for k in drifted if k not in psi})
    if "kpis" in measures:
        measures.setdefault(
            "kpi_intervals", {k: (v - 0.01, v + 0.01) for k, v in measures["kpis"].items()}
        )
        measures.setdefault("labelled", 1000)
    return Observation(
        model="churn",
        window_start=start,
        window_end=start + HOUR,
        features=measures.pop("features", features),
        **measures,
    )


# --- rules ----------------------------------------------------------------------------------
def test_the_defaults_apply_to_a_model_without_rules_of_its_own() -> None:
    names = [r.name for r in rules_for(MonitoringSettings(), "churn")]
    assert names == ["dataset-drift", "feature-drift", "error-rate", "dropped-log-records"]


def test_a_model_rule_replaces_a_default_by_name_and_adds_others() -> None:
    tighter = AlertRule(name="dataset-drift", metric="drift_share", threshold=0.1)
    settings = MonitoringSettings(
        models={"churn": ModelMonitoring(alerts=[tighter, ACCURACY])},
    )
    rules = rules_for(settings, "churn")
    assert [r.name for r in rules] == [
        "dataset-drift",
        "feature-drift",
        "error-rate",
        "dropped-log-records",
        "accuracy",
    ]
    assert rules[0].threshold == 0.1
    assert rules_for(settings, "fraud")[0].threshold == 0.2  # other models keep the default


def test_a_kpi_rule_without_a_kpi_name_is_refused_when_settings_load() -> None:
    with pytest.raises(ValidationError, match="'quality' watches a KPI but does not name it"):
        AlertRule(name="quality", metric="kpi", threshold=0.9, op="below")


# --- evaluation -----------------------------------------------------------------------------
def test_a_rule_fires_past_its_threshold_and_says_by_how_much() -> None:
    [finding] = evaluate([DRIFT], seen(drift_share=0.35, drifted_features=["age", "income"]))
    assert (finding.value, finding.threshold, finding.subject) == (0.35, 0.2, None)
    assert "share of drifted features is 0.35, above the threshold 0.2 by 0.15" in finding.message
    assert "drifted: age, income" in finding.message
    assert finding.evidence["drifted_features"] == ["age", "income"]
    assert finding.evidence["window_start"] == "2026-03-01T00:00:00Z"
    assert evaluate([DRIFT], seen(drift_share=0.2)) == []  # at the threshold is not past it


def test_below_rules_fire_under_the_threshold() -> None:
    [finding] = evaluate([ACCURACY], seen(kpis={"accuracy": 0.81, "f1": 0.7}))
    assert finding.subject == "accuracy"
    assert (
        "accuracy is 0.81 (95% interval 0.8 to 0.82 over 1000 labelled answers), wholly "
        "below the threshold 0.9" in finding.message
    )
    assert finding.evidence["kpis"] == {"accuracy": 0.81, "f1": 0.7}
    assert evaluate([ACCURACY], seen(kpis={"accuracy": 0.95})) == []


def test_a_psi_rule_on_any_feature_finds_each_drifted_feature() -> None:
    findings = evaluate([ANY_PSI], seen(feature_psi={"age": 0.4, "income": 0.1, "zip": 0.3}))
    assert [f.subject for f in findings] == ["age", "zip"]
    assert len({f.fingerprint for f in findings}) == 2
    assert (
        "PSI of feature 'age' is 0.4, above the threshold 0.25 by 0.15, and its drift test "
        "is significant" in findings[0].message
    )
    only_zip = AlertRule(name="zip", metric="feature_psi", feature="zip", threshold=0.25)
    assert [f.subject for f in evaluate([only_zip], seen(feature_psi={"zip": 0.3}))] == ["zip"]


def test_missing_or_nan_metrics_neither_fire_nor_count_as_evaluated() -> None:
    rules = [DRIFT, ANY_PSI, ACCURACY, *MonitoringSettings().alerts[2:]]
    nothing = seen(drift_share=float("nan"), kpis={"f1": 0.5})
    assert evaluate(rules, nothing) == []
    assert evaluated_rules(rules, nothing) == []
    some = seen(error_rate=0.0, dropped_records=0)
    assert [r.name for r in evaluated_rules(rules, some)] == ["error-rate", "dropped-log-records"]


def test_default_rules_on_errors_and_dropped_records() -> None:
    rules = MonitoringSettings().alerts
    found = evaluate(rules, seen(error_rate=0.2, dropped_records=3))
    assert [(f.rule.name, f.rule.severity) for f in found] == [
        ("error-rate", "critical"),
        ("dropped-log-records", "warning"),
    ]


def test_fingerprints_name_the_model_rule_and_subject() -> None:
    assert fingerprint("churn", "r", "age") == fingerprint("churn", "r", "age")
    assert len({fingerprint("churn", "r", "age"), fingerprint("churn", "r", None)}) == 2
    assert fingerprint("churn", "r") != fingerprint("fraud", "r")


# --- the book -------------------------------------------------------------------------------
def test_a_condition_that_keeps_firing_is_one_event_and_one_notification(
    book: AlertBook, store: MonitorStore, told: Recorder
) -> None:
    first = book.check([DRIFT], seen(0, drift_share=0.3), at=T0)
    second = book.check([DRIFT], seen(1, drift_share=0.5), at=T0 + HOUR)
    assert len(first.fired) == 1
    assert second.fired == []
    assert [e.id for e in second.still_firing] == [first.fired[0].id]
    [event] = store.alert_events("churn")
    assert (event.first_seen, event.last_seen, event.value) == (T0, T0 + HOUR, 0.5)
    assert told.calls == [(event.id, "dataset-drift", "fired")]


def test_a_cleared_condition_is_resolved_once(
    book: AlertBook, store: MonitorStore, told: Recorder
) -> None:
    book.check([DRIFT], seen(0, drift_share=0.3), at=T0)
    cleared = book.check([DRIFT], seen(1, drift_share=0.05), at=T0 + HOUR)
    again = book.check([DRIFT], seen(2, drift_share=0.05), at=T0 + 2 * HOUR)
    [event] = store.alert_events("churn")
    assert [e.id for e in cleared.resolved] == [event.id]
    assert again.resolved == []
    assert (event.state, event.resolved_at) == ("resolved", T0 + HOUR)
    assert [c[2] for c in told.calls] == ["fired", "resolved"]


def test_an_unknown_value_does_not_resolve(
    book: AlertBook, store: MonitorStore, told: Recorder
) -> None:
    book.check([ACCURACY], seen(0, kpis={"accuracy": 0.7}), at=T0)
    quiet = book.check([ACCURACY], seen(1), at=T0 + HOUR)  # no labels in this window
    assert (quiet.fired, quiet.still_firing, quiet.resolved) == ([], [], [])
    [event] = store.firing_alerts("churn")
    assert event.last_seen == T0  # not seen again, not cleared either
    book.check([ACCURACY], seen(2, kpis={"accuracy": 0.95}), at=T0 + 2 * HOUR)
    assert store.firing_alerts("churn") == []
    assert [c[2] for c in told.calls] == ["fired", "resolved"]


def test_features_resolve_one_by_one(book: AlertBook, store: MonitorStore) -> None:
    book.check([ANY_PSI], seen(0, feature_psi={"age": 0.4, "zip": 0.3}), at=T0)
    changes = book.check([ANY_PSI], seen(1, feature_psi={"age": 0.5, "zip": 0.1}), at=T0 + HOUR)
    assert [e.subject for e in changes.still_firing] == ["age"]
    assert [e.subject for e in changes.resolved] == ["zip"]
    assert [e.subject for e in store.firing_alerts("churn")] == ["age"]


def test_other_models_and_rules_are_left_alone(book: AlertBook, store: MonitorStore) -> None:
    book.check([DRIFT, ACCURACY], seen(0, drift_share=0.5, kpis={"accuracy": 0.5}), at=T0)
    other = Observation("fraud", T0, T0 + HOUR, drift_share=0.0)
    book.check([DRIFT], other, at=T0)
    book.check([DRIFT], seen(1, drift_share=0.0), at=T0 + HOUR)  # only drift decided
    assert [e.rule for e in store.firing_alerts("churn")] == ["accuracy"]


def test_changes_are_logged_on_the_alerts_logger(
    book: AlertBook, caplog: pytest.LogCaptureFixture
) -> None:
    critical = AlertRule(name="errors", metric="error_rate", threshold=0.1, severity="critical")
    with caplog.at_level(logging.INFO, logger="ferryman.alerts"):
        book.check([critical], seen(0, error_rate=0.5), at=T0)
        book.check([critical], seen(1, error_rate=0.0), at=T0 + HOUR)
    records = [(r.name, r.levelno) for r in caplog.records]
    assert records == [("ferryman.alerts", logging.ERROR), ("ferryman.alerts", logging.INFO)]
    assert "error rate is 0.5" in caplog.records[0].getMessage()


def test_a_failing_notifier_does_not_stop_the_book(
    store: MonitorStore, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        def notify(self, event: AlertEvent, change: Change) -> None:
            raise RuntimeError("boom")

    with caplog.at_level(logging.ERROR, logger="ferryman.alerts"):
        changes = AlertBook(store, Broken()).check([DRIFT], seen(drift_share=0.9), at=T0)
    assert len(changes.fired) == 1
    assert "alert notifier failed" in caplog.text


# --- chance: significance, effect gates, labels, intervals ----------------------------------
def test_a_large_psi_whose_drift_test_is_not_significant_does_not_fire() -> None:
    noisy = {"rare": FeatureSignal(psi=0.9, significant=False, drifted=False)}
    assert evaluate([ANY_PSI], seen(features=noisy)) == []
    assert evaluated_rules([ANY_PSI], seen(features=noisy)) == [ANY_PSI]  # decided: clear
    real = {"rare": FeatureSignal(psi=0.9, significant=True, drifted=True)}
    assert [f.subject for f in evaluate([ANY_PSI], seen(features=real))] == ["rare"]


def test_the_effect_gate_is_set_per_rule() -> None:
    features = {
        "small": FeatureSignal(psi=0.02, significant=True, drifted=False),
        "large": FeatureSignal(psi=0.3, significant=True, drifted=True),
        "noise": FeatureSignal(psi=0.5, significant=False, drifted=False),
        "calm": FeatureSignal(psi=0.01, significant=False, drifted=False),
    }
    obs = seen(features=features, drift_share=0.25)

    def rule(**kw: Any) -> AlertRule:
        return AlertRule(name="r", **kw)

    def subjects(r: AlertRule) -> list[str | None]:
        return [f.subject for f in evaluate([r], obs)]

    assert subjects(rule(metric="feature_psi", effect="none")) == ["large", "small"]
    assert subjects(rule(metric="feature_psi", effect="drift")) == ["large"]
    assert subjects(rule(metric="feature_psi", threshold=0.01)) == ["large", "small"]
    assert subjects(rule(metric="feature_psi", effect="none", feature="noise")) == []
    shares = {
        "drift": 0.25,  # the drift report's share: significant and large
        "none": 0.5,  # significant alone
        0.01: 0.5,  # significant and PSI at or above 0.01
        0.5: 0.0,
    }
    for effect, share in shares.items():
        found = evaluate([rule(metric="drift_share", threshold=-1, effect=effect)], obs)
        assert [f.value for f in found] == [pytest.approx(share)], effect
    [text] = [f.message for f in evaluate([rule(metric="feature_psi", effect="none")], obs)][:1]
    assert "feature 'large' is significant, PSI 0.3" in text


def test_a_drift_rule_with_min_rows_waits_for_a_window_that_large() -> None:
    big = {"age": FeatureSignal(psi=0.9, significant=True, drifted=True)}
    rule = AlertRule(name="r", metric="feature_psi", threshold=0.25, min_rows=500)
    assert evaluated_rules([rule], seen(features=big, live_rows=499)) == []
    assert len(evaluate([rule], seen(features=big, live_rows=500))) == 1


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"metric": "drift_share", "threshold": 0.2, "effect": "big"}, "effect 'big' is not known"),
        ({"metric": "kpi", "kpi": "f1", "threshold": 0.8, "effect": "none"}, "applies to drift"),
        ({"metric": "feature_psi", "threshold": 0.2, "effect": "none"}, "remove threshold"),
        ({"metric": "feature_psi", "effect": 0.3}, "set threshold = 0.3"),
        ({"metric": "drift_share", "threshold": 0.2, "effect": -1}, "PSI value of 0 or more"),
        ({"metric": "error_rate"}, "needs a threshold"),
        ({"metric": "error_rate", "threshold": 0.1, "min_labels": 5}, "min_labels applies"),
        ({"metric": "kpi", "kpi": "f1", "threshold": 0.8, "min_rows": 5}, "min_rows applies"),
        ({"metric": "drift_share", "threshold": 0.2, "min_label": 5}, "min_label"),
        ({"metric": "drift_share", "threshold": 0.2, "effect": True}, "effect"),
        ({"metric": "feature_psi", "effect": "drift", "op": "below"}, "op has no use"),
    ],
)
def test_a_rule_refuses_what_it_cannot_use(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        AlertRule(name="r", **fields)


def test_a_kpi_rule_waits_for_enough_labels() -> None:
    one_wrong = seen(kpis={"accuracy": 0.0}, kpi_intervals={"accuracy": (0.0, 0.79)}, labelled=1)
    assert evaluate([ACCURACY], one_wrong) == []
    assert evaluated_rules([ACCURACY], one_wrong) == []  # undecided: neither fired nor clear
    few = AlertRule(**{**ACCURACY.model_dump(), "min_labels": 1})
    assert len(evaluate([few], one_wrong)) == 1
    assert evaluated_rules([ACCURACY], seen(kpis={"accuracy": 0.5}, labelled=100)) == [ACCURACY]


def test_a_kpi_rule_fires_only_when_the_whole_interval_is_past_the_threshold() -> None:
    straddles = seen(kpis={"accuracy": 0.88}, kpi_intervals={"accuracy": (0.86, 0.91)})
    assert evaluate([ACCURACY], straddles) == []
    assert evaluated_rules([ACCURACY], straddles) == [ACCURACY]  # decided: clear
    below = seen(kpis={"accuracy": 0.86}, kpi_intervals={"accuracy": (0.84, 0.89)})
    assert len(evaluate([ACCURACY], below)) == 1
    rmse = AlertRule(name="rmse", metric="kpi", kpi="rmse", threshold=2.0)
    assert evaluate([rmse], seen(kpis={"rmse": 2.3}, kpi_intervals={"rmse": (1.9, 2.7)})) == []
    assert len(evaluate([rmse], seen(kpis={"rmse": 2.3}, kpi_intervals={"rmse": (2.1, 2.5)})))
    no_interval = seen(kpis={"accuracy": 0.5}, kpi_intervals={})
    assert evaluated_rules([ACCURACY], no_interval) == []


def test_a_below_psi_rule_never_fires_on_a_feature_whose_test_is_not_significant() -> None:
    calm = {"age": FeatureSignal(psi=0.01, significant=False, drifted=False)}
    low = AlertRule(name="r", metric="feature_psi", op="below", threshold=0.05)
    assert evaluate([low], seen(features=calm)) == []


def test_a_business_value_rule_counts_values_not_labels() -> None:
    rule = AlertRule(name="v", metric="kpi", kpi="business_value", op="below", threshold=10.0)
    low = {"business_value": 2.0}
    narrow = {"business_value": (1.5, 2.5)}
    values_only = seen(kpis=low, kpi_intervals=narrow, labelled=0, valued=5_000)
    few_values = seen(kpis=low, kpi_intervals=narrow, labelled=5_000, valued=2)
    assert len(evaluate([rule], values_only)) == 1
    assert evaluate([rule], few_values) == []
