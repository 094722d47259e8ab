"""Monitoring benchmark (issue 4): KPI queries over a big prediction log, and record() cost.

(a) 10,000,000 logged predictions of one binary classifier in one day (two versions, ten
    features), written with pyarrow directly as compacted files, the way the log leaves a day;
    feedback for half of them (and a business value for a quarter), each row with its
    prediction's facts as ``FeedbackStore`` stores them. Times the KPIs of the one-day window
    (``compute_performance``), per version and as an hourly series, beside a bare count of the
    labelled rows and the join the query needed before feedback carried the facts; the
    reader's count and latency queries; and matching new feedback with the log (the cost
    storing feedback pays instead). Target: KPIs under 2 s.
(b) ``PredictionLog.record()`` per call on single-row requests (sampling 1.0 and 0.1, and
    overload drops), the writer's rows per second, and peak RSS.

    .venv/bin/python bench/monitoring_bench.py [--rows 10000000] [--records 200000] [--data DIR]

``--data DIR`` keeps the generated log in DIR and reuses it on the next run with the same
``--rows`` (generation takes about 40 s), to iterate on the query side.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import shutil
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ferryman.core.predictions import PredictionRecord
from ferryman.monitoring.kpi.feedback import FeedbackStore, with_predictions
from ferryman.monitoring.kpi.performance import compute_performance
from ferryman.monitoring.log.files import COMPACTED_PREFIX, LogRoot, segment_name, write_parquet
from ferryman.monitoring.log.reader import LogReader
from ferryman.monitoring.log.scheme import row_keys
from ferryman.monitoring.log.writer import PredictionLog

DAY = datetime(2026, 11, 20, tzinfo=UTC)
FEATURES = [f"f{i}" for i in range(10)]
FILE_ROWS = 1_000_000
TS_TYPE = pa.timestamp("us", tz="UTC")


def ids(prefix: str, start: int, count: int) -> pa.Array:
    """32-character request ids, like hex UUIDs in length."""
    numbers = pa.array(np.arange(start, start + count, dtype=np.int64)).cast(pa.string())
    padded = pc.utf8_lpad(numbers, width=12, padding="0")
    return pc.binary_join_element_wise(pa.scalar(prefix), padded, "")


def write_log(root: str, rows: int, rng: np.random.Generator) -> None:
    log_root = LogRoot.resolve(root)
    day = DAY.strftime("%Y-%m-%d")
    start_us = int(DAY.timestamp() * 1e6)
    for offset in range(0, rows, FILE_ROWS):
        n = min(FILE_ROWS, rows - offset)
        version = 1 if offset < rows * 0.9 else 2
        score = rng.random(n)
        request_ids = ids("5f0c2a7e9b1d4c3e8a6f", offset, n)
        columns: dict[str, pa.Array] = {
            "key": pa.array(row_keys(request_ids.to_pylist(), ["0"] * n)),
            "request_id": request_ids,
            "row": pa.array(np.zeros(n, dtype=np.int64)).cast(pa.string()),
            "ts": pa.array(np.sort(rng.integers(0, 86_400_000_000, n)) + start_us).cast(TS_TYPE),
            "source": pa.array(np.full(n, "simple", dtype=object), pa.string()),
            "latency_ms": pa.array(rng.gamma(2.0, 1.5, n)),
            "prediction": pa.array((score > 0.5).astype(np.int64)),
            "score": pa.array(score),
            "proba__0": pa.array(1 - score),
            "proba__1": pa.array(score),
        }
        for name in FEATURES:
            columns[name] = pa.array(rng.normal(size=n))
        folder = log_root.path("predictions", "model=churn", f"version={version}", f"day={day}")
        write_parquet(log_root, folder, segment_name(COMPACTED_PREFIX, "bench"), pa.table(columns))


def write_feedback(root: str, rows: int, rng: np.random.Generator) -> None:
    """Labels for every other prediction, values for every fourth, as compacted segments,
    each row with its prediction's facts as ``FeedbackStore`` stores them."""
    log_root = LogRoot.resolve(root)
    reader = LogReader(root)
    folder = log_root.path("feedback", "model=churn", f"day={DAY.strftime('%Y-%m-%d')}")
    received = int((DAY + timedelta(hours=12)).timestamp() * 1e6)
    for offset in range(0, rows, 2 * FILE_ROWS):
        n = min(2 * FILE_ROWS, rows - offset)
        index = np.arange(offset, offset + n, 2)
        m = len(index)
        label = rng.integers(0, 2, m).astype(str)
        value = np.where(index % 4 == 0, rng.normal(10, 3, m), np.nan)
        request_ids = ids("5f0c2a7e9b1d4c3e8a6f", 0, rows).take(pa.array(index))
        table = pa.table(
            {
                "key": pa.array(row_keys(request_ids.to_pylist(), ["0"] * m)),
                "received_at": pa.array(np.full(m, received)).cast(TS_TYPE),
                "request_id": request_ids,
                "row": pa.array(np.zeros(m, dtype=np.int64)).cast(pa.string()),
                "label": pa.array(label.astype(object), pa.string()),
                "value": pa.array(value, from_pandas=True),
                "at": pa.array(np.full(m, received)).cast(TS_TYPE),
            }
        )
        table, _ = with_predictions(reader, "churn", table, DAY)
        write_parquet(log_root, folder, segment_name(COMPACTED_PREFIX, "bench"), table)
    reader.close()


