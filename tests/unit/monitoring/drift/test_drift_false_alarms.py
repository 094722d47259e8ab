"""False alarms measured: live windows drawn from the training distribution itself.

Each window tests every feature; a window is a false alarm when *any* feature is flagged. With
Holm's correction the family-wise rate is at most ``alpha``, so over ``WINDOWS`` windows the
count of false alarms is at most Binomial(WINDOWS, alpha). The bound allowed is that binomial's
99.9% quantile (for 200 windows at alpha 0.05: 19 windows, 9.5%, against 10 expected), so a
correct detector fails this test about once in a thousand seeds, and a detector without
multiple-testing control (about 1 - 0.95**7 = 30% of windows with seven features) or with a
goodness-of-fit chi-squared (about 50% per categorical feature) fails every time.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ferryman.config import DriftThresholds
from ferryman.monitoring.drift.detector import DriftDetector
from ferryman.schema.profiling import profile_frame

WINDOWS = 200
ALPHA = 0.05
_PLANS = ["a", "b", "c", "d", "e", "f", "g", "h"]
_PLAN_P = [0.35, 0.2, 0.15, 0.1, 0.1, 0.05, 0.04, 0.01]  # a rare level: sparse cells in chi2


def _draw(rng: np.random.Generator, n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "normal": rng.normal(50, 5, n),
            "skewed": rng.lognormal(0, 1, n),
            "counts": rng.poisson(3, n).astype(float),  # many ties
            "uniform": rng.uniform(0, 1, n),
            "plan": rng.choice(_PLANS, n, p=_PLAN_P),
            "flag": rng.choice(["yes", "no"], n, p=[0.2, 0.8]),
            "region": rng.choice(["n", "s", "e", "w"], n),
        }
    )


def _bound(windows: int) -> int:
    return int(stats.binom.ppf(0.999, windows, ALPHA))


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return _draw(np.random.default_rng(2026), 5000)


@pytest.mark.parametrize(
    ("size", "gate"),
    [(200, False), (1000, False), (5000, False), (1000, True)],
    ids=["200-no-effect-gate", "1000-no-effect-gate", "5000-no-effect-gate", "1000-defaults"],
)
def test_family_wise_false_alarms_stay_at_or_below_alpha(
    reference: pd.DataFrame, size: int, gate: bool
) -> None:
    if gate:
        thresholds = DriftThresholds(alpha=ALPHA)
    else:  # effect thresholds 0: the decision rests on the corrected p-values alone
        thresholds = DriftThresholds(alpha=ALPHA, psi=0, wasserstein=0, jensen_shannon=0)
    detector = DriftDetector(thresholds).fit(reference, profile_frame(reference))
    rng = np.random.default_rng(size + gate)
    alarms = {"numeric": 0, "categorical": 0, "any": 0}
    for _ in range(WINDOWS):
        report = detector.compare(_draw(rng, size))
        assert report.tested_count == 7
        kinds = {f.kind for f in report.features if f.drifted}
        alarms["any"] += bool(kinds)
        for kind in kinds:
            alarms[kind] += 1
    assert alarms["any"] <= _bound(WINDOWS), alarms
    assert alarms["numeric"] <= _bound(WINDOWS), alarms
    assert alarms["categorical"] <= _bound(WINDOWS), alarms
    if gate:  # on the training distribution itself a large shift is rarer still
        assert alarms["any"] <= _bound(WINDOWS) // 4, alarms


def test_uncorrected_tests_would_alarm_far_more_often(reference: pd.DataFrame) -> None:
    """The control above is real: without a correction the same windows alarm ~30% of the time."""
    thresholds = DriftThresholds(alpha=ALPHA, correction="none", psi=0, wasserstein=0)
    detector = DriftDetector(thresholds.model_copy(update={"jensen_shannon": 0.0}))
    detector.fit(reference)
    rng = np.random.default_rng(7)
    alarms = sum(detector.compare(_draw(rng, 200)).drifted_count > 0 for _ in range(WINDOWS))
    assert alarms > _bound(WINDOWS)
