"""validate / check_input: every problem of the input is reported with its row and column."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ferryman.core.signature import Signature
from ferryman.errors import InvalidInputError
from ferryman.schema import (
    MAX_PROBLEMS,
    AcceptedValues,
    Problem,
    check_input,
    describe_problems,
    find_problems,
    infer_signature,
    input_error,
    validate,
)


@pytest.fixture
def signature() -> Signature:
    training = pd.DataFrame(
        {
            "age": [31, 45, 27, 60],
            "income": [1200.5, np.nan, 800.0, 3000.0],
            "score": [0.1, 0.2, 0.3, 0.4],
            "member": [True, False, True, True],
            "plan": pd.Categorical(["basic", "pro", "basic", "pro"]),
            "city": ["Oslo", "Bergen", "Oslo", "Bergen"],
        }
    )
    return infer_signature(training)


def good(**changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "age": 40,
        "income": 1000.0,
        "score": 0.5,
        "member": False,
        "plan": "pro",
        "city": "Oslo",
    }
    record.update(changes)
    return record


def without(key: str) -> dict[str, Any]:
    record = good()
    del record[key]
    return record


def kinds(problems: list[Problem]) -> list[tuple[int | None, str | None, str]]:
    return [(p.row, p.column, p.kind) for p in problems]


def test_clean_records_have_no_problems(signature: Signature) -> None:
    assert validate(signature, [good(), good(age=18, plan="basic", city="Bergen")]) == []


def test_clean_dataframe_has_no_problems(signature: Signature) -> None:
    frame = pd.DataFrame([good(), good(member=True)])

    assert validate(signature, frame) == []


def test_a_single_record_is_accepted(signature: Signature) -> None:
    assert validate(signature, good()) == []
    assert kinds(validate(signature, good(score="high"))) == [(0, "score", "wrong_type")]


def test_missing_column(signature: Signature) -> None:
    problems = validate(signature, [without("score"), without("score")])

    assert kinds(problems) == [(None, "score", "missing_column")]
    assert "missing column 'score'" in problems[0].message


def test_unknown_column(signature: Signature) -> None:
    problems = validate(signature, [good(colour="red")])

    assert kinds(problems) == [(None, "colour", "unknown_column")]
    assert "'colour'" in problems[0].message


def test_a_record_missing_a_key_names_its_row(signature: Signature) -> None:
    problems = validate(signature, [good(), good(), without("age")])

    assert kinds(problems) == [(2, "age", "missing_value")]
    assert "row 2" in problems[0].message


def test_a_missing_key_is_not_also_reported_as_null(signature: Signature) -> None:
    problems = validate(signature, [good(), without("income")])

    assert kinds(problems) == [(1, "income", "missing_value")]


@pytest.mark.parametrize(
    ("column", "value"),
    [("score", "abc"), ("age", 1.5), ("member", 1), ("age", True), ("city", 5)],
    ids=["str-in-float", "fraction-in-int", "int-in-bool", "bool-in-int", "int-in-text"],
)
def test_wrong_type_names_row_and_column(signature: Signature, column: str, value: Any) -> None:
    problems = validate(signature, [good(), good(**{column: value})])

    assert kinds(problems) == [(1, column, "wrong_type")]
    assert f"row 1, column {column!r}" in problems[0].message


def test_whole_floats_are_fine_in_an_integer_column(signature: Signature) -> None:
    assert validate(signature, [good(age=3.0), good(age=4)]) == []


def test_integers_are_fine_in_a_float_column(signature: Signature) -> None:
    assert validate(signature, [good(score=1), good(score=2)]) == []


def test_null_where_training_had_none(signature: Signature) -> None:
    problems = validate(signature, [good(), good(score=None)])

    assert kinds(problems) == [(1, "score", "null")]
    assert "training data had no nulls" in problems[0].message


def test_null_is_fine_in_a_nullable_column(signature: Signature) -> None:
    assert validate(signature, [good(), good(income=None)]) == []


@pytest.mark.parametrize("column", ["age", "member", "plan", "city"])
def test_null_is_reported_for_every_kind_of_column(signature: Signature, column: str) -> None:
    problems = validate(signature, [good(**{column: None}), good()])

    assert kinds(problems) == [(0, column, "null")]


@pytest.mark.parametrize(("column", "value"), [("plan", "enterprise"), ("city", "Paris")])
def test_unknown_category(signature: Signature, column: str, value: str) -> None:
    problems = validate(signature, [good(), good(), good(**{column: value})])

    assert kinds(problems) == [(2, column, "unknown_category")]
    assert repr(value) in problems[0].message


def test_unknown_category_names_at_most_three_known_ones() -> None:
    signature = infer_signature(pd.DataFrame({"grade": list("abcdefgh")}))

    (problem,) = validate(signature, [{"grade": "z"}])

    assert problem.message.endswith("was never seen in training (8 known: 'a', 'b', 'c', ...)")


def test_unknown_category_never_echoes_training_text() -> None:
    sentences = ["and product staff worst", "the staff were excellent", "slow delivery"]
    signature = infer_signature(pd.DataFrame({"review": sentences}), {"review": "category"})

    (problem,) = validate(signature, [{"review": "fine"}])

    assert problem.message == (
        "row 0, column 'review': 'fine' was never seen in training (3 known)"
    )


def test_integer_categories_compare_by_value() -> None:
    signature = infer_signature(pd.DataFrame({"grade": pd.Categorical([1, 2, 1])}))

    assert validate(signature, [{"grade": 2}]) == []
    assert kinds(validate(signature, [{"grade": 3}])) == [(0, "grade", "unknown_category")]


def test_problems_in_a_dataframe_name_positions(signature: Signature) -> None:
    frame = pd.DataFrame(
        [good(), good(score=None), good(city="Paris"), good()], index=[10, 20, 30, 40]
    )

    problems = validate(signature, frame)

    assert kinds(problems) == [(1, "score", "null"), (2, "city", "unknown_category")]


def test_wrong_types_in_a_dataframe(signature: Signature) -> None:
    frame = pd.DataFrame([good(), good()])
    frame["member"] = [1, 0]
    frame["age"] = [1.0, 2.5]

    problems = validate(signature, frame)

    assert kinds(problems) == [
        (1, "age", "wrong_type"),
        (0, "member", "wrong_type"),
        (1, "member", "wrong_type"),
    ]


def test_columns_missing_from_a_dataframe(signature: Signature) -> None:
    frame = pd.DataFrame([good()]).drop(columns=["plan"]).assign(extra=1)

    assert sorted(kinds(validate(signature, frame)), key=str) == sorted(
        [(None, "extra", "unknown_column"), (None, "plan", "missing_column")], key=str
    )


def test_several_problems_are_all_reported(signature: Signature) -> None:
    data = [good(score="x"), without("age"), good(plan="gold", member=None)]

    assert sorted(kinds(validate(signature, data)), key=str) == sorted(
        [
            (0, "score", "wrong_type"),
            (1, "age", "missing_value"),
            (2, "member", "null"),
            (2, "plan", "unknown_category"),
        ],
        key=str,
    )


def test_a_non_record_item_is_reported(signature: Signature) -> None:
    problems = validate(signature, [good(), 5, good()])

    assert kinds(problems) == [(1, None, "not_a_record")]
    assert "int" in problems[0].message


def test_input_that_is_not_records_is_refused(signature: Signature) -> None:
    with pytest.raises(InvalidInputError, match="got str"):
        validate(signature, "age=40")  # type: ignore[arg-type]


def test_datetime_columns_accept_dates_and_refuse_other_text() -> None:
    signature = infer_signature(pd.DataFrame({"at": pd.to_datetime(["2024-01-01"])}))

    assert validate(signature, [{"at": "2024-02-03"}]) == []
    assert kinds(validate(signature, [{"at": "2024-02-03"}, {"at": "soon"}])) == [
        (1, "at", "wrong_type")
    ]


def test_problem_to_dict(signature: Signature) -> None:
    problem = validate(signature, [good(score="x")])[0]

    assert problem.to_dict() == {
        "row": 0,
        "column": "score",
        "kind": "wrong_type",
        "message": problem.message,
    }


def test_check_input_raises_with_every_problem(signature: Signature) -> None:
    data = [good(score="x"), good(city="Paris")]

    with pytest.raises(InvalidInputError) as info:
        check_input(signature, data)

    assert info.value.problems == validate(signature, data)
    assert len(info.value.problems) == 2
    assert "row 0, column 'score'" in str(info.value)


def test_check_input_returns_signature_order_and_training_dtypes(signature: Signature) -> None:
    shuffled = [dict(reversed(list(good(age=5.0).items()))), dict(reversed(list(good().items())))]

    frame = check_input(signature, shuffled)

    assert list(frame.columns) == signature.names
    assert frame["age"].dtype == np.dtype("int64")
    assert frame["age"].tolist() == [5, 40]
    assert frame["income"].dtype == np.dtype("float64")
    assert frame["score"].dtype == np.dtype("float64")
    assert frame["member"].dtype == np.dtype("bool")
    assert isinstance(frame["plan"].dtype, pd.CategoricalDtype)
    assert list(frame["plan"].cat.categories) == ["basic", "pro"]


def test_check_input_gives_categories_the_training_categories(signature: Signature) -> None:
    # Only "basic" appears in the input; the column still knows "pro".
    frame = check_input(signature, [good(plan="basic")])

    assert list(frame["plan"].cat.categories) == ["basic", "pro"]
    assert frame["plan"].tolist() == ["basic"]


def test_check_input_keeps_nulls_in_a_nullable_column(signature: Signature) -> None:
    frame = check_input(signature, [good(income=None), good()])

    assert np.isnan(frame["income"].iloc[0])
    assert frame["income"].iloc[1] == 1000.0


def test_check_input_accepts_a_dataframe_and_keeps_its_index(signature: Signature) -> None:
    given = pd.DataFrame([good(), good()], index=[7, 8])[list(reversed(signature.names))]

    frame = check_input(signature, given)

    assert list(frame.columns) == signature.names
    assert list(frame.index) == [7, 8]


def test_check_input_parses_datetime_text() -> None:
    signature = infer_signature(pd.DataFrame({"at": pd.to_datetime(["2024-01-01"])}))

    frame = check_input(signature, [{"at": "2024-02-03"}])

    assert pd.api.types.is_datetime64_any_dtype(frame["at"])
    assert frame["at"].iloc[0] == pd.Timestamp("2024-02-03")


def test_check_input_on_a_frame_with_duplicate_columns_is_invalid_input(
    signature: Signature,
) -> None:
    frame = pd.DataFrame([[*good().values(), 41]], columns=[*good().keys(), "age"])

    with pytest.raises(InvalidInputError):
        check_input(signature, frame)


def test_describe_problems_truncates_with_a_count() -> None:
    problems = [Problem(i, "x", "null", f"problem number {i}") for i in range(8)]

    text = describe_problems(problems)

    assert "(8 problems)" in text
    assert "problem number 4" in text
    assert "problem number 5" not in text
    assert text.endswith("and 3 more")


def test_describe_problems_shows_all_when_few() -> None:
    problems = [Problem(i, "x", "null", f"problem number {i}") for i in range(5)]

    text = describe_problems(problems)

    assert "problem number 4" in text
    assert "more" not in text


@pytest.fixture
def numeric_signature() -> Signature:
    return infer_signature(pd.DataFrame({"n": [1, 2, 3], "x": [0.1, 0.2, 0.3]}))


def test_a_2d_array_takes_the_signature_columns(numeric_signature: Signature) -> None:
    data = np.array([[1, 0.5], [2, 0.7]])

    assert validate(numeric_signature, data) == []
    frame = check_input(numeric_signature, data)
    assert list(frame.columns) == ["n", "x"]
    assert frame["n"].dtype == np.dtype("int64")
    assert frame["n"].tolist() == [1, 2]


def test_a_1d_array_is_one_row(numeric_signature: Signature) -> None:
    assert len(check_input(numeric_signature, np.array([3, 0.25]))) == 1


def test_array_problems_name_row_and_column(numeric_signature: Signature) -> None:
    data = np.array([[1.0, 0.5], [1.5, np.nan]])

    assert kinds(validate(numeric_signature, data)) == [(1, "n", "wrong_type"), (1, "x", "null")]


@pytest.mark.parametrize("shape", [(2, 3), (2, 2, 2)], ids=["wrong-width", "3-d"])
def test_array_of_the_wrong_shape(numeric_signature: Signature, shape: tuple[int, ...]) -> None:
    problems = validate(numeric_signature, np.zeros(shape))

    assert kinds(problems) == [(None, None, "bad_shape")]


@pytest.mark.parametrize("rows", [3, 300])  # counted in Python, then by pandas
def test_accepted_values_are_counted_per_column_and_kind(rows: int) -> None:
    signature = Signature.from_dict(
        {
            "columns": [
                {"name": "city", "kind": "string", "dtype": "object", "nullable": False,
                 "categories": ["lima", "oslo"], "unknown_categories": "accept",
                 "unseen_nulls": "accept"},
                {"name": "x", "kind": "float", "dtype": "float64", "nullable": False,
                 "unseen_nulls": "refuse"},
            ]
        }
    )  # fmt: skip
    cities = (["oslo", "rome", None] * rows)[:rows]
    frame = pd.DataFrame({"city": pd.Series(cities, dtype=object), "x": 0.5})

    counts = AcceptedValues(signature).count(frame)

    assert counts == {
        ("city", "null"): cities.count(None),
        ("city", "unknown_category"): cities.count("rome"),
    }
    assert not AcceptedValues(Signature.from_dict({"columns": [signature.columns[1].to_dict()]}))


# -- hostile input: bounded, linear ---------------------------------------------------------


def test_problems_past_the_limit_are_counted_not_listed(signature: Signature) -> None:
    rows = [good(age="old") for _ in range(250)]
    with pytest.raises(InvalidInputError) as caught:
        check_input(signature, rows)
    error = caught.value
    assert len(error.problems) == MAX_PROBLEMS
    assert error.more == 150
    assert "(250 problems)" in str(error)
    assert "and 245 more" in str(error)
    found = find_problems(signature, rows, limit=10)
    assert (len(found.items), found.more, len(found)) == (10, 240, 250)
    # without a limit, every problem (validate's contract)
    assert len(validate(signature, rows)) == 250


def test_a_record_of_many_unknown_columns_is_checked_in_linear_time(
    signature: Signature,
) -> None:
    wide = good(**{f"x{i}": 1 for i in range(50_000)})
    started = time.perf_counter()
    found = find_problems(signature, [wide], limit=MAX_PROBLEMS)
    took = time.perf_counter() - started
    assert len(found.items) == MAX_PROBLEMS
    assert found.more == 50_000 - MAX_PROBLEMS
    assert {p.kind for p in found.items} == {"unknown_column"}
    # quadratic work took 34 s here; linear work takes some 50 ms (a loaded machine: 2 s)
    assert took < 2.0


def test_an_unknown_column_names_at_most_ten_expected_columns() -> None:
    names = [f"c{i}" for i in range(40)]
    wide = infer_signature(pd.DataFrame({n: [1.0, 2.0] for n in names}))
    (problem,) = validate(wide, {**dict.fromkeys(names, 1.0), "nope": 1.0})
    assert problem.kind == "unknown_column"
    assert "'c9', ...] (40 columns)" in problem.message
    assert "'c10'" not in problem.message


def test_input_error_of_a_plain_list_keeps_the_first_problems() -> None:
    problems = [Problem(i, "a", "null", f"row {i}") for i in range(130)]
    error = input_error(problems)
    assert len(error.problems) == MAX_PROBLEMS
    assert error.more == 30
    assert "(130 problems)" in str(error)
