"""RowCodec: the array fast path accepts exactly what full validation accepts, with the same
values, and every refusal lists the problems ``validate`` names (kinds, rows, columns)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline

from ferryman.errors import InvalidInputError
from ferryman.registry import LoadedModel, Registry
from ferryman.schema import validate
from ferryman.serving.codec import ModelInput, RowCodec

INT64 = (-(2**63), 2**63 - 1)
FIRST = "mean radius"
SECOND = "mean texture"
PROPERTY = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture
def cancer(registry: Registry, cancer_frame: pd.DataFrame, cancer_model: Pipeline) -> LoadedModel:
    registry.register(cancer_model, "cancer", train_data=cancer_frame, target="target")
    return registry.load("cancer/1")


@pytest.fixture
def cancer_records(cancer_frame: pd.DataFrame) -> list[dict[str, Any]]:
    features = cancer_frame.drop(columns="target")
    return [{str(k): float(v) for k, v in r.items()} for r in features.to_dict("records")]


def mixed_frame() -> pd.DataFrame:
    """Every numeric kind: int64, uint64, a float column with nulls, a float without."""
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(
        {
            "count": rng.integers(-50, 50, 200),
            "level": rng.integers(0, 100, 200).astype("uint64"),
            "ratio": rng.normal(size=200),
            "score": rng.normal(size=200),
        }
    )
    frame.loc[[3, 40, 77], "ratio"] = np.nan
    frame["label"] = (frame["count"] + 10 * frame["score"] > 0).astype(int)
    return frame


@pytest.fixture
def mixed(registry: Registry) -> LoadedModel:
    frame = mixed_frame()
    model = HistGradientBoostingClassifier(max_iter=5).fit(frame.drop(columns="label"), frame.label)
    # the boosting copes with nulls; refused here, so that both paths must name them
    refuse = {"*": {"unseen_nulls": "refuse"}}
    registry.register(model, "mixed", train_data=frame, target="label", tolerate=refuse)
    registry.register(model, "mixed", train_data=frame, target="label")
    return registry.load("mixed/1")


def test_accepted_nulls_take_the_fast_path_and_are_counted(
    registry: Registry, mixed: LoadedModel, mixed_records: list[dict[str, Any]]
) -> None:
    tolerant = registry.load("mixed/2")
    codec = RowCodec(tolerant, use_arrays=True)
    rows = np.array([[r[c] for c in codec.columns] for r in mixed_records[:3]], dtype=float)
    rows[0, 0] = rows[2, 0] = rows[1, 3] = rows[0, 2] = np.nan
    item = codec.encode_array(rows)
    assert item.rows is not None  # no detour through DataFrames
    # ratio had nulls in training: its null is no news and is not counted
    assert item.accepted == {("count", "null"): 2, ("score", "null"): 1}
    records = [dict(r) for r in mixed_records[:2]]
    records[1]["level"] = None
    slow = codec.encode(records)
    assert slow.frame is not None
    assert slow.accepted == {("level", "null"): 1}
    assert RowCodec(mixed, use_arrays=True).encode(mixed_records[:2]).accepted is None


@pytest.fixture
def mixed_records() -> list[dict[str, Any]]:
    features = mixed_frame().drop(columns="label")
    return [
        {
            "count": int(r["count"]),
            "level": int(r["level"]),
            "ratio": float(r["ratio"]),
            "score": float(r["score"]),
        }
        for r in features.to_dict("records")
    ]


def without_target(loaded: LoadedModel, records: Sequence[Any]) -> list[Any]:
    target = loaded.version.output.target
    return [
        {k: v for k, v in r.items() if k != target} if isinstance(r, Mapping) else r
        for r in records
    ]


def expected_problems(loaded: LoadedModel, records: Sequence[Any]) -> list[tuple[Any, ...]]:
    assert loaded.signature is not None
    found = validate(loaded.signature, without_target(loaded, records))
    return sorted((p.kind, p.row, p.column) for p in found)


def refused(codec: RowCodec, records: Sequence[Any]) -> list[tuple[Any, ...]] | None:
    """The problems the codec names, or None if it accepts the records."""
    try:
        codec.encode(records)
    except InvalidInputError as exc:
        problems = exc.problems
    else:
        return None
    assert problems, "an InvalidInputError must list its problems"
    return sorted((p.kind, p.row, p.column) for p in problems)  # type: ignore[attr-defined]


def values_of(item: ModelInput) -> np.ndarray:
    if item.rows is not None:
        assert item.frame is None
        return item.rows
    assert item.frame is not None
    return item.frame.to_numpy(dtype=np.float64)


# -- the fast path ----------------------------------------------------------------------------


def test_fast_path_gives_the_dataframe_values(
    cancer: LoadedModel, cancer_records: list[dict[str, Any]]
) -> None:
    codec = RowCodec(cancer, use_arrays=True)
    assert codec.fast
    records = cancer_records[:50]
    item = codec.encode(records)
    assert item.frame is None
    assert item.rows is not None
    assert item.count == 50
    assert item.rows.dtype == np.float64
    assert item.rows.shape == (50, 30)
    reference = cancer.prepare(records).to_numpy(dtype=np.float64)
    np.testing.assert_array_equal(item.rows, reference)


def test_without_arrays_the_codec_gives_the_prepared_frame(
    cancer: LoadedModel, cancer_records: list[dict[str, Any]]
) -> None:
    codec = RowCodec(cancer, use_arrays=False)
    assert not codec.fast
    item = codec.encode(cancer_records[:5])
    assert item.rows is None
    assert item.frame is not None
    pd.testing.assert_frame_equal(item.frame, cancer.prepare(cancer_records[:5]))


def test_fast_path_on_every_numeric_kind_gives_the_dataframe_values(
    mixed: LoadedModel, mixed_records: list[dict[str, Any]]
) -> None:
    codec = RowCodec(mixed, use_arrays=True)
    assert codec.fast
    records = mixed_records[:60]  # rows 3 and 40 have NaN in the nullable column
    item = codec.encode(records)
    assert item.rows is not None
    reference = mixed.prepare(records).to_numpy(dtype=np.float64)
    np.testing.assert_array_equal(item.rows, reference)
    assert np.isnan(item.rows[3, 2])
    assert np.isnan(item.rows[40, 2])


def test_integral_float_in_an_integer_column_is_accepted_like_the_full_check(
    mixed: LoadedModel, mixed_records: list[dict[str, Any]]
) -> None:
    records = [dict(r) for r in mixed_records[:3]]
    records[1]["count"] = 7.0
    item = RowCodec(mixed, use_arrays=True).encode(records)
    assert expected_problems(mixed, records) == []
    np.testing.assert_array_equal(
        values_of(item), mixed.prepare(records).to_numpy(dtype=np.float64)
    )


def test_a_target_column_in_the_record_is_ignored(
    cancer: LoadedModel, cancer_records: list[dict[str, Any]]
) -> None:
    codec = RowCodec(cancer, use_arrays=True)
    plain = codec.encode(cancer_records[:4])
    with_target = [{**r, "target": i % 2} for i, r in enumerate(cancer_records[:4])]
    item = codec.encode(with_target)
    assert item.rows is not None  # still the fast path
    np.testing.assert_array_equal(item.rows, values_of(plain))
    odd_target = [{**r, "target": "not a number"} for r in cancer_records[:2]]
    np.testing.assert_array_equal(values_of(codec.encode(odd_target)), values_of(plain)[:2])
    # only some records carry it
    some = [with_target[0], cancer_records[1]]
    np.testing.assert_array_equal(values_of(codec.encode(some)), values_of(plain)[:2])


def test_one_extra_key_that_is_not_the_target_is_refused(
    cancer: LoadedModel, cancer_records: list[dict[str, Any]]
) -> None:
    """Same key count as column count plus target: the fast path must still look at names."""
    records = [dict(cancer_records[0]), {**cancer_records[1], "targte": 1}]
    assert refused(RowCodec(cancer, use_arrays=True), records) == expected_problems(cancer, records)
    assert ("unknown_column", None, "targte") in expected_problems(cancer, records)


# -- bad input: the same problems as validate -------------------------------------------------


def _cancer_case(name: str, records: list[dict[str, Any]]) -> list[Any]:
    out: list[Any] = [dict(r) for r in records[:4]]
    bad = out[2]
    if name == "missing key":
        del bad[SECOND]
    elif name == "extra key":
        bad["colour"] = 1.0
    elif name == "string value":
        bad[FIRST] = "12.5"
    elif name == "bool value":
        bad[FIRST] = True
    elif name == "None in a non-nullable column":
        bad[SECOND] = None
    elif name == "NaN in a non-nullable column":
        bad[SECOND] = float("nan")
    elif name == "infinity":
        bad[SECOND] = float("inf")
    elif name == "nested list":
        bad[FIRST] = [1.0, 2.0]
    elif name == "nested dict":
        bad[FIRST] = {"value": 1.0}
    elif name == "non-dict record (list)":
        out[2] = list(bad.values())
    elif name == "non-dict record (string)":
        out[2] = "x" * 30
    elif name == "non-dict record (None)":
        out[2] = None
    elif name == "two problems":
        del bad[SECOND]
        out[3][FIRST] = "big"
    else:  # pragma: no cover
        raise AssertionError(name)
    return out


CANCER_CASES = [
    "missing key",
    "extra key",
    "string value",
    "bool value",
    "None in a non-nullable column",
    "NaN in a non-nullable column",
    "infinity",
    "nested list",
    "nested dict",
    "non-dict record (list)",
    "non-dict record (string)",
    "non-dict record (None)",
    "two problems",
]


@pytest.mark.parametrize("case", CANCER_CASES)
def test_bad_input_names_the_problems_validate_names(
    case: str, cancer: LoadedModel, cancer_records: list[dict[str, Any]]
) -> None:
    records = _cancer_case(case, cancer_records)
    expected = expected_problems(cancer, records)
    assert expected, "the case must be bad input"
    assert {row for _, row, _ in expected} <= {None, 2, 3}
    for use_arrays in (True, False):
        assert refused(RowCodec(cancer, use_arrays=use_arrays), records) == expected


MIXED_CASES: list[tuple[str, str, Any]] = [
    ("integer column given 1.5", "count", 1.5),
    ("integer column given a bool", "count", False),
    ("integer column given a string", "count", "3"),
    ("integer column above int64", "count", 2**63),
    ("integer column below int64", "count", -(2**63) - 1),
    ("integer column given a float above int64", "count", 1e20),
    ("integer column given a float below int64", "count", -1e19),
    ("integer column given NaN", "count", float("nan")),
    ("integer column given None", "count", None),
    ("unsigned column given a negative number", "level", -1),
    ("unsigned column above uint64", "level", 2**64),
    ("float column given infinity", "score", float("-inf")),
    ("nullable float column given infinity", "ratio", float("inf")),
]


@pytest.mark.parametrize(("case", "column", "value"), MIXED_CASES, ids=[c[0] for c in MIXED_CASES])
def test_bad_numbers_name_the_problems_validate_names(
    case: str,
    column: str,
    value: Any,
    mixed: LoadedModel,
    mixed_records: list[dict[str, Any]],
) -> None:
    records = [dict(r) for r in mixed_records[:4]]
    records[1][column] = value
    expected = expected_problems(mixed, records)
    assert expected, "the case must be bad input"
    assert {(row, col) for _, row, col in expected} == {(1, column)}
    for use_arrays in (True, False):
        assert refused(RowCodec(mixed, use_arrays=use_arrays), records) == expected, (
            f"use_arrays={use_arrays}"
        )


def test_null_in_a_nullable_column_is_accepted_with_nan(
    mixed: LoadedModel, mixed_records: list[dict[str, Any]]
) -> None:
    records = [dict(r) for r in mixed_records[:3]]
    records[0]["ratio"] = None
    records[2]["ratio"] = float("nan")
    item = RowCodec(mixed, use_arrays=True).encode(records)
    np.testing.assert_array_equal(
        values_of(item), mixed.prepare(records).to_numpy(dtype=np.float64)
    )
    assert np.isnan(values_of(item)[[0, 2], 2]).all()


# -- the property: the fast path accepts exactly what the full validation accepts ------------

GARBAGE: list[Any] = [
    None,
    True,
    False,
    "1.5",
    "",
    [1.0],
    {"v": 1},
    float("nan"),
    float("inf"),
    float("-inf"),
    1.5,
    -0.0,
    7,
    7.0,
    0,
    -1,
    1e20,
    -1e19,
    9.3e18,
    2**63 - 1,
    2**63,
    -(2**63),
    -(2**63) - 1,
    2**64,
    2**70,
    1e308,
]


@st.composite
def corrupted(draw: st.DrawFn, base: list[dict[str, Any]], columns: list[str]) -> list[Any]:
    """A few training records, each sometimes corrupted in one or more ways."""
    picks = draw(st.lists(st.integers(0, len(base) - 1), min_size=1, max_size=6))
    records: list[Any] = [dict(base[i]) for i in picks]
    for _ in range(draw(st.integers(0, 3))):
        i = draw(st.integers(0, len(records) - 1))
        record = records[i]
        if not isinstance(record, dict):
            continue
        action = draw(
            st.sampled_from(["value", "value", "value", "drop", "extra", "target", "not a record"])
        )
        if action == "value":
            record[draw(st.sampled_from(columns))] = draw(st.sampled_from(GARBAGE))
        elif action == "drop":
            record.pop(draw(st.sampled_from(columns)), None)
        elif action == "extra":
            record[draw(st.sampled_from(["extra", "Target", "mean radius "]))] = 1.0
        elif action == "target":
            record["target"] = draw(st.sampled_from([0, 1, "yes", None]))
            record["label"] = draw(st.sampled_from([0, 1]))
        else:
            records[i] = draw(st.sampled_from([None, "record", 3, [1.0, 2.0], (1.0,)]))
    return records


def check_property(loaded: LoadedModel, records: list[Any], expect_fast: bool) -> None:
    codec = RowCodec(loaded, use_arrays=True)
    assert codec.fast
    expected = expected_problems(loaded, records)
    try:
        item = codec.encode(records)
    except InvalidInputError as exc:
        got = sorted((p.kind, p.row, p.column) for p in exc.problems)  # type: ignore[attr-defined]
        assert expected, f"the codec refused input the full check accepts: {got}"
        assert got == expected
        return
    assert not expected, f"the codec accepted input the full check refuses: {expected}"
    assert item.count == len(records)
    reference = loaded.prepare(records).to_numpy(dtype=np.float64)
    np.testing.assert_array_equal(values_of(item), reference)
    plain = all(
        (type(v) is float and math.isfinite(v)) or (type(v) is int and INT64[0] <= v <= INT64[1])
        for r in without_target(loaded, records)
        for v in r.values()
    )
    if expect_fast and plain:  # nothing unusual: the fast path itself answered
        assert item.rows is not None


def test_property_fast_path_matches_validation_on_float_columns(
    cancer: LoadedModel, cancer_records: list[dict[str, Any]]
) -> None:
    columns = list(cancer_records[0])

    @PROPERTY
    @given(corrupted(cancer_records[:40], columns))
    def prop(records: list[Any]) -> None:
        check_property(cancer, records, expect_fast=True)

    prop()


def test_property_fast_path_matches_validation_on_integer_and_nullable_columns(
    mixed: LoadedModel, mixed_records: list[dict[str, Any]]
) -> None:
    columns = list(mixed_records[0])
    # the target of this model is "label"; "target" is an unknown column here

    @PROPERTY
    @given(corrupted(mixed_records[:50], columns))
    def prop(records: list[Any]) -> None:
        check_property(mixed, records, expect_fast=False)

    prop()


# -- encode_array -----------------------------------------------------------------------------


def test_encode_array_takes_a_good_2d_array_as_is(
    cancer: LoadedModel, cancer_frame: pd.DataFrame
) -> None:
    codec = RowCodec(cancer, use_arrays=True)
    values = cancer_frame.drop(columns="target").to_numpy()[:10]
    item = codec.encode_array(values)
    assert item.count == 10
    assert item.rows is not None
    assert item.frame is None
    np.testing.assert_array_equal(item.rows, values)
    ints = np.arange(60, dtype=np.int64).reshape(2, 30)
    item = codec.encode_array(ints)
    assert item.rows is not None
    assert item.rows.dtype == np.float64
    np.testing.assert_array_equal(item.rows, ints.astype(np.float64))


def test_encode_array_without_arrays_gives_the_prepared_frame(
    cancer: LoadedModel, cancer_frame: pd.DataFrame
) -> None:
    values = cancer_frame.drop(columns="target").to_numpy()[:3]
    item = RowCodec(cancer, use_arrays=False).encode_array(values)
    assert item.rows is None
    assert item.frame is not None
    np.testing.assert_array_equal(item.frame.to_numpy(), values)
    assert list(item.frame.columns) == list(cancer_frame.columns[:30])


@pytest.mark.parametrize("width", [29, 31])
def test_encode_array_of_the_wrong_width_is_refused(cancer: LoadedModel, width: int) -> None:
    codec = RowCodec(cancer, use_arrays=True)
    with pytest.raises(InvalidInputError) as caught:
        codec.encode_array(np.zeros((2, width)))
    assert [p.kind for p in caught.value.problems] == ["bad_shape"]  # type: ignore[attr-defined]


def test_encode_array_with_nan_names_the_cell(
    cancer: LoadedModel, cancer_frame: pd.DataFrame
) -> None:
    codec = RowCodec(cancer, use_arrays=True)
    values = cancer_frame.drop(columns="target").to_numpy()[:3].copy()
    values[1, 1] = np.nan
    with pytest.raises(InvalidInputError) as caught:
        codec.encode_array(values)
    got = [(p.kind, p.row, p.column) for p in caught.value.problems]  # type: ignore[attr-defined]
    assert got == [("null", 1, SECOND)]
    values[1, 1] = np.inf
    with pytest.raises(InvalidInputError) as caught:
        codec.encode_array(values)
    got = [(p.kind, p.row, p.column) for p in caught.value.problems]  # type: ignore[attr-defined]
    assert got == [("not_finite", 1, SECOND)]


def test_encode_array_with_nan_in_a_nullable_column_is_accepted(mixed: LoadedModel) -> None:
    values = np.array([[1.0, 2.0, np.nan, 0.5], [3.0, 4.0, 0.25, -0.5]])
    item = RowCodec(mixed, use_arrays=True).encode_array(values)
    np.testing.assert_array_equal(values_of(item), values)


def test_encode_array_checks_integer_columns_like_the_full_check(mixed: LoadedModel) -> None:
    """1.5 in an integer column, or -1 in an unsigned one, is refused however it arrives."""
    assert mixed.signature is not None
    for values in (
        np.array([[1.5, 2.0, 0.1, 0.5]]),
        np.array([[1.0, -1.0, 0.1, 0.5]]),
        np.array([[1e20, 2.0, 0.1, 0.5]]),
    ):
        expected = sorted((p.kind, p.row, p.column) for p in validate(mixed.signature, values))
        assert expected
        with pytest.raises(InvalidInputError) as caught:
            RowCodec(mixed, use_arrays=True).encode_array(values)
        got = sorted((p.kind, p.row, p.column) for p in caught.value.problems)  # type: ignore[attr-defined]
        assert got == expected
