"""fingerprint_frame: a stable hash of content, column names and dtypes."""

from __future__ import annotations

import pandas as pd
import pytest

from ferryman.schema import fingerprint_frame


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "a": [1, 2, 3],
            "b": [0.5, 1.5, 2.5],
            "c": ["x", "y", "z"],
            "d": pd.Categorical(["p", "q", "p"]),
        }
    )


def test_same_frame_gives_the_same_hash(frame: pd.DataFrame) -> None:
    first = fingerprint_frame(frame)

    assert fingerprint_frame(frame) == first
    assert fingerprint_frame(frame.copy(deep=True)) == first
    assert len(first) == 64
    int(first, 16)


def test_index_labels_do_not_matter(frame: pd.DataFrame) -> None:
    assert fingerprint_frame(frame.set_axis([10, 20, 30])) == fingerprint_frame(frame)


def test_one_changed_cell_changes_the_hash(frame: pd.DataFrame) -> None:
    changed = frame.copy()
    changed.loc[1, "b"] = 1.6

    assert fingerprint_frame(changed) != fingerprint_frame(frame)


def test_changed_text_cell_changes_the_hash(frame: pd.DataFrame) -> None:
    changed = frame.copy()
    changed.loc[2, "c"] = "w"

    assert fingerprint_frame(changed) != fingerprint_frame(frame)


def test_renamed_column_changes_the_hash(frame: pd.DataFrame) -> None:
    assert fingerprint_frame(frame.rename(columns={"a": "A"})) != fingerprint_frame(frame)


def test_changed_dtype_changes_the_hash(frame: pd.DataFrame) -> None:
    assert fingerprint_frame(frame.astype({"a": "float64"})) != fingerprint_frame(frame)
    assert fingerprint_frame(frame.astype({"a": "int32"})) != fingerprint_frame(frame)


def test_reordered_rows_change_the_hash(frame: pd.DataFrame) -> None:
    reordered = frame.iloc[[2, 0, 1]].reset_index(drop=True)

    assert fingerprint_frame(reordered) != fingerprint_frame(frame)


def test_reordered_columns_change_the_hash(frame: pd.DataFrame) -> None:
    assert fingerprint_frame(frame[["b", "a", "c", "d"]]) != fingerprint_frame(frame)


def test_values_swapped_between_columns_change_the_hash() -> None:
    one = pd.DataFrame({"a": [1], "b": [2]})
    two = pd.DataFrame({"a": [2], "b": [1]})

    assert fingerprint_frame(one) != fingerprint_frame(two)


def test_extra_row_changes_the_hash(frame: pd.DataFrame) -> None:
    assert fingerprint_frame(frame.iloc[:2]) != fingerprint_frame(frame)
