"""Drift statistics against scipy, the decision rule, skips and the JSON shape."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from ferryman.config import DriftThresholds, FeatureThresholds
from ferryman.errors import InvalidArgumentError
from ferryman.monitoring.drift.detector import (
    DriftDetector,
    NotFittedError,
    adjust_pvalues,
    chi2_homogeneity,
    jensen_shannon_distance,
    population_stability_index,
)
from ferryman.monitoring.drift.stats import ks_and_wasserstein, ks_pvalue, pool_sparse_cells
from ferryman.schema.profiling import profile_frame


def _ks(ref: np.ndarray, live: np.ndarray) -> tuple[float, float, float]:
    a, b = np.sort(ref), np.sort(live)
    raw, distance = ks_and_wasserstein(a, b)
    statistic, p_value = ks_pvalue(raw, a, b)
    return statistic, p_value, distance


def _assert_p_close(p: float, expected: float) -> None:
    # 1e-9 absolute everywhere, and 1e-9 relative too wherever scipy's p is not astronomically small
    assert abs(p - expected) <= 1e-9
    if expected >= 1e-30:
        assert p == pytest.approx(expected, rel=1e-9, abs=0)


@pytest.mark.parametrize(
    ("n_ref", "n_live"),
    [(1, 1), (3, 8), (20, 20), (37, 100), (500, 1200), (2000, 2000), (10_000, 300),
     (10_000, 10_000), (10_000, 10_001), (10_000, 100_000)],
)  # fmt: skip
@pytest.mark.parametrize("data", ["continuous", "shifted", "integers"])
def test_ks_and_wasserstein_match_scipy(n_ref: int, n_live: int, data: str) -> None:
    rng = np.random.default_rng(n_ref * 7 + n_live)
    if data == "integers":  # heavy ties, and values shared across the two samples
        ref = rng.integers(0, 6, n_ref).astype(float)
        live = rng.integers(1, 7, n_live).astype(float)
    else:
        ref = rng.normal(size=n_ref)
        live = rng.normal(0.15 if data == "shifted" else 0.0, 1.0, n_live)
    statistic, p_value, distance = _ks(ref, live)
    expected = stats.ks_2samp(ref, live)
    assert statistic == pytest.approx(expected.statistic, abs=1e-9)
    _assert_p_close(p_value, expected.pvalue)
    assert distance == pytest.approx(stats.wasserstein_distance(ref, live), rel=1e-9, abs=1e-12)


def test_ks_identical_and_disjoint_samples() -> None:
    same = np.arange(50.0)
    assert _ks(same, same)[:2] == (0.0, 1.0)
    statistic, p_value, _ = _ks(np.arange(30.0), np.arange(100.0, 140.0))
    expected = stats.ks_2samp(np.arange(30.0), np.arange(100.0, 140.0))
    assert statistic == 1.0
    _assert_p_close(p_value, expected.pvalue)


def test_jensen_shannon_matches_scipy() -> None:
    rng = np.random.default_rng(3)
    for _ in range(20):
        p, q = rng.random(7), rng.random(7)
        q[rng.integers(7)] = 0.0
        assert jensen_shannon_distance(p, q) == pytest.approx(jensenshannon(p, q), abs=1e-12)
    assert jensen_shannon_distance([1, 0], [0, 1]) == pytest.approx(np.sqrt(np.log(2)))


@pytest.mark.parametrize(
    ("ref", "live"),
    [([30, 20, 50], [10, 25, 15]), ([40, 60], [55, 45]), ([12, 0, 7, 3], [9, 0, 2, 11])],
)
def test_chi2_is_the_homogeneity_test_of_chi2_contingency(ref: list[int], live: list[int]) -> None:
    table = np.array([ref, live])
    expected = stats.chi2_contingency(table[:, table.sum(axis=0) > 0], correction=False)
    result = chi2_homogeneity(ref, live, min_expected=0)
    assert result == pytest.approx((expected.statistic, expected.pvalue))


def test_chi2_with_one_category_has_nothing_to_test() -> None:
    assert chi2_homogeneity([10, 0], [5, 0]) == (0.0, 1.0)


def test_chi2_pools_sparse_cells_by_their_combined_counts() -> None:
    # 22 rows a side: a cell needs a combined count of 5 * 44 / 22 = 10; the 7 is pooled with
    # the 14 (the pool alone would still be sparse), leaving 21 | 21
    expected = stats.chi2_contingency(np.array([[12, 10], [9, 13]]), correction=False)
    assert chi2_homogeneity([12, 0, 7, 3], [9, 0, 2, 11]) == pytest.approx(
        (expected.statistic, expected.pvalue)
    )
    cells, ref, live = pool_sparse_cells([12, 0, 7, 3], [9, 0, 2, 11])
    assert cells.tolist() == [1, -1, 0, 0]
    assert (ref.tolist(), live.tolist()) == ([10, 12], [13, 9])
    # ordered values: neighbours merge from the lowest up, a sparse top joins the last cell
    cells, ref, live = pool_sparse_cells([3, 4, 9, 8, 1, 1], [2, 5, 8, 9, 1, 0], ordered=True)
    assert cells.tolist() == [0, 0, 1, 2, 2, 2]
    assert (ref.tolist(), live.tolist()) == ([7, 9, 10], [7, 8, 10])


def test_psi_worked_example_of_the_docs() -> None:
    # docs/drift.md, "A worked example": four reference quartiles, one live window
    reference = [0.25, 0.25, 0.25, 0.25]
    live = [0.10, 0.20, 0.30, 0.40]
    assert population_stability_index(reference, live) == pytest.approx(0.228217, abs=1e-6)
    # an empty live bin is floored at 0.0001: (0.0001 - 0.25) * ln(0.0001 / 0.25) = 1.955229
    empty = population_stability_index(reference, [0.0, 0.25, 0.35, 0.40])
    terms = 1.955229 + 0.0 + 0.1 * np.log(0.35 / 0.25) + 0.15 * np.log(0.40 / 0.25)
    assert empty == pytest.approx(terms, abs=1e-6)
    assert population_stability_index([5, 5], [50, 50]) == 0.0  # counts are normalised
    with pytest.raises(InvalidArgumentError, match="same bins"):
        population_stability_index([0.5, 0.5], [1.0])


def test_holm_and_bonferroni_adjustments() -> None:
    p = [0.01, 0.04, 0.03, 0.005]
    # Holm: sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 -> 0.02, 0.03, 0.06, 0.04 -> running max
    assert adjust_pvalues(p, "holm") == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert adjust_pvalues(p, "bonferroni") == pytest.approx([0.04, 0.16, 0.12, 0.02])
    assert adjust_pvalues(p, "none") == pytest.approx(p)
    assert adjust_pvalues([0.5, 0.9], "bonferroni") == pytest.approx([1.0, 1.0])
    assert adjust_pvalues([], "holm").size == 0
    with pytest.raises(InvalidArgumentError, match="holm, bonferroni, none"):
        adjust_pvalues(p, "bh")


def _training(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "x1": rng.normal(10, 2, n),
            "x2": rng.normal(0, 1, n),
            "x3": rng.exponential(1.0, n),
            "plan": rng.choice(["basic", "pro", "team"], n, p=[0.6, 0.3, 0.1]),
            "region": rng.choice(["north", "south", "east", "west"], n),
        }
    )


@pytest.fixture(scope="module")
def fitted() -> DriftDetector:
    train = _training(10_000, 0)
    return DriftDetector().fit(train, profile_frame(train))


def test_report_statistics_match_scipy_on_the_window(fitted: DriftDetector) -> None:
    train = _training(10_000, 0)
    live = _training(3000, 1)
    live.loc[::7, "x2"] = np.nan
    report = fitted.compare(live)
    x2 = next(f for f in report.features if f.feature == "x2")
    values = live["x2"].dropna().to_numpy()
    expected = stats.ks_2samp(train["x2"], values)
    assert (x2.live_rows, x2.live_nulls) == (values.size, 3000 - values.size)
    assert x2.ks_statistic == pytest.approx(expected.statistic, abs=1e-9)
    _assert_p_close(x2.ks_pvalue or 0.0, expected.pvalue)
    w = stats.wasserstein_distance(train["x2"], values) / train["x2"].std()
    assert x2.wasserstein == pytest.approx(w, rel=1e-9)
    plan = next(f for f in report.features if f.feature == "plan")
    ref_counts = train["plan"].value_counts()
    live_counts = live["plan"].value_counts().reindex(ref_counts.index)
    table = np.array([ref_counts.to_numpy(), live_counts.to_numpy()])
    assert plan.chi2_pvalue == pytest.approx(
        stats.chi2_contingency(table, correction=False).pvalue, rel=1e-9
    )
    assert plan.jensen_shannon == pytest.approx(jensenshannon(table[0], table[1]), abs=1e-12)


def test_a_frequent_unseen_category_is_a_cell_of_its_own(fitted: DriftDetector) -> None:
    live = _training(2000, 2)
    live.loc[:199, "plan"] = "enterprise"  # 10% of the window is a category never seen
    report = fitted.compare(live)
    plan = next(f for f in report.features if f.feature == "plan")
    assert plan.unseen_share == pytest.approx(0.1)
    at = plan.bins.index("enterprise")
    assert plan.live_shares[at] == pytest.approx(0.1)
    assert plan.reference_shares[at] == 0.0
    assert plan.drifted
    assert report.drifted == ["plan"]


def test_real_shifts_drift_and_only_on_the_shifted_features(fitted: DriftDetector) -> None:
    live = _training(5000, 3)
    rng = np.random.default_rng(4)
    live["x1"] = live["x1"] + 0.5 * 2  # +0.5 std
    live["region"] = rng.choice(["north", "south", "east", "west"], 5000, p=[0.4, 0.3, 0.2, 0.1])
    report = fitted.compare(live)
    assert report.drifted == ["x1", "region"]
    assert (report.drifted_count, report.tested_count) == (2, 5)
    assert report.share == pytest.approx(0.4)
    x1 = next(f for f in report.features if f.feature == "x1")
    assert x1.reason.startswith("PSI")
    assert "(Holm-adjusted) < 0.05" in x1.reason
    assert x1.wasserstein == pytest.approx(0.5, abs=0.05)


def test_tiny_shift_on_a_huge_window_is_significant_but_not_drift() -> None:
    rng = np.random.default_rng(5)
    train = pd.DataFrame({"x": rng.normal(size=10_000)})
    live = pd.DataFrame({"x": rng.normal(0.08, 1.0, 100_000)})
    record = DriftDetector().fit(train).compare(live).features[0]
    assert record.p_adjusted < 1e-3  # significant at any usual level
    assert record.psi < 0.1
    assert (record.wasserstein or 0.0) < 0.1
    assert not record.drifted
    assert "too small to matter" in record.reason


def test_per_feature_thresholds_and_ignore() -> None:
    train = _training(4000, 6)
    live = _training(4000, 7)
    live["x1"] = live["x1"] + 1.0
    live["x2"] = live["x2"] + 0.5
    detector = DriftDetector(
        features={
            "x1": FeatureThresholds(psi=5.0, wasserstein=5.0),
            "x2": FeatureThresholds(ignore=True),
        }
    )
    report = detector.fit(train).compare(live)
    assert report.drifted == []
    assert "x2" not in [f.feature for f in report.features]
    assert "x2" not in report.skipped
    x1 = next(f for f in report.features if f.feature == "x1")
    assert x1.effect_threshold == 5.0
    assert report.thresholds["features"]["x2"] == {"ignore": True}


def test_corrections_change_the_adjusted_p_value() -> None:
    train = _training(3000, 8)
    live = _training(500, 9)
    none = DriftDetector(DriftThresholds(correction="none")).fit(train).compare(live)
    bonf = DriftDetector(DriftThresholds(correction="bonferroni")).fit(train).compare(live)
    for a, b in zip(none.features, bonf.features, strict=True):
        assert a.p_adjusted == a.p_value
        assert b.p_adjusted == pytest.approx(min(1.0, 5 * b.p_value))
    assert "adjusted" not in none.features[0].reason


def test_skips_are_reasons_not_errors(fitted: DriftDetector) -> None:
    live = _training(1000, 10).drop(columns=["x3"])
    live["x1"] = np.nan
    live.loc[50:, "x2"] = np.nan  # 50 values left, below min_rows=100
    live["request_id"] = range(1000)
    report = fitted.compare(live)
    assert set(report.skipped) == {"x1", "x2", "x3", "request_id"}
    assert "all 1,000 live values are null" in report.skipped["x1"]
    assert "only 50 non-null live values" in report.skipped["x2"]
    assert report.skipped["x3"] == "missing from the live data"
    assert "not in the reference" in report.skipped["request_id"]
    assert report.tested_count == 2
    assert report.drifted == []


def test_profile_column_missing_from_the_sample_is_skipped() -> None:
    train = _training(1000, 11)
    detector = DriftDetector().fit(train.drop(columns=["x1"]), profile_frame(train))
    assert "not in the reference sample" in detector.compare(train).skipped["x1"]


def test_works_from_the_sample_alone_with_kinds() -> None:
    rng = np.random.default_rng(12)
    outputs = pd.DataFrame({"score": rng.random(2000), "label": rng.integers(0, 3, 2000)})
    detector = DriftDetector().fit(outputs, kinds={"label": "categorical"})
    report = detector.compare(outputs.iloc[:800])
    assert [(f.feature, f.kind) for f in report.features] == [
        ("score", "numeric"),
        ("label", "categorical"),
    ]
    assert len(report.features[0].bins) == 10
    assert report.features[0].reference_shares == pytest.approx([0.1] * 10)
    assert report.drifted == []
    text = pd.DataFrame({"word": ["a", "b"] * 100})
    wrong = DriftDetector().fit(text, kinds={"word": "numeric"}).compare(text)
    assert "pass kinds={'word': 'categorical'}" in wrong.skipped["word"]
    with pytest.raises(InvalidArgumentError, match="numeric, categorical"):
        DriftDetector().fit(outputs, kinds={"label": "ordinal"})


def test_compare_before_fit_says_what_to_do() -> None:
    with pytest.raises(NotFittedError, match=r"call fit\(reference_sample"):
        DriftDetector().compare(pd.DataFrame({"x": [1.0]}))


def test_constant_datetime_and_boolean_columns() -> None:
    rng = np.random.default_rng(13)
    stamps = pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 86_400, 500), "s")
    train = pd.DataFrame({"c": 3.0, "t": stamps, "b": rng.random(500) < 0.3})
    live = pd.DataFrame({"c": 3.0, "t": stamps + pd.Timedelta(days=1), "b": rng.random(500) < 0.3})
    report = DriftDetector().fit(train, profile_frame(train)).compare(live)
    by_name = {f.feature: f for f in report.features}
    assert by_name["c"].psi == 0.0
    assert by_name["c"].wasserstein == 0.0
    assert by_name["c"].bins == ["< 3", "= 3", "> 3"]
    assert by_name["t"].drifted
    assert by_name["t"].kind == "numeric"
    assert by_name["b"].kind == "categorical"
    assert not by_name["b"].drifted
    moved = DriftDetector().fit(train).compare(live.assign(c=4.0))
    assert moved.features[0].wasserstein == pytest.approx(1 / 3)  # normalised by |3| when std 0


def test_to_dict_is_json_safe_and_has_the_agreed_keys(fitted: DriftDetector) -> None:
    report = fitted.compare(_training(600, 14)).to_dict()
    text = json.dumps(report, allow_nan=False)
    assert json.loads(text)["tested_count"] == 5
    for record in report["features"]:
        assert {"feature", "kind", "psi", "drifted", "reason"} <= set(record)
        key = "ks_pvalue" if record["kind"] == "numeric" else "chi2_pvalue"
        assert isinstance(record[key], float)
    assert report["thresholds"]["alpha"] == 0.05
    assert report["thresholds"]["correction"] == "holm"


def test_a_window_large_next_to_the_reference_is_warned_about() -> None:
    train = _training(1_000, 0)
    detector = DriftDetector(DriftThresholds(min_rows=10)).fit(train)

    small = detector.compare(_training(100, 1))  # a tenth of the reference: fine
    large = detector.compare(_training(101, 2))

    assert small.warnings == []
    [warning] = large.warnings
    assert "101 rows" in warning
    assert "1,000" in warning
    assert "sample_rows" in warning
    assert large.to_dict()["warnings"] == [warning]


def test_the_drift_package_answers_the_names_it_had_before_it_was_a_package() -> None:
    from ferryman.monitoring import drift
    from ferryman.monitoring.drift import detector

    for name in ("DriftDetector", "DriftReport", "FeatureDrift"):
        assert getattr(drift, name) is getattr(detector, name)
    with pytest.raises(AttributeError, match="no attribute 'Detector'"):
        _ = drift.Detector  # type: ignore[attr-defined]
