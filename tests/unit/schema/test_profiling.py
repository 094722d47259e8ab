"""profile_frame and sample_rows: what the training data looked like, and a fair sample of it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ferryman.core.profile import DataProfile
from ferryman.schema import profile_frame, sample_rows
from ferryman.schema.profiling import HISTOGRAM_BINS, QUANTILES, TOP_CATEGORIES


@pytest.fixture
def numbers() -> np.ndarray:
    return np.random.default_rng(7).normal(50.0, 10.0, size=1000)


def test_profile_counts_rows_and_keeps_the_target(numbers: np.ndarray) -> None:
    frame = pd.DataFrame({"x": numbers, "y": (numbers > 50).astype(int)})

    profile = profile_frame(frame, target="y")

    assert isinstance(profile, DataProfile)
    assert profile.rows == 1000
    assert profile.target == "y"
    assert list(profile.columns) == ["x", "y"]
    assert profile.columns["x"].kind == "float"
    assert profile.columns["y"].kind == "integer"


def test_numeric_quantiles_match_numpy(numbers: np.ndarray) -> None:
    summary = profile_frame(pd.DataFrame({"x": numbers})).columns["x"].numeric

    assert summary is not None
    expected = np.quantile(numbers, QUANTILES)
    assert list(summary.quantiles) == [f"{q:g}" for q in QUANTILES]
    np.testing.assert_allclose(list(summary.quantiles.values()), expected)
    assert summary.quantiles["0.5"] == pytest.approx(float(np.median(numbers)))
    assert summary.mean == pytest.approx(float(numbers.mean()))
    assert summary.std == pytest.approx(float(numbers.std(ddof=1)))
    assert summary.minimum == float(numbers.min())
    assert summary.maximum == float(numbers.max())


def test_histogram_bins_are_quantile_based(numbers: np.ndarray) -> None:
    summary = profile_frame(pd.DataFrame({"x": numbers})).columns["x"].numeric

    assert summary is not None
    expected_edges = np.quantile(numbers, np.linspace(0.0, 1.0, HISTOGRAM_BINS + 1))
    np.testing.assert_allclose(summary.bin_edges, expected_edges)
    assert len(summary.bin_counts) == HISTOGRAM_BINS
    # Quantile bins hold (nearly) the same number of values, unlike equal-width ones.
    assert max(summary.bin_counts) - min(summary.bin_counts) <= 2
    assert sum(summary.bin_counts) == 1000


def test_nulls_are_counted_and_left_out_of_the_histogram(numbers: np.ndarray) -> None:
    values = numbers.copy()
    values[::10] = np.nan
    column = profile_frame(pd.DataFrame({"x": values})).columns["x"]

    assert column.count == 1000
    assert column.nulls == 100
    assert column.numeric is not None
    assert sum(column.numeric.bin_counts) == column.count - column.nulls
    np.testing.assert_allclose(
        column.numeric.quantiles["0.5"], np.nanquantile(values, 0.5), rtol=1e-12
    )


def test_a_column_with_nulls_is_summarised_like_the_same_values_without(
    numbers: np.ndarray,
) -> None:
    frame = pd.DataFrame({"clean": [*numbers, 0.0], "gappy": [*numbers, np.nan]})

    profile = profile_frame(frame)
    clean = profile_frame(pd.DataFrame({"x": numbers})).columns["x"].numeric
    gappy = profile.columns["gappy"].numeric

    assert clean is not None
    assert gappy is not None
    assert profile.columns["gappy"].nulls == 1
    assert gappy.quantiles == pytest.approx(clean.quantiles)
    assert gappy.bin_edges == pytest.approx(clean.bin_edges)
    assert gappy.bin_counts == clean.bin_counts
    assert gappy.mean == pytest.approx(clean.mean)
    assert gappy.std == pytest.approx(clean.std)


def test_integer_column_with_repeated_values() -> None:
    values = np.random.default_rng(3).integers(0, 5, size=300)

    summary = profile_frame(pd.DataFrame({"n": values})).columns["n"].numeric

    assert summary is not None
    assert summary.bin_edges == sorted(set(summary.bin_edges))
    assert sum(summary.bin_counts) == 300
    assert summary.quantiles["0"] == values.min()
    assert summary.quantiles["1"] == values.max()


def test_constant_column_does_not_crash() -> None:
    column = profile_frame(pd.DataFrame({"c": [4.5] * 20})).columns["c"]

    assert column.numeric is not None
    assert column.numeric.minimum == column.numeric.maximum == 4.5
    assert column.numeric.std == 0.0
    assert column.numeric.bin_counts == [20]
    assert column.numeric.bin_edges == [4.5, 4.5]


def test_all_null_numeric_column_does_not_crash() -> None:
    column = profile_frame(pd.DataFrame({"n": [np.nan] * 5})).columns["n"]

    assert column.nulls == 5
    assert column.numeric is not None
    assert column.numeric.mean is None
    assert column.numeric.bin_counts == []


def test_all_null_text_column_does_not_crash() -> None:
    column = profile_frame(pd.DataFrame({"t": pd.Series([None] * 4, dtype=object)})).columns["t"]

    assert column.nulls == 4
    assert column.categorical is not None
    assert column.categorical.frequencies == {}
    assert column.categorical.distinct == 0


def test_a_single_value_has_zero_spread() -> None:
    column = profile_frame(pd.DataFrame({"x": [2.0]})).columns["x"]

    assert column.numeric is not None
    assert column.numeric.std == 0.0


def test_categorical_frequencies() -> None:
    frame = pd.DataFrame({"city": ["Oslo", "Oslo", "Bergen", None, "Oslo", "Tromsø"]})

    column = profile_frame(frame).columns["city"]

    assert column.kind == "string"
    assert column.nulls == 1
    assert column.numeric is None
    assert column.categorical is not None
    assert column.categorical.frequencies == {"Oslo": 3, "Bergen": 1, "Tromsø": 1}
    assert column.categorical.other_count == 0
    assert column.categorical.distinct == 3


def test_only_the_top_categories_are_kept_and_the_rest_summed() -> None:
    # Category k appears k + 1 times, so the most frequent are the highest k.
    values = [f"v{k:03d}" for k in range(150) for _ in range(k + 1)]
    column = profile_frame(pd.DataFrame({"v": values})).columns["v"]

    summary = column.categorical
    assert summary is not None
    assert len(summary.frequencies) == TOP_CATEGORIES
    assert set(summary.frequencies) == {f"v{k:03d}" for k in range(50, 150)}
    assert summary.frequencies["v149"] == 150
    assert summary.other_count == sum(range(1, 51))
    assert summary.distinct == 150
    assert sum(summary.frequencies.values()) + summary.other_count == len(values)


def test_category_and_boolean_columns_are_profiled_as_categorical() -> None:
    frame = pd.DataFrame(
        {"plan": pd.Categorical(["a", "b", "a"]), "flag": [True, False, True]},
    )

    profile = profile_frame(frame)

    assert profile.columns["plan"].categorical is not None
    assert profile.columns["plan"].categorical.frequencies == {"a": 2, "b": 1}
    assert profile.columns["flag"].categorical is not None
    assert profile.columns["flag"].categorical.frequencies == {"True": 2, "False": 1}


@pytest.mark.parametrize("unit", ["ns", "us"])
def test_datetime_summary_is_in_epoch_seconds(unit: str) -> None:
    stamps = pd.Series(pd.to_datetime(["2024-01-01", "2024-01-03", None])).astype(
        f"datetime64[{unit}]"
    )

    column = profile_frame(pd.DataFrame({"at": stamps})).columns["at"]

    assert column.nulls == 1
    assert column.numeric is not None
    assert column.numeric.minimum == pd.Timestamp("2024-01-01").timestamp()
    assert column.numeric.maximum == pd.Timestamp("2024-01-03").timestamp()


def test_timezone_aware_datetimes_are_counted_from_utc() -> None:
    stamps = pd.Series(pd.to_datetime(["2024-01-01 01:00", "2024-01-02 01:00"])).dt.tz_localize(
        "Europe/Oslo"
    )

    summary = profile_frame(pd.DataFrame({"at": stamps})).columns["at"].numeric

    assert summary is not None
    assert summary.minimum == pd.Timestamp("2024-01-01 00:00", tz="UTC").timestamp()


def test_profile_round_trips_through_a_dict(numbers: np.ndarray) -> None:
    frame = pd.DataFrame({"x": numbers, "c": ["a", "b"] * 500})
    profile = profile_frame(frame)

    assert DataProfile.from_dict(profile.to_dict()) == profile


@pytest.fixture
def rows() -> pd.DataFrame:
    return pd.DataFrame({"id": np.arange(100), "v": np.arange(100) * 2.0}, index=range(500, 600))


def test_sample_under_the_cap_keeps_every_row(rows: pd.DataFrame) -> None:
    sample = sample_rows(rows, cap=100, seed=1)

    assert sample["id"].tolist() == list(range(100))
    assert list(sample.index) == list(range(100))


def test_sample_over_the_cap_has_exactly_cap_distinct_rows(rows: pd.DataFrame) -> None:
    sample = sample_rows(rows, cap=30, seed=1)

    assert len(sample) == 30
    assert sample["id"].is_unique
    assert set(sample["id"]) <= set(rows["id"])
    assert (sample["v"] == sample["id"] * 2.0).all()
    assert list(sample.index) == list(range(30))


def test_sample_is_reproducible_for_the_same_seed(rows: pd.DataFrame) -> None:
    first = sample_rows(rows, cap=10, seed=42)
    again = sample_rows(rows, cap=10, seed=42)
    other = sample_rows(rows, cap=10, seed=43)

    pd.testing.assert_frame_equal(first, again)
    assert first["id"].tolist() != other["id"].tolist()


def test_sample_is_uniform_over_rows() -> None:
    frame = pd.DataFrame({"id": np.arange(10)})
    seen = np.zeros(10)
    draws = 2000
    for seed in range(draws):
        seen[sample_rows(frame, cap=3, seed=seed)["id"].to_numpy()] += 1

    # Each row is in a sample with probability 3/10: 600 of 2000 draws, sd about 20.
    assert np.all(np.abs(seen - draws * 0.3) < 100), seen
