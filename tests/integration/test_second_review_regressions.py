"""Regressions found by the second review: silent wrong answers that are now refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression

from ferryman.errors import DataFileError, InvalidInputError
from ferryman.registry import Registry
from ferryman.schema import read_table


def _linear(registry: Registry, frame: pd.DataFrame, target: str, name: str) -> None:
    features = frame.drop(columns=target)
    model = LinearRegression().fit(features.astype(float), frame[target])
    registry.register(model, name, train_data=frame, target=target)


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


def test_dates_in_mixed_formats_are_read_or_refused_cleanly() -> None:
    from ferryman.schema import check_input, infer_signature

    signature = infer_signature(pd.DataFrame({"d": pd.to_datetime(["2024-01-01", "2024-02-01"])}))
    frame = check_input(signature, [{"d": "2024-01-03"}, {"d": "01/02/2024 10:00"}])
    assert frame["d"].dt.year.tolist() == [2024, 2024]


def test_an_empty_list_of_records_gives_an_empty_answer(registry: Registry) -> None:
    frame = pd.DataFrame({"a": np.arange(10.0), "y": np.arange(10.0)})
    _linear(registry, frame, "y", "empty")
    loaded = registry.load("empty/1")
    assert loaded.predict([]).shape == (0,)
    assert len(loaded.predict_frame([])) == 0


def test_a_csv_row_longer_than_its_header_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text("a,b\n1,2,3,4\n5,6\n")
    with pytest.raises(DataFileError, match="line 2 has 4 fields"):
        read_table(path)
