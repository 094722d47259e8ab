"""Numeric features with few distinct values get a test fit for ties, at its level and with power.

KS's p-value assumes no ties: on counts and small integer codes it alarmed in 0.15-1.1% of A/A
windows instead of 5%, and missed real shifts. A numeric feature whose reference has at most
``DISCRETE_MAX_VALUES`` distinct values is now tested with chi-squared on its value counts.

A/A simulation as in ``test_drift_sparse_categories.py``: per window size, 60 independent
references of 10,000 rows x 10 independent columns, one live window each (600 tests); the rate
of p < 0.05 must be at most the 99.9% quantile of Binomial(600, 0.05), and, from 1,000 rows up,
clearly above alpha / 4 (an exact binomial test at the 0.1% level; a test at exactly 5% fails
it with chance 0.6%), which the old KS, at 0.15-1.1%, was not.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest
from scipy import stats

from ferryman.config import DriftThresholds
from ferryman.monitoring.drift.detector import DriftDetector
from ferryman.monitoring.drift.reference import DISCRETE_MAX_VALUES

ALPHA = 0.05
REFERENCE_ROWS = 10_000
COLUMNS = 10
REFERENCES = 60
TEST_ONLY = DriftThresholds(alpha=ALPHA, correction="none", psi=0, wasserstein=0, jensen_shannon=0)

Drawer = Callable[[np.random.Generator, int], npt.NDArray[np.int64]]
FEATURES: dict[str, Drawer] = {
    "integer-8": lambda rng, n: rng.binomial(7, 0.3, n),  # 0-7, the top values rare
    "poisson-3": lambda rng, n: rng.poisson(3.0, n),
}


def _frame(draw: Drawer, rng: np.random.Generator, n: int) -> pd.DataFrame:
    return pd.DataFrame({f"x{j}": draw(rng, n) for j in range(COLUMNS)})


def _detections(reference: Drawer, live: Drawer, size: int, references: int, seed: int) -> int:
    rng = np.random.default_rng(seed)
    count = 0
    for _ in range(references):
        detector = DriftDetector(TEST_ONLY).fit(_frame(reference, rng, REFERENCE_ROWS))
        report = detector.compare(_frame(live, rng, size))
        assert report.tested_count == COLUMNS, report.skipped
        count += sum(f.p_value < ALPHA for f in report.features)
    return count


@pytest.mark.parametrize("size", [100, 1000, 10_000, pytest.param(20_000, marks=pytest.mark.slow)])
@pytest.mark.parametrize("feature", list(FEATURES))
def test_discrete_false_alarms_are_at_alpha_not_far_below(feature: str, size: int) -> None:
    tests = REFERENCES * COLUMNS
    draw = FEATURES[feature]
    alarms = _detections(draw, draw, size, REFERENCES, seed=size + len(feature))
    assert alarms <= stats.binom.ppf(0.999, tests, ALPHA), (feature, size, alarms / tests)
    if size >= 1000:
        above = stats.binomtest(alarms, tests, ALPHA / 4, alternative="greater").pvalue
        assert above < 0.001, (feature, size, alarms / tests)


def test_a_poisson_mean_shift_of_0_3_is_detected_at_1000_rows() -> None:
    tests = 10 * COLUMNS
    found = _detections(FEATURES["poisson-3"], lambda rng, n: rng.poisson(3.3, n), 1000, 10, 8)
    assert found >= 0.9 * tests, found / tests


def test_many_distinct_values_keep_ks() -> None:
    rng = np.random.default_rng(9)
    reference = pd.DataFrame(
        {
            "few": rng.integers(0, DISCRETE_MAX_VALUES, 5000),
            "many": rng.integers(0, DISCRETE_MAX_VALUES + 1, 5000),
        }
    )
    report = DriftDetector().fit(reference).compare(reference.iloc[:1000])
    few, many = report.features
    assert few.ks_pvalue is None
    assert few.chi2_pvalue == few.p_value
    assert many.chi2_pvalue is None
    assert many.ks_pvalue == many.p_value


def test_the_reason_names_the_test_that_was_run() -> None:
    rng = np.random.default_rng(3)
    reference = pd.DataFrame({"n": rng.poisson(3.0, 5_000), "x": rng.normal(size=5_000)})
    live = pd.DataFrame({"n": rng.poisson(4.5, 1_000), "x": rng.normal(1.0, size=1_000)})
    report = DriftDetector().fit(reference).compare(live)
    reasons = {f.feature: f.reason for f in report.features}
    assert "chi-squared p=" in reasons["n"]
    assert "KS" not in reasons["n"]
    assert "KS p=" in reasons["x"]
