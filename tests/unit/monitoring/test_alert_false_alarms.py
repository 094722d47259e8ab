"""The default drift alert rules on simulated windows of the training distribution (A/A).

Each window is compared with its reference by a real ``DriftDetector``, and the default rules
(``dataset-drift``, ``feature-drift``) are evaluated on the result as a monitoring pass does.
A window "fires" when either rule gives a finding. Both rules count a feature only when its
drift test is significant after Holm's correction, so on undrifted data they fire together in
at most ``alpha`` = 5% of passes; the count over ``windows`` windows is compared with the
99.9% quantile of Binomial(windows, 0.05). The old feature rule, PSI above 0.25 alone, is
counted on the same windows: under the null PSI averages about (bins - 1) / n, so it fired in
about 40% of 100-row windows with 55 features.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ferryman.config import MonitoringSettings
from ferryman.monitoring.alerts import Observation, evaluate, feature_signals
from ferryman.monitoring.drift.detector import DriftDetector
from ferryman.schema.profiling import profile_frame

ALPHA = 0.05
REFERENCES = 5
T0 = datetime(2026, 3, 1, tzinfo=UTC)
DRIFT_RULES = [r for r in MonitoringSettings().alerts if r.metric in {"drift_share", "feature_psi"}]


def _draw(rng: np.random.Generator, n: int, numeric: int, shift: float = 0.0) -> pd.DataFrame:
    columns: dict[str, np.ndarray] = {}
    for i in range(numeric):
        kind = i % 3
        if kind == 0:
            columns[f"x{i}"] = rng.normal(10, 2, n)
        elif kind == 1:
            columns[f"x{i}"] = rng.lognormal(0, 1, n)
        else:
            columns[f"x{i}"] = rng.uniform(0, 1, n)
    columns["x0"] = columns["x0"] + shift * 2  # a shift of ``shift`` standard deviations
    columns["plan"] = rng.choice(["a", "b", "c", "d"], n, p=[0.4, 0.3, 0.2, 0.1])
    columns["flag"] = rng.choice(["yes", "no"], n, p=[0.2, 0.8])
    columns["region"] = rng.choice(["n", "s", "e", "w"], n)
    return pd.DataFrame(columns)


def _observe(detector: DriftDetector, window: pd.DataFrame) -> Observation:
    report = detector.compare(window)
    return Observation(
        "m",
        T0,
        T0 + timedelta(hours=1),
        drift_share=report.share,
        features=feature_signals(report),
        live_rows=len(window),
    )


def _simulate(numeric: int, size: int, per_reference: int) -> tuple[int, int, int]:
    """Windows in all, windows where a default drift rule fired, where PSI > 0.25 alone did."""
    fired = old = 0
    for seed in range(REFERENCES):
        rng = np.random.default_rng([numeric, size, seed])
        reference = _draw(rng, max(5000, 2 * size), numeric)
        detector = DriftDetector().fit(reference, profile_frame(reference))
        for _ in range(per_reference):
            obs = _observe(detector, _draw(rng, size, numeric))
            fired += bool(evaluate(DRIFT_RULES, obs))
            old += any(psi > 0.25 for psi in obs.feature_psi.values())
    return REFERENCES * per_reference, fired, old


def _bound(windows: int) -> int:
    return int(stats.binom.ppf(0.999, windows, ALPHA))


@pytest.mark.parametrize(
    ("numeric", "size", "per_reference"),
    [(55, 100, 20), (9, 1000, 20)],
    ids=["55-features-100-rows", "9-features-1000-rows"],
)
def test_default_drift_alerts_fire_at_most_alpha_per_pass(
    numeric: int, size: int, per_reference: int
) -> None:
    windows, fired, old = _simulate(numeric, size, per_reference)
    assert fired <= _bound(windows), (fired, windows)
    assert old >= fired, (old, fired)
    if (numeric, size) == (55, 100):  # the old PSI rule alone fired in about 40%
        assert old > 2 * _bound(windows), (old, windows)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("numeric", "size", "per_reference"),
    [(9, 100, 40), (9, 10_000, 20), (55, 1000, 12), (55, 10_000, 8)],
    ids=[
        "9-features-100-rows",
        "9-features-10000-rows",
        "55-features-1000-rows",
        "55-features-10000-rows",
    ],
)
def test_default_drift_alerts_fire_at_most_alpha_over_more_windows(
    numeric: int, size: int, per_reference: int
) -> None:
    windows, fired, old = _simulate(numeric, size, per_reference)
    assert fired <= _bound(windows), (fired, windows)
    assert old >= fired, (old, fired)


def test_default_drift_alerts_fire_on_a_clear_shift() -> None:
    rng = np.random.default_rng(11)
    reference = _draw(rng, 5000, 9)
    detector = DriftDetector().fit(reference, profile_frame(reference))
    for _ in range(10):
        findings = evaluate(DRIFT_RULES, _observe(detector, _draw(rng, 1000, 9, shift=1.0)))
        assert [(f.rule.name, f.subject) for f in findings] == [("feature-drift", "x0")]
