"""The categorical test holds its level at every window size, with 400 levels or 5.

A/A simulation: each size draws ``REFERENCES`` independent references of ``REFERENCE_ROWS`` rows
(a fresh training draw each, as many registered versions would) and one live window per
reference from the same distribution, and counts the features whose test has p < ``ALPHA``
(no correction, no effect gate: the test alone). Ten independent columns share one frame, so
one ``compare`` runs ten tests, 600 per size.

The rate must stay at or under alpha within sampling error: at most the 99.9% quantile of
Binomial(600, 0.05) (43 tests, 7.2%), so a valid test fails about once in a thousand seeds.
Before sparse cells were pooled, the 400-level feature alarmed in 29% of 100-row windows and
11% of 1,000-row ones, and every category unseen in the reference sample counted as evidence.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest
from scipy import stats

from ferryman.config import DriftThresholds
from ferryman.monitoring.drift.detector import DriftDetector

ALPHA = 0.05
REFERENCE_ROWS = 10_000
COLUMNS = 10
REFERENCES = 60
TEST_ONLY = DriftThresholds(alpha=ALPHA, correction="none", psi=0, wasserstein=0, jensen_shannon=0)

Shares = npt.NDArray[np.float64]
CITIES = np.array([f"city-{i:03d}" for i in range(400)], dtype=object)
ZIPF = 1.0 / np.arange(1, 401) ** 1.1
ZIPF /= ZIPF.sum()  # top share 15%; 150-odd cities under 0.1%: sparse and unseen cells
PLANS = np.array(["basic", "plus", "pro", "team", "enterprise"], dtype=object)
PLAN_SHARES = np.array([0.45, 0.25, 0.15, 0.1, 0.05])
LEVELS = {"zipf-400": (CITIES, ZIPF), "categorical-5": (PLANS, PLAN_SHARES)}


def _frame(
    levels: npt.NDArray[np.object_], p: Shares, rng: np.random.Generator, n: int
) -> pd.DataFrame:
    # the tests ignore the order of rows, so each column is its categories repeated
    return pd.DataFrame({f"x{j}": np.repeat(levels, rng.multinomial(n, p)) for j in range(COLUMNS)})


def _detections(feature: str, live_shares: Shares, size: int, references: int, seed: int) -> int:
    levels, shares = LEVELS[feature]
    rng = np.random.default_rng(seed)
    count = 0
    for _ in range(references):
        detector = DriftDetector(TEST_ONLY).fit(_frame(levels, shares, rng, REFERENCE_ROWS))
        report = detector.compare(_frame(levels, live_shares, rng, size))
        assert report.tested_count == COLUMNS, report.skipped
        count += sum(f.p_value < ALPHA for f in report.features)
    return count


@pytest.mark.parametrize("size", [100, 1000, 10_000, pytest.param(20_000, marks=pytest.mark.slow)])
@pytest.mark.parametrize("feature", list(LEVELS))
def test_categorical_false_alarms_stay_at_or_below_alpha(feature: str, size: int) -> None:
    tests = REFERENCES * COLUMNS
    alarms = _detections(feature, LEVELS[feature][1], size, REFERENCES, seed=size + len(feature))
    assert alarms <= stats.binom.ppf(0.999, tests, ALPHA), (feature, size, alarms / tests)


def _moved(shares: Shares, into: int) -> Shares:
    """Five points of share moved into one category from all the others, pro rata."""
    out = shares * (1 - (shares[into] + 0.05)) / (1 - shares[into])
    out[into] = shares[into] + 0.05
    return out


@pytest.mark.parametrize(
    ("feature", "into", "size", "power"),
    [
        ("categorical-5", 3, 1000, 0.9),
        ("zipf-400", 5, 2000, 0.9),
        ("zipf-400", 0, 10_000, 0.8),
    ],
    ids=[
        "5-level-team-10-to-15pct-at-1000",
        "400-level-6th-3-to-8pct-at-2000",
        "400-level-top-15-to-20pct-at-10000",
    ],
)
def test_a_five_point_shift_of_one_category_is_detected(
    feature: str, into: int, size: int, power: float
) -> None:
    moved = _moved(LEVELS[feature][1], into)
    tests = 10 * COLUMNS
    found = _detections(feature, moved, size, 10, seed=7)
    assert found >= power * tests, (feature, size, found / tests)
