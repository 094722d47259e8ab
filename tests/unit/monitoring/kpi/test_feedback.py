"""Feedback: per-item checks, last wins, unknown ids, files."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ferryman.core.predictions import PredictionRecord
from ferryman.errors import DataFileError, InvalidNameError
from ferryman.monitoring.kpi.feedback import FeedbackStore
from ferryman.monitoring.log.reader import LogReader
from ferryman.monitoring.log.writer import PredictionLog


@pytest.fixture
def store(tmp_path: Path) -> FeedbackStore:
    log = PredictionLog(str(tmp_path), start=False)
    for i in range(5):
        log.record(
            PredictionRecord(
                "m",
                1,
                f"r{i}",
                time.time(),
                1.0,
                "simple",
                ("x",),
                np.array([[float(i)]]),
                np.array([i % 2]),
            )
        )
    log.close()
    reader = LogReader(str(tmp_path))
    ticks = itertools.count()
    out = FeedbackStore(str(tmp_path), reader, clock=lambda: 1_780_000_000 + next(ticks))
    yield out
    reader.close()


def latest(store: FeedbackStore) -> dict[tuple[str, str], tuple[object, object]]:
    frame = store.read("m")
    return {
        (r.request_id, r.row): (
            None if pd.isna(r.label) else r.label,
            None if pd.isna(r.value) else r.value,
        )
        for r in frame.itertuples()
    }


def test_each_bad_item_has_its_reason(store: FeedbackStore) -> None:
    result = store.add(
        "m",
        [
            {"request_id": "r0", "label": 1},
            {"label": 1},
            {"request_id": "r1"},
            {"request_id": "r1", "label": 0.5},
            {"request_id": "r1", "label": [1]},
            {"request_id": "r1", "value": float("nan")},
            {"request_id": "r1", "value": True},
            {"request_id": "r1", "value": "12"},
            {"request_id": "r1", "lable": 1},
            {"request_id": "r1", "label": 1, "row": True},
            {"request_id": "r1", "label": 1, "at": "yesterday"},
            "not an object",
            {"request_id": "r2", "label": 1.0},
        ],
    )
    reasons = {r.index: r.reason for r in result.rejected}
    assert result.accepted == 2
    assert set(reasons) == set(range(1, 12))
    assert reasons[1] == "missing request_id"
    assert reasons[2] == "neither label nor value is given"
    assert "float 0.5" in reasons[3]
    assert "label must be text" in reasons[4]
    assert "finite" in reasons[5]
    assert "value must be a number" in reasons[6]
    assert "value must be a number" in reasons[7]
    assert "unknown field 'lable'" in reasons[8]
    assert "row" in reasons[9]
    assert "at is not a valid time" in reasons[10]
    assert result.rejected[0].request_id is None
    assert result.rejected[1].request_id == "r1"
    assert latest(store)[("r2", "0")] == ("1", None)  # an integral float is the class 1


def test_last_wins_within_a_batch_and_across_batches(store: FeedbackStore) -> None:
    result = store.add(
        "m",
        [
            {"request_id": "r0", "label": "a"},
            {"request_id": "r0", "label": "b"},
            {"request_id": "r1", "label": "a", "value": 3},
        ],
    )
    assert (result.accepted, result.duplicates) == (3, 1)
    store.add("m", [{"request_id": "r1", "label": "c"}])  # re-sent later: wins
    store.add("m", [{"request_id": "r0", "value": 7.5}])  # a value alone keeps the label
    assert latest(store) == {("r0", "0"): ("b", 7.5), ("r1", "0"): ("c", 3.0)}


def test_unknown_ids_are_stored_and_reported(store: FeedbackStore) -> None:
    result = store.add("m", [{"request_id": "r3", "label": 1}, {"request_id": "ghost", "label": 0}])
    assert result.accepted == 2
    assert (result.unknown_ids, result.unknown_sample) == (1, ["ghost"])
    assert ("ghost", "0") in latest(store)
    assert result.to_dict()["unknown_sample"] == ["ghost"]


def test_rows_and_label_types(store: FeedbackStore) -> None:
    store.add(
        "m",
        [
            {"request_id": "r0", "row": 2, "label": True},
            {"request_id": 17, "row": "cust-9", "label": np.int64(4)},
        ],
    )
    assert latest(store) == {("r0", "2"): ("true", None), ("17", "cust-9"): ("4", None)}


def test_regression_labels_are_numbers(store: FeedbackStore) -> None:
    result = store.add(
        "m",
        [{"request_id": "r0", "label": 2.75}, {"request_id": "r1", "label": "high"}],
        task="regression",
    )
    assert result.accepted == 1
    assert "must be a number" in result.rejected[0].reason
    assert latest(store)[("r0", "0")] == ("2.75", None)
    with pytest.raises(ValueError, match="task"):
        store.add("m", [], task="ranking")


def test_model_name_is_checked(store: FeedbackStore) -> None:
    with pytest.raises(InvalidNameError):
        store.add("../etc", [{"request_id": "r0", "label": 1}])


def test_add_file_csv_and_parquet(store: FeedbackStore, tmp_path: Path) -> None:
    csv = tmp_path / "labels.csv"
    csv.write_text("request_id,label,value\nr0,007,1.5\nr1,1,\n")
    result = store.add_file("m", csv)
    assert result.accepted == 2
    parquet = tmp_path / "labels.parquet"
    pd.DataFrame({"request_id": ["r2"], "row": [0], "value": [9.0]}).to_parquet(parquet)
    assert store.add_file("m", parquet).accepted == 1
    got = latest(store)
    assert got[("r0", "0")] == ("007", 1.5)  # codes stay as written
    assert got[("r1", "0")] == ("1", None)
    assert got[("r2", "0")] == (None, 9.0)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("id,label\nr0,1\n", "no request_id column"),
        ("request_id,row\nr0,1\n", "neither a label nor a value column"),
        ("request_id,label,extra\nr0,1,2\n", "does not use: extra"),
    ],
)
def test_bad_files_say_what_is_wrong(
    store: FeedbackStore, tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(DataFileError, match=message):
        store.add_file("m", path)


def test_missing_or_unknown_file(store: FeedbackStore, tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="does not exist"):
        store.add_file("m", tmp_path / "nope.csv")
    with pytest.raises(DataFileError, match="format"):
        store.add_file("m", tmp_path / "labels.xlsx")


def test_compaction_keeps_the_latest(store: FeedbackStore, tmp_path: Path) -> None:
    for label in ("a", "b", "c"):
        store.add("m", [{"request_id": "r0", "label": label}])
    assert store.compact("m") == 3
    assert len(list(tmp_path.glob("feedback/model=m/*/*.parquet"))) == 1
    assert latest(store) == {("r0", "0"): ("c", None)}


def test_read_with_nothing_stored(tmp_path: Path) -> None:
    assert FeedbackStore(str(tmp_path)).read("m").empty


@pytest.mark.parametrize(
    ("classes", "given", "stored"),
    [
        ((False, True), [True, "true", "True", 1, "1", 0.0], ["true"] * 5 + ["false"]),
        ((0, 1), [1, 1.0, "1", "1.0", True, 0], ["1", "1", "1", "1", "1", "0"]),
        (("no", "yes"), ["yes", "Yes", "no"], ["yes", "yes", "no"]),
    ],
)
def test_labels_are_stored_as_the_models_classes(
    store: FeedbackStore, classes: tuple[object, ...], given: list[object], stored: list[str]
) -> None:
    """A label that differs from a class only in type or case names that class (a CSV of
    True/False or 1.0/0.0 must not score as all wrong)."""
    items = [{"request_id": f"r{i}", "label": label} for i, label in enumerate(given)]
    result = store.add("m", items, classes=classes)
    assert result.accepted == len(given), result.rejected
    frame = store.read("m").sort_values("request_id")
    assert list(frame["label"]) == stored


def test_a_label_that_is_no_class_is_refused_with_the_classes(store: FeedbackStore) -> None:
    result = store.add(
        "m", [{"request_id": "a", "label": "maybe"}, {"request_id": "b", "label": 2}],
        classes=("no", "yes"),
    )  # fmt: skip
    assert result.accepted == 0
    assert [r.reason for r in result.rejected] == [
        "label 'maybe' is not one of the model's classes (no, yes)",
        "label '2' is not one of the model's classes (no, yes)",
    ]


def test_negative_and_fractional_rows_are_refused(store: FeedbackStore) -> None:
    result = store.add(
        "m",
        [{"request_id": "a", "row": -1, "label": 1}, {"request_id": "a", "row": 1.5, "label": 1}],
    )
    assert result.accepted == 0
    assert all("row number" in r.reason for r in result.rejected)


def test_compaction_of_feedback_for_versions_with_different_output_types(
    store: FeedbackStore, tmp_path: Path
) -> None:
    """Version 1 predicts numbers, version 2 text: the day's feedback rows carry both kinds of
    prediction, and merging them keeps every row with the prediction as text."""
    store.add("m", [{"request_id": "r1", "label": "1"}])  # before version 2 is logged
    log = PredictionLog(str(tmp_path), start=False)
    log.record(
        PredictionRecord(
            "m", 2, "t0", time.time(), 1.0, "simple", ("x",), np.array([[0.0]]), np.array(["yes"])
        )
    )
    log.close()
    store.add("m", [{"request_id": "t0", "label": "no"}])
    assert store.compact("m") == 2
    (path,) = tmp_path.glob("feedback/model=m/*/*.parquet")
    merged = pq.read_table(path).to_pandas().set_index("request_id")
    assert merged.loc["r1", "prediction"] == "1"
    assert merged.loc["t0", "prediction"] == "yes"
    assert merged["version"].tolist() == [1, 2] or merged["version"].tolist() == [2, 1]
    assert latest(store) == {("r1", "0"): ("1", None), ("t0", "0"): ("no", None)}


def test_compaction_keeps_times_as_times(store: FeedbackStore, tmp_path: Path) -> None:
    """A batch matched with the log (its rows pass through DuckDB) and one stored without a
    lookup merge into one file whose times are still UTC timestamps."""
    store.add("m", [{"request_id": "r1", "label": "1"}])
    FeedbackStore(str(tmp_path), clock=lambda: 1_780_000_100).add(
        "m", [{"request_id": "r2", "label": "0"}]
    )
    assert store.compact("m") == 2
    (path,) = tmp_path.glob("feedback/model=m/*/*.parquet")
    schema = pq.read_schema(path)
    for name in ("received_at", "at", "ts"):
        assert schema.field(name).type == pa.timestamp("us", tz="UTC"), name
    assert sorted(latest(store)) == [("r1", "0"), ("r2", "0")]


def test_long_ids_and_rows_out_of_range_are_refused(store: FeedbackStore) -> None:
    result = store.add(
        "m",
        [
            {"request_id": "r" * 129, "label": 1},
            {"request_id": 10**200, "label": 1},
            {"request_id": "r1", "label": 1, "row": 10**20},
            {"request_id": "r1", "label": 1, "row": 1e8},
            {"request_id": "r1", "label": 1, "row": "x" * 129},
            {"request_id": "r1", "label": 1, "row": 99_999_999},
        ],
    )
    reasons = [r.reason for r in result.rejected]
    assert result.accepted == 1
    assert reasons[0] == "request_id has 129 characters; request ids have at most 128"
    assert reasons[1].startswith("request_id has 201 characters")
    assert reasons[2].startswith("row must be a row number from 0 to 99,999,999")
    assert len(reasons[2]) < 120
    assert reasons[3].startswith("row must be a row number from 0 to 99,999,999")
    assert reasons[4] == "row has 129 characters; a row id has at most 128"
    assert all(r.request_id is None or len(r.request_id) <= 129 for r in result.rejected)


def test_unknown_ids_past_the_hourly_limit_are_counted_not_stored(tmp_path: Path) -> None:
    now = [1_780_000_000.0]
    reader = LogReader(str(tmp_path))
    store = FeedbackStore(str(tmp_path), reader, unknown_limit=3, clock=lambda: now[0])
    try:
        first = store.add("m", [{"request_id": f"u{i}", "label": 1} for i in range(5)])
        assert (first.accepted, first.unknown_ids, first.unknown_not_stored) == (5, 3, 2)
        second = store.add("m", [{"request_id": "u9", "label": 1}])
        assert second.unknown_not_stored == 1
        assert sorted(store.read("m")["request_id"]) == ["u0", "u1", "u2"]
        now[0] += 3600  # the next window
        third = store.add("m", [{"request_id": "v", "label": 1}])
        assert third.unknown_not_stored == 0
        assert store.unknown_not_stored == {"m": 3}
        assert len(store.read("m")) == 4
    finally:
        reader.close()
