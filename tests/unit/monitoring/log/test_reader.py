"""Queries over the prediction log: windows, counts, latency, rejections, known ids."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pytest

from ferryman.core.predictions import PredictionRecord, RejectionRecord
from ferryman.monitoring.log.reader import LogReader, source_filter
from ferryman.monitoring.log.writer import PredictionLog

DAY = datetime(2026, 3, 10, tzinfo=UTC)
COLUMNS = ("age", "income")


def record(i: int, at: datetime, version: int = 1, latency: float = 1.0) -> PredictionRecord:
    return PredictionRecord(
        "churn",
        version,
        f"r{i}",
        at.timestamp(),
        latency,
        "simple",
        COLUMNS,
        np.array([[30 + i, 1000.0 * i]]),
        np.array(["yes" if i % 2 else "no"], dtype=object),
        np.array([[0.4, 0.6]]),
        ("no", "yes"),
    )


@pytest.fixture
def reader(tmp_path: Path) -> LogReader:
    log = PredictionLog(str(tmp_path), start=False)
    for i in range(100):  # every 29 minutes: 50 rows on DAY, 50 on the next
        at = DAY + timedelta(minutes=29 * i)
        log.record(record(i, at, version=1 + i % 2, latency=float(i)))
    log.reject(
        RejectionRecord("churn", 1, "bad1", DAY.timestamp(), "simple", ((0, "age", "type"),))
    )
    log.reject(
        RejectionRecord(
            "churn", 2, "bad2", DAY.timestamp(), "v2", ((0, "age", "type"), (None, "x", "unknown"))
        )
    )
    log.close()
    out = LogReader(str(tmp_path))
    yield out
    out.close()


def test_read_window_filters_by_time_and_version(reader: LogReader) -> None:
    frame = reader.read_window("churn", DAY, DAY + timedelta(minutes=290))
    assert len(frame) == 10
    assert list(frame.columns[:7]) == [
        "ts",
        "version",
        "request_id",
        "row",
        "latency_ms",
        "prediction",
        "score",
    ]
    assert {"proba__no", "proba__yes", "age", "income", "source"} <= set(frame.columns)
    assert str(frame["ts"].dt.tz) in {"UTC", "Etc/UTC"}
    assert frame["ts"].min() == DAY
    assert list(frame["prediction"][:2]) == ["no", "yes"]
    only_v2 = reader.read_window("churn", DAY, DAY + timedelta(minutes=290), version=2)
    assert set(only_v2["version"]) == {2}
    assert len(only_v2) == 5
    some = reader.read_window("churn", DAY, DAY + timedelta(days=3), columns=["request_id", "age"])
    assert list(some.columns) == ["request_id", "age"]
    assert len(some) == 100


def test_window_across_days_and_naive_times(reader: LogReader) -> None:
    start = datetime(2026, 3, 10, 20)  # naive: taken as UTC
    frame = reader.read_window("churn", start, start + timedelta(hours=8))
    assert list(frame["request_id"]) == [f"r{i}" for i in range(42, 58)]


def test_no_data_gives_empty_results(reader: LogReader, tmp_path: Path) -> None:
    later = DAY + timedelta(days=30)
    assert reader.read_window("churn", later, later + timedelta(days=1)).empty
    assert reader.read_window("nobody", DAY, later).empty
    assert reader.count_by_version("nobody", DAY, later) == {}
    assert reader.latency_summary("nobody", DAY, later).empty
    assert reader.rejections("nobody", DAY, later).empty
    assert reader.known_request_ids("nobody", ["r1"]) == set()
    empty = LogReader(str(tmp_path / "never-created"))
    assert empty.read_window("churn", DAY, later).empty
    assert empty.count_by_version("churn", DAY, later) == {}
    empty.close()


def test_count_by_version(reader: LogReader) -> None:
    assert reader.count_by_version("churn", DAY, DAY + timedelta(days=2)) == {1: 50, 2: 50}
    assert reader.count_by_version("churn", DAY, DAY + timedelta(hours=3)) == {1: 4, 2: 3}


def test_latency_summary_matches_numpy(reader: LogReader) -> None:
    summary = reader.latency_summary("churn", DAY, DAY + timedelta(days=2))
    v1 = summary[summary["version"] == 1].iloc[0]
    latencies = np.arange(0, 100, 2, dtype=float)
    assert v1["requests"] == 50
    for q, name in ((0.5, "p50_ms"), (0.95, "p95_ms"), (0.99, "p99_ms")):
        assert v1[name] == pytest.approx(np.quantile(latencies, q))


def test_rejections_summary(reader: LogReader) -> None:
    summary = reader.rejections("churn", DAY, DAY + timedelta(days=1))
    first = summary.iloc[0]
    assert (first["column"], first["kind"], first["problems"], first["requests"]) == (
        "age",
        "type",
        2,
        2,
    )
    assert list(first["versions"]) == [1, 2]
    assert len(summary) == 2


def test_known_request_ids(reader: LogReader) -> None:
    assert reader.known_request_ids("churn", ["r1", "r99", "nope"]) == {"r1", "r99"}
    assert reader.known_request_ids("churn", []) == set()


def test_every_query_keeps_only_the_selected_sources(tmp_path: Path) -> None:
    log = PredictionLog(str(tmp_path), start=False)
    for i in range(30):  # every third request is batch scoring's
        rec = record(i, DAY + timedelta(minutes=i))
        log.record(dataclasses.replace(rec, source="score") if i % 3 == 0 else rec)
    for rid, source in (("bad-live", "predict"), ("bad-score", "score")):
        log.reject(RejectionRecord("churn", 1, rid, DAY.timestamp(), source, ((0, "age", "type"),)))
    log.close()
    reader = LogReader(str(tmp_path))
    end = DAY + timedelta(hours=1)
    try:
        for sources, rows, refused in (
            ({"live"}, 20, 1),
            ({"score"}, 10, 1),
            ({"live", "score"}, 30, 2),
            (None, 30, 2),
        ):
            frame = reader.read_window("churn", DAY, end, sources=sources)
            assert len(frame) == rows
            assert (frame["source"] == "score").sum() == (0 if sources == {"live"} else 10)
            assert reader.count_by_version("churn", DAY, end, sources) == {1: rows}
            assert int(reader.latency_summary("churn", DAY, end, sources)["rows"].sum()) == rows
            assert int(reader.rejections("churn", DAY, end, sources)["requests"].sum()) == refused
    finally:
        reader.close()


def test_a_row_without_a_source_counts_as_live() -> None:
    con = duckdb.connect()
    con.sql("CREATE TABLE t AS SELECT * FROM (VALUES ('predict'), ('score'), (NULL)) v(source)")

    def kept(sources: set[str] | None) -> int:
        [(count,)] = con.sql(f"SELECT count(*) FROM t WHERE {source_filter(sources)}").fetchall()
        return int(count)

    assert (kept({"live"}), kept({"score"}), kept({"live", "score"}), kept(None)) == (2, 1, 3, 3)
