"""KPI rules on simulated labels: at the threshold they fire in at most 5% of windows (the
95% interval's one tail is 2.5%; Wilson's discreteness reaches about 4% at 100 labels), and
clearly past it they fire.

Each window's labelled answers are drawn from a model whose true KPI is exactly the rule's
threshold; the interval is computed from the counts and sums as the KPI query does, and the
rule is evaluated by ``alerts.evaluate``. The count of windows that fire is compared with the
99.9% quantile of Binomial(WINDOWS, 0.05), so a correct rule fails about once in a thousand
seeds; a rule on the point value alone fires in about half the windows.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from scipy import stats

from ferryman.config import AlertRule
from ferryman.monitoring.alerts import Observation, evaluate
from ferryman.monitoring.kpi import intervals as ci

WINDOWS = 2000
ALPHA = 0.05
T0 = datetime(2026, 3, 1, tzinfo=UTC)
LABELS = [100, 300, 1000, 10_000]


def _bound() -> int:
    return int(stats.binom.ppf(0.999, WINDOWS, ALPHA))


def _fires(rule: AlertRule, value: float, interval: tuple[float, float] | None, n: int) -> bool:
    assert rule.kpi is not None
    obs = Observation(
        "m",
        T0,
        T0 + timedelta(hours=1),
        kpis={rule.kpi: value},
        kpi_intervals={rule.kpi: interval} if interval else {},
        labelled=n,
    )
    return bool(evaluate([rule], obs))


@pytest.mark.parametrize("labels", LABELS)
def test_an_accuracy_rule_at_its_threshold_fires_at_most_alpha(labels: int) -> None:
    rule = AlertRule(name="acc", metric="kpi", kpi="accuracy", op="below", threshold=0.85)
    correct = np.random.default_rng(labels).binomial(labels, 0.85, WINDOWS)
    fired = sum(_fires(rule, k / labels, ci.wilson(int(k), labels), labels) for k in correct)
    point = int((correct / labels < 0.85).sum())  # the old rule: the point value alone
    assert fired <= _bound(), (fired, WINDOWS)
    assert point > 4 * _bound(), point
    worse = np.random.default_rng(labels + 1).binomial(labels, 0.75, 200)
    power = sum(_fires(rule, k / labels, ci.wilson(int(k), labels), labels) for k in worse)
    assert power >= (150 if labels == 100 else 199), power


def test_an_accuracy_rule_above_its_threshold_fires_less_still() -> None:
    rule = AlertRule(name="acc", metric="kpi", kpi="accuracy", op="below", threshold=0.85)
    correct = np.random.default_rng(7).binomial(300, 0.9, WINDOWS)
    fired = sum(_fires(rule, k / 300, ci.wilson(int(k), 300), 300) for k in correct)
    assert fired <= int(stats.binom.ppf(0.999, WINDOWS, 0.001)), fired


def test_one_labelled_answer_never_fires_a_kpi_rule() -> None:
    rule = AlertRule(name="acc", metric="kpi", kpi="accuracy", op="below", threshold=0.85)
    assert not _fires(rule, 0.0, ci.wilson(0, 1), 1)
    assert not _fires(rule, 0.0, ci.wilson(0, 99), 99)


@pytest.mark.parametrize("labels", [100, 300, 1000, 3000])
def test_an_rmse_rule_at_its_threshold_fires_at_most_alpha(labels: int) -> None:
    rule = AlertRule(name="rmse", metric="kpi", kpi="rmse", threshold=2.0)
    rng = np.random.default_rng(labels)
    errors = rng.standard_t(8, size=(WINDOWS, labels)) * 2.0 / np.sqrt(8 / 6)  # heavy tails
    squares = errors**2
    sse, fourth = squares.sum(axis=1), (squares**2).sum(axis=1)
    fired = sum(
        _fires(rule, float(np.sqrt(e / labels)), ci.rmse_interval(e, f, labels), labels)
        for e, f in zip(sse, fourth, strict=True)
    )
    assert fired <= _bound(), fired
    worse = rng.normal(0, 2.6, size=(200, labels)) ** 2
    power = sum(
        _fires(rule, 0.0, ci.rmse_interval(float(w.sum()), float((w**2).sum()), labels), labels)
        for w in worse
    )
    assert power >= (150 if labels == 100 else 199), power


@pytest.mark.parametrize("labels", LABELS)
def test_an_f1_rule_at_its_threshold_fires_at_most_alpha(labels: int) -> None:
    # a binary model whose confusion shares give an F1 of exactly 0.8
    shares = np.array([0.4, 0.1, 0.1, 0.4])  # tp, fp, fn, tn: F1 = 0.8 / 1.0
    rule = AlertRule(name="f1", metric="kpi", kpi="f1", op="below", threshold=0.8)
    counts = np.random.default_rng(labels).multinomial(labels, shares, WINDOWS)
    fired = 0
    for tp, fp, fn, _ in counts:
        f1 = 2 * tp / (2 * tp + fp + fn)
        interval = ci.normal(f1, ci.f1_se(int(tp), int(fp), int(fn), labels), 0.0, 1.0)
        fired += _fires(rule, f1, interval, labels)
    assert fired <= _bound(), fired
