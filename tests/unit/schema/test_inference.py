"""infer_signature: kinds, categories, nulls and ranges of training columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ferryman.core.signature import ColumnSpec, Signature
from ferryman.errors import SchemaError, UnsupportedColumnTypeError
from ferryman.schema import column_kind, infer_signature


@pytest.fixture
def training() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "age": [31, 45, 27, 60, 38, 52],
            "income": [1200.5, np.nan, 800.0, 3000.25, 1500.0, 950.0],
            "member": [True, False, True, True, False, True],
            "plan": pd.Categorical(["basic", "pro", "basic", "pro", "basic", "basic"]),
            "city": ["Oslo", "Bergen", "Oslo", "Oslo", "Bergen", "Oslo"],
            "joined": pd.to_datetime(
                ["2020-01-01", "2021-06-15", "2022-03-03", "2019-11-30", "2023-01-01", "2020-05-05"]
            ),
        }
    )


def test_signature_keeps_column_names_and_order(training: pd.DataFrame) -> None:
    signature = infer_signature(training)

    assert isinstance(signature, Signature)
    assert signature.names == ["age", "income", "member", "plan", "city", "joined"]


def test_each_column_gets_its_kind(training: pd.DataFrame) -> None:
    signature = infer_signature(training)

    kinds = {c.name: c.kind for c in signature.columns}
    assert kinds == {
        "age": "integer",
        "income": "float",
        "member": "boolean",
        "plan": "category",
        "city": "string",
        "joined": "datetime",
    }


def test_dtype_is_recorded(training: pd.DataFrame) -> None:
    signature = infer_signature(training)

    assert signature.column("age").dtype == "int64"
    assert signature.column("income").dtype == "float64"
    assert signature.column("member").dtype == "bool"
    assert signature.column("plan").dtype == "category"


def test_nullable_only_where_training_had_nulls(training: pd.DataFrame) -> None:
    signature = infer_signature(training)

    nullable = {c.name for c in signature.columns if c.nullable}
    assert nullable == {"income"}


def test_numeric_columns_record_minimum_and_maximum(training: pd.DataFrame) -> None:
    signature = infer_signature(training)

    age = signature.column("age")
    income = signature.column("income")
    assert (age.minimum, age.maximum) == (27.0, 60.0)
    assert (income.minimum, income.maximum) == (800.0, 3000.25)


def test_float_range_ignores_infinities_and_nulls() -> None:
    frame = pd.DataFrame({"x": [1.0, np.inf, -2.0, np.nan, -np.inf]})

    spec = infer_signature(frame).column("x")

    assert (spec.minimum, spec.maximum) == (-2.0, 1.0)
    assert spec.nullable


def test_non_numeric_columns_have_no_range(training: pd.DataFrame) -> None:
    signature = infer_signature(training)

    for name in ("member", "plan", "city", "joined"):
        spec = signature.column(name)
        assert spec.minimum is None
        assert spec.maximum is None


def test_category_column_records_its_categories_in_order() -> None:
    frame = pd.DataFrame({"size": pd.Categorical(["m", "s"], categories=["s", "m", "l"])})

    spec = infer_signature(frame).column("size")

    assert spec.categories == ("s", "m", "l")


def test_integer_category_labels_are_plain_python_values() -> None:
    frame = pd.DataFrame({"grade": pd.Categorical([1, 2, 3, 1])})

    spec = infer_signature(frame).column("grade")

    assert spec.categories == (1, 2, 3)
    assert all(type(c) is int for c in spec.categories)


def test_low_cardinality_text_records_sorted_categories(training: pd.DataFrame) -> None:
    spec = infer_signature(training).column("city")

    assert spec.kind == "string"
    assert spec.categories == ("Bergen", "Oslo")


def test_repeated_text_with_many_values_is_categorical() -> None:
    # 30 distinct values, each seen twice: more than ALWAYS_CATEGORICAL but at most half the rows.
    values = [f"code{i:02d}" for i in range(30)] * 2
    spec = infer_signature(pd.DataFrame({"code": values})).column("code")

    assert spec.categories == tuple(sorted(set(values)))


def test_near_unique_text_records_no_categories() -> None:
    frame = pd.DataFrame({"id": [f"customer-{i}" for i in range(50)]})

    spec = infer_signature(frame).column("id")

    assert spec.kind == "string"
    assert spec.categories is None


def test_text_with_nulls_is_nullable_and_categories_skip_the_null() -> None:
    frame = pd.DataFrame({"city": pd.Series(["Oslo", None, "Bergen", "Oslo"], dtype=object)})

    spec = infer_signature(frame).column("city")

    assert spec.nullable
    assert spec.categories == ("Bergen", "Oslo")


def test_object_column_of_booleans_is_boolean() -> None:
    frame = pd.DataFrame({"flag": pd.Series([True, None, False], dtype=object)})

    spec = infer_signature(frame).column("flag")

    assert spec.kind == "boolean"
    assert spec.nullable


def test_nullable_integer_extension_type() -> None:
    frame = pd.DataFrame({"n": pd.array([3, None, 7], dtype="Int64")})

    spec = infer_signature(frame).column("n")

    assert spec.kind == "integer"
    assert spec.nullable
    assert (spec.minimum, spec.maximum) == (3.0, 7.0)


def test_datetime_with_missing_value_is_nullable() -> None:
    frame = pd.DataFrame({"at": pd.to_datetime(["2024-01-01", None])})

    spec = infer_signature(frame).column("at")

    assert spec.kind == "datetime"
    assert spec.nullable


def test_signature_round_trips_through_a_dict(training: pd.DataFrame) -> None:
    signature = infer_signature(training)

    assert Signature.from_dict(signature.to_dict()) == signature


def test_non_string_column_names_become_strings() -> None:
    frame = pd.DataFrame({0: [1, 2], 1: [0.5, 1.5]})

    signature = infer_signature(frame)

    assert signature.names == ["0", "1"]
    assert all(isinstance(c, ColumnSpec) for c in signature.columns)


def test_duplicate_column_names_are_refused() -> None:
    frame = pd.DataFrame([[1, 2, 3]], columns=["a", "b", "a"])

    with pytest.raises(SchemaError, match="duplicate column names: a"):
        infer_signature(frame)


def test_names_equal_once_stringified_are_duplicates() -> None:
    frame = pd.DataFrame([[1, 2]], columns=[1, "1"])

    with pytest.raises(SchemaError, match="duplicate"):
        infer_signature(frame)


def test_frame_without_columns_is_refused() -> None:
    with pytest.raises(SchemaError, match="no columns"):
        infer_signature(pd.DataFrame())


@pytest.mark.parametrize(
    ("column", "detail"),
    [
        (pd.Series([1 + 2j, 3 - 1j]), "complex"),
        (pd.to_timedelta(pd.Series([1, 2]), unit="s"), "timedelta"),
        (pd.Series([1, "two"], dtype=object), "int, str"),
        (pd.Series([[1, 2], [3]], dtype=object), "list"),
    ],
    ids=["complex", "timedelta", "mixed-int-and-str", "lists"],
)
def test_unsupported_column_types_are_refused_naming_the_column(
    column: pd.Series, detail: str
) -> None:
    frame = pd.DataFrame({"fine": [1.0, 2.0], "odd_one": column})

    with pytest.raises(UnsupportedColumnTypeError, match="'odd_one'") as info:
        infer_signature(frame)

    assert detail in str(info.value)
    assert isinstance(info.value, SchemaError)


def test_column_kind_of_a_single_series() -> None:
    assert column_kind(pd.Series([1, 2], name="a")) == "integer"
    assert column_kind(pd.Series([0.1], name="b")) == "float"
    assert column_kind(pd.Series([], dtype=object, name="c")) == "string"


# -- free text is not a category -----------------------------------------------------------

SENTENCES = [
    "and product staff worst",
    "the delivery was fast and friendly",
    "worst service I have had",
    "great product, would buy again",
    "slow delivery but nice staff",
    "rude staff and awful product",
    "love it",
    "the staff were excellent",
]


def test_free_text_in_small_data_is_text_not_a_category() -> None:
    signature = infer_signature(pd.DataFrame({"review": SENTENCES}))

    review = signature.column("review")
    assert review.kind == "string"
    assert review.categories is None


def test_short_labels_with_spaces_stay_categories() -> None:
    cities = ["New York", "San Jose", "Los Angeles", "New York", "San Jose", "Rio de Janeiro"]

    assert infer_signature(pd.DataFrame({"city": cities})).column("city").categories == (
        "Los Angeles",
        "New York",
        "Rio de Janeiro",
        "San Jose",
    )


def test_a_few_sentences_repeated_many_times_are_categories() -> None:
    # canned answers picked from a list: a fixed set of labels, however long each is
    answers = SENTENCES[:4] * 30

    categories = infer_signature(pd.DataFrame({"answer": answers})).column("answer").categories

    assert categories == tuple(sorted(SENTENCES[:4]))


def test_long_single_values_are_text() -> None:
    notes = [f"{'x' * 30} {'y' * 15} {i}" for i in range(10)]  # two words but long

    assert infer_signature(pd.DataFrame({"note": notes})).column("note").categories is None


def test_kind_override_makes_free_text_a_category_and_labels_text() -> None:
    frame = pd.DataFrame({"review": SENTENCES, "city": ["Oslo", "Bergen"] * 4})

    signature = infer_signature(frame, {"review": "category", "city": "text"})

    assert signature.column("review").categories == tuple(sorted(SENTENCES))
    assert signature.column("city").categories is None
    assert signature.column("city").kind == "string"
    # "string", the kind's own name, is the same as "text"
    assert infer_signature(frame, {"city": "string"}).column("city").categories is None


@pytest.mark.parametrize(
    ("kinds", "message"),
    [
        ({"nope": "text"}, "a kind is given for column 'nope', which the training data lacks"),
        ({"city": "categorical"}, "is 'categorical'; choose one of category, string, text"),
        ({"age": "category"}, "column 'age' holds integer values; only a column of text"),
    ],
)
def test_kind_overrides_are_checked(kinds: dict[str, str], message: str) -> None:
    frame = pd.DataFrame({"age": [1, 2, 3], "city": ["Oslo", "Bergen", "Oslo"]})

    with pytest.raises(SchemaError, match=message):
        infer_signature(frame, kinds)


def test_a_category_override_has_at_most_the_category_limit() -> None:
    frame = pd.DataFrame({"id": [f"id-{i}" for i in range(1001)]})

    with pytest.raises(SchemaError, match="1,001 distinct values; a category column has at most"):
        infer_signature(frame, {"id": "category"})


def test_series_input_round_trips_and_tables_keep_their_old_form() -> None:
    column = ColumnSpec("review", "string", "object")
    alone = Signature((column,), series_input=True)

    assert Signature.from_dict(alone.to_dict()) == alone
    assert "series_input" not in Signature((column,)).to_dict()


def test_a_category_override_of_pandas_categories_changes_nothing() -> None:
    frame = pd.DataFrame({"plan": pd.Categorical(["basic", "pro", "basic"])})

    assert infer_signature(frame, {"plan": "category"}) == infer_signature(frame)
    with pytest.raises(SchemaError, match="column 'plan' holds category values"):
        infer_signature(frame, {"plan": "text"})