def timed(label: str, fn, target: float | None = None):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    verdict = "" if target is None else ("  ok" if seconds < target else "  SLOW")
    goal = "" if target is None else f"  target < {target:.1f} s"
    print(f"{label:<52} {seconds:8.3f} s{goal}{verdict}")
    return result, seconds


def generate(root: str, rows: int) -> None:
    """Write the log and its feedback into ``root`` unless a run with ``rows`` already did."""
    marker = Path(root, f".bench-{rows}-facts2")  # data of older key schemes is rewritten
    if marker.exists():
        print(f"{'reusing generated data in':<52} {root}")
        return
    shutil.rmtree(Path(root, "predictions"), ignore_errors=True)
    shutil.rmtree(Path(root, "feedback"), ignore_errors=True)
    rng = np.random.default_rng(0)
    timed(f"generate {rows:,} predictions (pyarrow)", lambda: write_log(root, rows, rng))
    timed("generate feedback for half of them, with facts", lambda: write_feedback(root, rows, rng))
    marker.touch()


def bench_queries(rows: int, data: str | None) -> None:
    with contextlib.ExitStack() as stack:
        if data is None:
            root = stack.enter_context(tempfile.TemporaryDirectory(prefix="ferryman-bench-"))
        else:
            root = str(Path(data).resolve())
            Path(root).mkdir(parents=True, exist_ok=True)
        generate(root, rows)
        size = sum(p.stat().st_size for p in Path(root).rglob("*.parquet"))
        print(f"{'files on disk':<52} {size / 2**20:8.0f} MiB")
        reader = LogReader(root)
        store = FeedbackStore(root, reader)
        start, end = DAY, DAY + timedelta(days=1)
        _, floor = timed(
            "floor: read and sum the window's labelled rows",
            lambda: labelled_floor(store, reader, start, end),
        )
        _, join = timed(
            "a join of the window's keys with feedback, count",
            lambda: join_floor(reader, store, start, end),
        )
        print("  (what each KPI query paid until feedback stored its predictions' facts)")
        report, kpi = timed(
            "KPIs, one-day window, per version",
            lambda: compute_performance(reader, store, "churn", start, end, "classification"),
            2.0,
        )
        again = [
            timed(
                f"KPIs, one-day window, per version (again, {i + 2} of 3)",
                lambda: compute_performance(reader, store, "churn", start, end, "classification"),
                2.0,
            )[1]
            for i in range(2)
        ]
        print(
            f"{'  (the first call in a process also pays for DuckDB and NumPy memory)':<52} "
            f"median of 3 {sorted([kpi, *again])[1]:.3f} s"
        )
        for row in report.rows:
            metrics = ", ".join(f"{k}={v:.4f}" for k, v in row.metrics.items() if v is not None)
            counts = f"{row.predictions:,} rows, {row.labelled:,} labelled"
            print(f"    v{row.version}: {counts}; {metrics}")
        _, hourly = timed(
            "KPIs, one-day window, hourly buckets",
            lambda: compute_performance(
                reader, store, "churn", start, end, "classification", bucket=3600
            ),
            2.0,
        )
        timed("count_by_version, one day", lambda: reader.count_by_version("churn", start, end))
        timed("latency_summary, one day", lambda: reader.latency_summary("churn", start, end))
        timed(
            "read_window, one hour, all columns",
            lambda: reader.read_window("churn", start, start + timedelta(hours=1)),
        )
        for count in (1, 1000):
            timed(
                f"storing feedback: match {count:,} items with the log",
                lambda count=count: with_predictions(reader, "churn", items(rows, count), DAY),
            )
        print(f"{'ratio KPIs per version / floor':<52} {kpi / floor:8.2f}x")
        print(f"{'ratio KPIs hourly / floor':<52} {hourly / floor:8.2f}x")
        print(f"{'ratio KPIs per version / the join alone':<52} {kpi / join:8.2f}x")
        reader.close()


