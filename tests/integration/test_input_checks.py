"""A registered model's input checks: what would be a silent wrong answer is refused, naming
the row and column; empty input is an empty answer (real SQLite, real files)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression

from ferryman import errors
from ferryman.errors import InvalidInputError
from ferryman.registry import Registry


def _linear(registry: Registry, frame: pd.DataFrame, target: str, name: str) -> None:
    features = frame.drop(columns=target)
    model = LinearRegression().fit(features.astype(float), frame[target])
    registry.register(model, name, train_data=frame, target=target)


@pytest.fixture
def int_frame() -> pd.DataFrame:
    """40 rows: an integer column ``n``, a float column ``x`` and a 0/1 ``y``."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=40)
    return pd.DataFrame({"n": np.arange(40, dtype="int64"), "x": x, "y": (x > 0).astype(int)})


@pytest.fixture
def int_registry(registry: Registry, int_frame: pd.DataFrame) -> Registry:
    """Model ``m`` version 1: a logistic regression over ``n`` and ``x``, target ``y``."""
    model = LogisticRegression().fit(int_frame[["n", "x"]], int_frame["y"])
    registry.register(model, "m", train_data=int_frame, target="y")
    return registry


def test_an_integer_beyond_int64_is_refused_naming_row_and_column(int_registry: Registry) -> None:
    model = int_registry.load("m/1")

    with pytest.raises(errors.InvalidInputError) as caught:
        model.predict([{"n": 1, "x": 0.5}, {"n": 2**70, "x": 0.5}])

    assert [(p.row, p.column) for p in caught.value.problems] == [(1, "n")]
    assert "row 1" in str(caught.value)
    assert "'n'" in str(caught.value)


def test_a_float_too_big_for_an_integer_column_is_refused(int_registry: Registry) -> None:
    model = int_registry.load("m/1")

    with pytest.raises(errors.InvalidInputError) as caught:
        model.predict(pd.DataFrame({"n": [1e20], "x": [0.5]}))

    assert [(p.row, p.column) for p in caught.value.problems] == [(0, "n")]


@pytest.mark.parametrize(
    "data",
    [
        pd.DataFrame({"n": [1, 2, 3], "x": [0.5, np.inf, -np.inf]}),
        [{"n": 1, "x": 0.5}, {"n": 2, "x": float("inf")}, {"n": 3, "x": float("-inf")}],
    ],
    ids=["frame", "records"],
)
def test_infinities_in_a_float_column_are_not_finite(int_registry: Registry, data: object) -> None:
    model = int_registry.load("m/1")

    with pytest.raises(errors.InvalidInputError) as caught:
        model.predict(data)  # type: ignore[arg-type]

    assert [(p.row, p.column, p.kind) for p in caught.value.problems] == [
        (1, "x", "not_finite"),
        (2, "x", "not_finite"),
    ]


def test_an_integer_input_outside_the_training_type_is_refused(registry: Registry) -> None:
    frame = pd.DataFrame({"u": np.arange(20, dtype="uint8"), "y": np.arange(20.0)})
    _linear(registry, frame, "y", "unsigned")
    loaded = registry.load("unsigned/1")
    with pytest.raises(InvalidInputError) as caught:
        loaded.predict([{"u": -1}, {"u": 3}])
    assert [(p.row, p.column) for p in caught.value.problems] == [(0, "u")]
    assert loaded.predict([{"u": 3}]).shape == (1,)


def test_a_huge_integer_in_an_int64_column_is_refused(registry: Registry) -> None:
    frame = pd.DataFrame({"i": np.arange(20, dtype="int64"), "y": np.arange(20.0)})
    _linear(registry, frame, "y", "signed")
    with pytest.raises(InvalidInputError, match="row 0, column 'i'"):
        registry.load("signed/1").predict([{"i": 2**63}])


def test_a_bool_is_not_a_numeric_category(registry: Registry) -> None:
    from ferryman.schema import infer_signature, validate

    frame = pd.DataFrame({"c": pd.Categorical([1, 2, 1, 2])})
    problems = validate(infer_signature(frame), [{"c": True}, {"c": 2}])
    assert [(p.row, p.kind) for p in problems] == [(0, "wrong_type")]


def test_empty_input_gives_empty_results(
    cancer_registry: Registry, cancer_frame: pd.DataFrame
) -> None:
    model = cancer_registry.load("cancer/1")
    empty = cancer_frame.drop(columns="target").iloc[:0]

    assert model.predict(empty).shape == (0,)
    assert model.predict_proba(empty).shape == (0, 2)
    frame = model.predict_frame(empty)
    assert list(frame.columns) == ["prediction", "proba_0", "proba_1"]
    assert len(frame) == 0


def test_an_empty_list_of_records_gives_an_empty_answer(registry: Registry) -> None:
    frame = pd.DataFrame({"a": np.arange(10.0), "y": np.arange(10.0)})
    _linear(registry, frame, "y", "empty")
    loaded = registry.load("empty/1")
    assert loaded.predict([]).shape == (0,)
    assert len(loaded.predict_frame([])) == 0


def test_a_model_failing_on_checked_input_is_a_one_line_error_naming_the_rows(
    cancer_registry: Registry, cancer_frame: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = cancer_registry.load("cancer/1")

    def boom(frame: pd.DataFrame) -> np.ndarray:
        raise ValueError("boom\nsecond line")

    monkeypatch.setattr(model.predictor, "predict", boom)

    with pytest.raises(errors.InvalidInputError) as caught:
        model.predict(cancer_frame.drop(columns="target").head(3))

    message = str(caught.value)
    assert message == "model cancer/1 cannot predict on rows 0, 1, 2: boom"
    assert [p.row for p in caught.value.problems] == [0, 1, 2]


def test_the_target_column_in_predict_input_is_ignored(
    cancer_registry: Registry, cancer_frame: pd.DataFrame
) -> None:
    model = cancer_registry.load("cancer/1")
    with_target = cancer_frame.head(4)
    expected = model.predict(with_target.drop(columns="target"))

    assert model.predict(with_target).tolist() == expected.tolist()
    records = with_target.to_dict(orient="records")
    assert "target" in records[0]
    assert model.predict(records).tolist() == expected.tolist()
    assert model.predict_frame(with_target)["prediction"].tolist() == expected.tolist()
