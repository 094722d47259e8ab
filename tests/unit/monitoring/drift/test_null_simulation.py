"""Drift on data that did not drift (A/A), over many references and window sizes.

Each of 20 references is its own training draw: a profile of 20,000 rows and the 10,000-row
reference sample a version keeps. Each gets 50 live windows from the same population, at
every size from 100 to 20,000 rows: 1,000 windows a size. The features cover every kind the
drift tests treat differently: continuous (normal, skewed), discrete (a Poisson count, an
integer level), categorical (5 levels) and high-cardinality categorical (400 levels, Zipf).

Two rates must stay at or under alpha, within sampling error (the 99.9% quantile of
Binomial(1,000, alpha)): windows in which *any* feature's test is significant after the
correction (the effect gate off, so this is the tests' own error rate), and windows in which
a default drift alert rule fires.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ferryman.config import DriftThresholds, MonitoringSettings
from ferryman.monitoring.alerts import Observation, evaluate, feature_signals
from ferryman.monitoring.drift.detector import DriftDetector, DriftReport
from ferryman.schema.profiling import profile_frame

ALPHA = 0.05
REFERENCES = 20
WINDOWS_PER_REFERENCE = 50
TRAINING_ROWS = 20_000
SAMPLE_ROWS = 10_000
SIZES = [100, 1_000, 5_000, 20_000]
ALLOWED = int(stats.binom.ppf(0.999, REFERENCES * WINDOWS_PER_REFERENCE, ALPHA))
TESTS_ONLY = DriftThresholds(alpha=ALPHA, psi=0.0, wasserstein=0.0, jensen_shannon=0.0)
DRIFT_METRICS = {"drift_share", "feature_psi"}

PLANS = np.array(["free", "basic", "pro", "team", "enterprise"], dtype=object)
PLAN_SHARES = np.array([0.4, 0.25, 0.15, 0.12, 0.08])
CITIES = np.array([f"city-{i:03d}" for i in range(400)], dtype=object)
CITY_SHARES = 1.0 / np.arange(1, 401) ** 1.1
CITY_SHARES /= CITY_SHARES.sum()


def population(rng: np.random.Generator, n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "normal": rng.normal(0.0, 1.0, n),
            "skewed": rng.lognormal(0.0, 0.8, n),
            "count": rng.poisson(3.0, n),
            "level": rng.integers(0, 8, n),
            "plan": PLANS[rng.choice(len(PLANS), n, p=PLAN_SHARES)],
            "city": CITIES[rng.choice(len(CITIES), n, p=CITY_SHARES)],
        }
    )


@dataclass
class Reference:
    tests_only: DriftDetector
    defaults: DriftDetector


def references(seed: int) -> list[Reference]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(REFERENCES):
        training = population(rng, TRAINING_ROWS)
        profile = profile_frame(training)
        sample = training.sample(SAMPLE_ROWS, random_state=int(rng.integers(2**31)))
        out.append(
            Reference(
                DriftDetector(TESTS_ONLY).fit(sample, profile),
                DriftDetector(MonitoringSettings().drift).fit(sample, profile),
            )
        )
    return out


def default_drift_alert_fires(report: DriftReport, rows: int) -> bool:
    now = datetime.now(UTC)
    observation = Observation(
        model="m",
        window_start=now,
        window_end=now,
        version=1,
        drift_share=report.share,
        features=feature_signals(report),
        live_rows=rows,
    )
    rules = [r for r in MonitoringSettings().alerts if r.metric in DRIFT_METRICS]
    return bool(evaluate(rules, observation))


@pytest.fixture(scope="module")
def fitted() -> list[Reference]:
    return references(seed=14)


@pytest.mark.slow
@pytest.mark.parametrize("size", SIZES)
def test_no_drift_alarms_at_most_alpha_over_references(fitted: list[Reference], size: int) -> None:
    rng = np.random.default_rng(1_000 + size)
    any_significant = alerts_fired = 0
    for reference in fitted:
        for _ in range(WINDOWS_PER_REFERENCE):
            window = population(rng, size)
            tested = reference.tests_only.compare(window)
            assert tested.tested_count == 6, tested.skipped
            any_significant += tested.drifted_count > 0
            report = reference.defaults.compare(window)
            alerts_fired += default_drift_alert_fires(report, size)
    windows = REFERENCES * WINDOWS_PER_REFERENCE
    assert any_significant <= ALLOWED, f"{any_significant}/{windows} windows had a significant test"
    assert alerts_fired <= ALLOWED, f"default drift alerts fired in {alerts_fired}/{windows}"