def labelled_floor(store: FeedbackStore, reader: LogReader, start: datetime, end: datetime) -> int:
    """The least a KPI query pays now: read the label, value, prediction and probability of
    the feedback rows whose prediction is in the window, and sum them."""
    facts = ["version", "ts", "prediction", "proba__1"]
    sql = (
        "SELECT count(label), sum(value), sum(prediction), sum(proba__1) "
        f"FROM ({store.rows_sql(store.files('churn'), facts)}) "
        "WHERE version IS NOT NULL AND ts >= ? AND ts < ?"
    )
    row = reader.cursor().execute(sql, [start, end]).fetchone()
    return int(row[0]) if row else 0


def items(rows: int, count: int) -> pa.Table:
    """Feedback rows for ``count`` logged predictions, as the store has them before writing."""
    request_ids = [f"5f0c2a7e9b1d4c3e8a6f{i:012d}" for i in range(0, rows, rows // count)]
    return pa.table(
        {
            "key": pa.array(row_keys(request_ids, ["0"] * count)),
            "request_id": pa.array(request_ids),
            "row": pa.array(["0"] * count),
            "label": pa.array(["1"] * count),
        }
    )


def join_floor(reader: LogReader, store: FeedbackStore, start: datetime, end: datetime) -> int:
    """The least a KPI query pays: join the window's keys with the feedback's, and count."""
    source = reader.source_sql(reader.prediction_files("churn", start, end))
    rows = store.rows_sql(store.files("churn"))
    sql = (
        f"SELECT count(*) FROM (SELECT key FROM {source} WHERE ts >= ? AND ts < ?) "
        f"JOIN (SELECT key FROM ({rows})) USING (key)"
    )
    row = reader.cursor().execute(sql, [start, end]).fetchone()
    return int(row[0]) if row else 0


def make_records(count: int) -> list[PredictionRecord]:
    rng = np.random.default_rng(1)
    columns = tuple(f"f{i}" for i in range(20))
    classes = (0, 1)
    now = time.time()
    out = []
    for i in range(count):
        p = float(rng.random())
        out.append(
            PredictionRecord(
                "churn",
                1,
                f"req-{i}",
                now,
                1.2,
                "simple",
                columns,
                rng.random((1, 20)),
                np.array([int(p > 0.5)]),
                np.array([[1 - p, p]]),
                classes,
            )
        )
    return out


def bench_record(count: int) -> None:
    records = make_records(count)
    with tempfile.TemporaryDirectory(prefix="ferryman-bench-") as root:
        floor_start = time.perf_counter()
        sink: list[PredictionRecord] = []
        for record in records:
            sink.append(record)
        floor = (time.perf_counter() - floor_start) / count * 1e6
        for rate in (1.0, 0.1):
            log = PredictionLog(root, sample_rate=rate, max_pending_rows=count, flush_seconds=3600)
            start = time.perf_counter()
            for record in records:
                log.record(record)
            per_call = (time.perf_counter() - start) / count * 1e6
            print(
                f"{f'record() per call, sample_rate={rate}':<52} {per_call:8.2f} us"
                f"  (list.append {floor:.2f} us, ratio {per_call / floor:.1f}x)"
            )
            write_start = time.perf_counter()
            stats = log.close()
            seconds = time.perf_counter() - write_start
            if rate == 1.0:
                print(
                    f"{'writer: rows written per second (one flush)':<52} "
                    f"{stats.written / seconds:8.0f}    ({stats.written:,} rows in {seconds:.2f} s)"
                )
        log = PredictionLog(root, max_pending_rows=1000, flush_seconds=3600)
        start = time.perf_counter()
        for record in records:
            log.record(record)
        per_call = (time.perf_counter() - start) / count * 1e6
        stats = log.close()
        print(
            f"{'record() per call, queue full (dropped)':<52} {per_call:8.2f} us"
            f"  (dropped {stats.dropped:,})"
        )
        # steady state: 4 producer threads, the writer flushing every 0.2 s
        log = PredictionLog(root, flush_seconds=0.2)
        chunks = [records[i::4] for i in range(4)]
        start = time.perf_counter()
        threads = [threading.Thread(target=lambda c=c: [log.record(r) for r in c]) for c in chunks]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        stats = log.close()
        seconds = time.perf_counter() - start
        print(
            f"{'4 producers + writer, end to end':<52} {count / seconds:8.0f} rows/s"
            f"  (written {stats.written:,}, dropped {stats.dropped:,}, segments {stats.segments})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--data", help="folder to keep the generated log in and reuse")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPUs")
    bench_queries(args.rows, args.data)
    if args.records:  # --records 0 times the queries only
        bench_record(args.records)
    rss = _peak_rss()
    print(f"{'peak RSS':<52} {rss / 2**20:8.0f} MiB")


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


if __name__ == "__main__":
    main()
