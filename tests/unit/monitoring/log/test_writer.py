"""The prediction log: queue, sampling, drops, writing, failures, compaction, retention."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ferryman.core.predictions import PredictionBatch, PredictionRecord, RejectionRecord
from ferryman.monitoring.log import files, writer
from ferryman.monitoring.log.files import LogRoot, live_files
from ferryman.monitoring.log.reader import LogReader
from ferryman.monitoring.log.writer import PredictionLog

COLUMNS = ("f0", "f1", "f2")
NOW = time.time()


def binary(i: int, version: int = 1, at: float = NOW, model: str = "m") -> PredictionRecord:
    p = (i % 10) / 10
    return PredictionRecord(
        model,
        version,
        f"r{i}",
        at,
        1.0 + i % 7,
        "simple",
        COLUMNS,
        np.array([[i, i + 0.5, -i]], dtype=np.float64),
        np.array([int(p > 0.5)]),
        np.array([[1 - p, p]]),
        (0, 1),
    )


def all_rows(root: Path) -> pd.DataFrame:
    reader = LogReader(str(root))
    try:
        return reader.read_window("m", datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1))
    finally:
        reader.close()


def parquet_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.parquet") if not p.name.startswith("."))


def log_whose_first_write_fails(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    error: OSError,
    requests: int,
    durable: bool = False,
) -> PredictionLog:
    """A log (no writer thread) holding ``requests`` records, whose next segment write raises
    ``error``; later ones write for real."""
    real = files.write_parquet
    calls = {"n": 0}

    def flaky(*args: object, **kwargs: object) -> str:
        calls["n"] += 1
        if calls["n"] == 1:
            raise error
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(writer, "write_parquet", flaky)
    log = PredictionLog(str(tmp_path), durable=durable, start=False)
    for i in range(requests):
        log.record(binary(i))
    return log


def test_close_writes_everything_from_many_producers(tmp_path: Path) -> None:
    log = PredictionLog(str(tmp_path), flush_seconds=0.02, compact_files=4)
    per_thread, threads = 400, 8

    def produce(t: int) -> None:
        for i in range(per_thread):
            log.record(binary(t * per_thread + i, version=1 + i % 2))
            if i % 40 == 0:
                time.sleep(0.01)  # let the writer flush in between

    workers = [threading.Thread(target=produce, args=(t,)) for t in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    stats = log.close()
    total = per_thread * threads
    assert stats.received == stats.logged == stats.written == total
    assert stats.dropped == stats.pending == stats.write_errors == 0
    rows = all_rows(tmp_path)
    assert len(rows) == total
    assert set(rows["request_id"]) == {f"r{i}" for i in range(total)}
    assert stats.compacted > 0
    # a writer merges its fresh segments but not its merged files (how many are left depends
    # on how often it flushed); the server's upkeep merges everything small
    log.compact()
    assert len(parquet_files(tmp_path)) == 2  # one file per version and day
    assert len(all_rows(tmp_path)) == total


def test_overload_drops_are_counted_exactly(tmp_path: Path) -> None:
    log = PredictionLog(str(tmp_path), max_pending_rows=100, start=False)
    for i in range(250):
        log.record(binary(i))
    stats = log.stats
    assert (stats.received, stats.logged, stats.dropped) == (250, 100, 150)
    assert stats.received == stats.logged + stats.dropped + stats.sampled_out
    stats = log.flush()
    assert stats.written == 100
    assert stats.pending == 0
    for i in range(250, 300):  # room again after the flush
        log.record(binary(i))
    assert log.close().written == 150


def test_multi_row_request_that_does_not_fit_is_dropped_whole(tmp_path: Path) -> None:
    log = PredictionLog(str(tmp_path), max_pending_rows=5, start=False)
    big = PredictionRecord("m", 1, "big", NOW, 1.0, "batch", COLUMNS, np.zeros((6, 3)), np.zeros(6))
    log.record(big)
    stats = log.close()
    assert (stats.received, stats.dropped, stats.logged) == (6, 6, 0)


def test_sampling_rate_is_respected(tmp_path: Path) -> None:
    log = PredictionLog(str(tmp_path), sample_rate=0.3, seed=7, start=False)
    for i in range(5000):
        log.record(binary(i))
    stats = log.close()
    assert stats.received == stats.logged + stats.sampled_out + stats.dropped == 5000
    assert 0.27 < stats.logged / 5000 < 0.33
    assert stats.written == stats.logged


def test_write_failure_is_counted_kept_and_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = log_whose_first_write_fails(
        tmp_path, monkeypatch, OSError(28, "No space left on device"), 10
    )
    stats = log.flush()
    assert (stats.write_errors, stats.written, stats.pending) == (1, 0, 10)
    stats = log.flush()
    assert (stats.write_errors, stats.written, stats.pending) == (1, 10, 0)
    assert len(all_rows(tmp_path)) == 10


def test_unwritable_root_is_not_fatal(tmp_path: Path) -> None:
    root = tmp_path / "a-file"
    root.write_text("not a folder")
    log = PredictionLog(str(root), flush_seconds=0.01)
    for i in range(5):
        log.record(binary(i))
    time.sleep(0.1)
    log.record(binary(99))  # still accepted while failing
    stats = log.close(timeout=1)
    assert stats.write_errors >= 1
    assert stats.written == 0
    assert stats.pending == 6


def test_record_after_close_is_dropped(tmp_path: Path) -> None:
    log = PredictionLog(str(tmp_path), start=False)
    log.close()
    log.record(binary(1))
    assert log.stats.dropped == 1


def test_columns_keep_types_and_names(tmp_path: Path) -> None:
    log = PredictionLog(str(tmp_path), start=False)
    frame = pd.DataFrame({"city": ["Oslo", "Rome"], "score": [1.5, 2.5], "n": [1, 2]})
    log.record(
        PredictionRecord(
            "m",
            3,
            "q1",
            NOW,
            2.0,
            "batch",
            ("city", "score", "n"),
            frame,
            np.array(["b", "c"], dtype=object),
            np.array([[0.2, 0.7, 0.1], [0.1, 0.2, 0.7]]),
            ("a", "b", "c"),
            row_ids=["id-9", "id-10"],
        )
    )
    log.record(
        PredictionRecord(
            "reg", 1, "q2", NOW, 2.0, "simple", COLUMNS, np.ones((1, 3)), np.array([4.25])
        )
    )
    log.close()
    (path,) = (tmp_path / "predictions" / "model=m" / "version=3").rglob("*.parquet")
    table = pq.read_table(path)
    assert table.column("prediction").to_pylist() == ["b", "c"]
    assert table.column("score").to_pylist() == [0.7, 0.7]  # the predicted class's
    assert table.column("proba__a").to_pylist() == [0.2, 0.1]
    assert table.column("row").to_pylist() == ["id-9", "id-10"]
    assert table.column("city").to_pylist() == ["Oslo", "Rome"]
    assert table.column("feature__score").to_pylist() == [1.5, 2.5]
    assert str(table.schema.field("ts").type) == "timestamp[us, tz=UTC]"
    (path,) = (tmp_path / "predictions" / "model=reg").rglob("*.parquet")
    table = pq.read_table(path)
    assert table.column("prediction").to_pylist() == [4.25]
    assert table.column("score").to_pylist() == [None]
    assert table.column("row").to_pylist() == ["0"]


def test_bad_record_is_discarded_not_fatal(tmp_path: Path) -> None:
    log = PredictionLog(str(tmp_path), start=False)
    log.record(binary(1))
    broken = PredictionRecord(
        "m", 1, "bad", NOW, 1.0, "simple", COLUMNS, np.zeros((1, 2)), np.array([1])
    )  # two inputs for three columns
    log.record(broken)
    log.record(binary(2))
    stats = log.close()
    assert (stats.written, stats.discarded, stats.pending) == (2, 1, 0)


def test_compaction_keeps_every_row_exactly_once(tmp_path: Path) -> None:
    log = PredictionLog(str(tmp_path), start=False, compact_files=10_000)
    for i in range(60):
        log.record(binary(i, version=1 + i % 2))
        if i % 3 == 0:
            log.flush()
    log.flush()
    before = all_rows(tmp_path)
    assert len(parquet_files(tmp_path)) > 10
    merged = log.compact()
    assert merged > 10
    assert len(parquet_files(tmp_path)) == 2
    after = all_rows(tmp_path)
    assert sorted(after["request_id"]) == sorted(before["request_id"])
    assert len(after) == 60
    log.close()


def test_an_interrupted_compaction_never_shows_a_row_twice(tmp_path: Path) -> None:
    log = PredictionLog(str(tmp_path), start=False, compact_files=10_000)
    for i in range(6):
        log.record(binary(i))
        log.flush()
    root = LogRoot.resolve(str(tmp_path))
    (folder,) = {str(p.parent) for p in parquet_files(tmp_path)}
    old = live_files(root, folder)
    # a compaction that wrote its file but died before deleting the old ones
    table = _read_all(old)
    names = [Path(p).name for p in old]
    files.write_parquet(root, folder, "c-crashed.parquet", table, names)
    assert len(parquet_files(tmp_path)) == 7
    assert len(all_rows(tmp_path)) == 6
    log.compact()  # the next compaction deletes the leftovers
    assert [p.name for p in parquet_files(tmp_path)] == ["c-crashed.parquet"]
    assert len(all_rows(tmp_path)) == 6
    log.close()


def _read_all(paths: list[str]) -> pa.Table:
    return pa.concat_tables([pq.read_table(p) for p in paths])


def test_prune_deletes_only_days_past_retention(tmp_path: Path) -> None:
    now = datetime(2026, 6, 30, 12, tzinfo=UTC)
    log = PredictionLog(str(tmp_path), start=False)
    for days, i in ((40, 1), (29, 2), (0, 3)):
        at = (now - timedelta(days=days)).timestamp()
        log.record(binary(i, at=at))
        log.reject(RejectionRecord("m", 1, f"x{i}", at, "simple", ((0, "f0", "type"),)))
    log.flush()
    deleted = log.prune(30, now=now)
    assert deleted == 2  # one predictions day, one rejections day
    days = sorted(p.name for p in tmp_path.glob("predictions/model=m/version=1/*"))
    assert days == ["day=2026-06-01", "day=2026-06-30"]
    assert len(list(tmp_path.glob("rejections/model=m/*"))) == 2
    log.close()


def test_rejections_are_written(tmp_path: Path) -> None:
    log = PredictionLog(str(tmp_path), start=False)
    log.reject(RejectionRecord("m", 2, "x", NOW, "simple", ((0, "f0", "type"), (1, None, "x"))))
    stats = log.close()
    assert (stats.rejections, stats.rejections_written) == (2, 2)
    (path,) = tmp_path.glob("rejections/model=m/day=*/*.parquet")
    table = pq.read_table(path)
    assert table.column("column").to_pylist() == ["f0", None]
    assert table.column("version").to_pylist() == [2, 2]


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="sample_rate"):
        PredictionLog("/tmp/x", sample_rate=2.0, start=False)


def test_the_writers_merge_and_the_upkeep_merge_never_double_rows(tmp_path: Path) -> None:
    """The writer merging its own segments and the server's upkeep merging everyone's, at the
    same instant over the same folder: every row is still read exactly once."""
    for trial in range(5):
        root = tmp_path / f"t{trial}"
        log = PredictionLog(str(root), start=False, compact_files=10**9)
        for i in range(30):
            log.record(
                PredictionRecord(
                    "m", 1, f"r{i}", time.time(), 1.0, "predict", ("a",),
                    np.array([[float(i)]]), np.array([0.0]),
                )
            )  # fmt: skip
            log.flush()  # one segment per record
        barrier = threading.Barrier(2)

        def own(log: PredictionLog = log, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            log._compact_own(2)

        def upkeep(log: PredictionLog = log, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            log.compact()

        threads = [threading.Thread(target=own), threading.Thread(target=upkeep)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        reader = LogReader(str(root))
        now = datetime.now(UTC)
        try:
            counts = reader.count_by_version(
                "m", now - timedelta(hours=1), now + timedelta(hours=1)
            )
        finally:
            reader.close()
        assert counts == {1: 30}


def test_prune_deletes_old_feedback_too(tmp_path: Path) -> None:
    now = datetime(2026, 6, 30, 12, tzinfo=UTC)
    for day in ("2026-05-01", "2026-06-29"):
        folder = tmp_path / "feedback" / "model=m" / f"day={day}"
        folder.mkdir(parents=True)
        (folder / "s-x.parquet").write_bytes(b"")
    log = PredictionLog(str(tmp_path), start=False)
    assert log.prune(30, now=now) == 1
    assert [p.name for p in (tmp_path / "feedback" / "model=m").iterdir()] == ["day=2026-06-29"]
    log.close()


def test_rows_of_a_failed_write_are_written_before_later_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = log_whose_first_write_fails(tmp_path, monkeypatch, OSError(5, "Input/output error"), 5)
    log.flush()  # fails: the five go back to the front
    for i in range(5, 8):
        log.record(binary(i))
    stats = log.flush()

    assert (stats.write_errors, stats.written, stats.pending) == (1, 8, 0)
    files = parquet_files(tmp_path)
    assert len(files) == 1
    assert pq.read_table(files[0]).column("request_id").to_pylist() == [f"r{i}" for i in range(8)]


def test_a_flush_spanning_midnight_writes_each_day_to_its_folder(tmp_path: Path) -> None:
    midnight = datetime(2026, 11, 30, tzinfo=UTC).timestamp()
    log = PredictionLog(str(tmp_path), start=False)
    for i, at in enumerate([midnight - 2, midnight - 1, midnight, midnight + 1, midnight - 0.5]):
        log.record(binary(i, at=at))
    log.close()

    days = {p.parent.name: pq.read_table(p).column("request_id").to_pylist() for p in
            parquet_files(tmp_path)}  # fmt: skip
    assert days == {"day=2026-11-29": ["r0", "r1", "r4"], "day=2026-11-30": ["r2", "r3"]}


def test_pending_records_leave_nothing_for_the_garbage_collector(tmp_path: Path) -> None:
    """Keeping one tracked object per request would set off collections of the older
    generations the server does not otherwise run (bench/monitoring_overhead.py measured
    0.7-1.8 us per request): what waits for the writer must be untracked by the young
    generations' passes, and a record or batch handed to the log must not be kept. (A
    batch's tuple holds new tuples of its requests' fields: the first pass untracks those,
    the second the batch's, so a waiting batch never reaches the oldest generation.)"""
    import gc
    import sys

    log = PredictionLog(str(tmp_path), start=False, max_pending_rows=10_000)
    log.record(binary(-1))
    gc.collect()
    gc.disable()
    try:
        before = len(gc.get_objects())
        kept = 0
        for i in range(1_000):  # as scoring does: a record per chunk, not kept
            record = binary(i)
            log.record(record)
            kept += sys.getrefcount(record) > 2  # this name and getrefcount's argument
        for i in range(1_000, 2_000, 4):  # as the server does: a batch per model call
            batch = served_batch(range(i, i + 4))
            log.record_batch(batch)
            kept += sys.getrefcount(batch) > 2
        gc.collect(0)  # what the interpreter runs every 700 allocations
        gc.collect(1)  # and every tenth time, with the middle generation
        after = len(gc.get_objects())
    finally:
        gc.enable()

    assert kept == 0
    assert after - before < 50
    assert log.close().written == 2_001


def test_fresh_segments_are_plain_and_merged_files_compressed_with_few_dictionaries(
    tmp_path: Path,
) -> None:
    def chunks(path: Path) -> dict[str, pq.ColumnChunkMetaData]:
        group = pq.ParquetFile(path).metadata.row_group(0)
        return {group.column(i).path_in_schema: group.column(i) for i in range(group.num_columns)}

    log = PredictionLog(str(tmp_path), start=False)
    for i in range(20):
        log.record(binary(i))
    log.flush()
    log.record(binary(20))
    log.flush()
    fresh = chunks(parquet_files(tmp_path)[0])
    assert {c.compression for c in fresh.values()} == {"UNCOMPRESSED"}
    assert [name for name, c in fresh.items() if c.is_stats_set] == ["ts"]

    assert log.compact() == 2
    merged = chunks(parquet_files(tmp_path)[0])
    assert {c.compression for c in merged.values()} == {"ZSTD"}
    dictionary = {name for name, c in merged.items() if c.has_dictionary_page}
    assert dictionary == {"row", "source"}  # text that repeats; not request_id, not numbers
    assert [name for name, c in merged.items() if c.is_stats_set] == ["ts"]
    assert len(all_rows(tmp_path)) == 21


def test_an_empty_request_beside_a_two_row_one_names_every_row_right(tmp_path: Path) -> None:
    log = PredictionLog(str(tmp_path), start=False)
    empty = PredictionRecord(
        "m", 1, "empty", NOW, 1.0, "simple", COLUMNS, np.zeros((0, 3)), np.array([], dtype=int),
        np.zeros((0, 2)), (0, 1),
    )  # fmt: skip
    two = PredictionRecord(
        "m", 1, "two", NOW, 1.0, "simple", COLUMNS, np.ones((2, 3)), np.array([0, 1]),
        np.array([[0.9, 0.1], [0.2, 0.8]]), (0, 1),
    )  # fmt: skip
    log.record(empty)
    log.record(two)
    log.close()

    rows = all_rows(tmp_path)
    assert rows["request_id"].tolist() == ["two", "two"]
    assert rows["row"].tolist() == ["0", "1"]


def test_a_writers_own_merge_is_compressed_like_any_merged_file(tmp_path: Path) -> None:
    """On a remote root (or with the schedule off) a writer's merges are the lasting files."""
    log = PredictionLog(str(tmp_path), start=False, compact_files=3)
    for i in range(3):
        log.record(binary(i))
        log.flush()

    (merged,) = parquet_files(tmp_path)
    assert merged.name.startswith("c-")
    assert pq.ParquetFile(merged).metadata.row_group(0).column(0).compression == "ZSTD"
    assert log.stats.compacted == 3


def served_batch(ids: Iterable[int], sizes: Sequence[int] | None = None) -> PredictionBatch:
    """What a server hands the log for one model call: requests ``r<i>`` (one row each
    unless ``sizes``), their rows stacked, each with its own latency and endpoint."""
    ids = list(ids)
    sizes = list(sizes) if sizes is not None else [1] * len(ids)
    total = sum(sizes)
    p = (np.arange(total) % 10) / 10
    return PredictionBatch(
        "m", 1, NOW, COLUMNS,
        np.arange(total * 3, dtype=np.float64).reshape(total, 3),
        (p > 0.5).astype(int), np.column_stack([1 - p, p]), (0, 1),
        tuple(f"r{i}" for i in ids), tuple(1.0 + i for i in ids),
        tuple("v2_infer" if i % 2 else "predict" for i in ids), tuple(sizes),
    )  # fmt: skip


def test_a_batch_is_logged_row_by_row_with_each_requests_own_fields(tmp_path: Path) -> None:
    log = PredictionLog(str(tmp_path), start=False)
    batch = served_batch([10, 11, 12], sizes=[2, 0, 3])
    log.record(binary(1))  # a record and batches share one segment
    log.record_batch(batch)
    log.record_batch(served_batch([13, 14]))
    stats = log.close()
    assert (stats.received, stats.logged, stats.written) == (8, 8, 8)

    rows = all_rows(tmp_path).sort_values("ts", kind="stable")
    assert rows["request_id"].tolist() == ["r1", "r10", "r10", "r12", "r12", "r12", "r13", "r14"]
    assert rows["row"].tolist() == ["0", "0", "1", "0", "1", "2", "0", "0"]
    assert rows["latency_ms"].tolist() == [2.0, 11.0, 11.0, 13.0, 13.0, 13.0, 14.0, 15.0]
    assert rows["source"].tolist()[1:] == ["predict"] * 5 + ["v2_infer", "predict"]
    assert rows["f0"].tolist()[1:6] == batch.inputs[:, 0].tolist()
    assert rows["proba__1"].tolist()[1:6] == batch.probabilities[:, 1].tolist()
    assert rows["prediction"].tolist()[1:6] == batch.predictions.tolist()
    (path,) = parquet_files(tmp_path)
    assert len(set(pq.read_table(path).column("key").to_pylist())) == 8  # id and row: the key


def test_batches_are_sampled_request_by_request(tmp_path: Path) -> None:
    log = PredictionLog(str(tmp_path), sample_rate=0.5, seed=3, start=False)
    sizes = [1, 2, 3, 1] * 50
    for b in range(25):
        log.record_batch(served_batch(range(b * 8, b * 8 + 8), sizes=sizes[b * 8 : b * 8 + 8]))
    stats = log.close()
    assert stats.received == stats.logged + stats.sampled_out == sum(sizes[:200])
    rows = all_rows(tmp_path)
    per_request = rows.groupby("request_id").size()
    # each kept request has all its rows, its own: sampling never splits a request
    assert all(per_request[f"r{i}"] == sizes[i] for i in map(int, per_request.index.str[1:]))
    assert 0.35 < len(per_request) / 200 < 0.65
    assert stats.written == len(rows) == stats.logged
    first = all_rows(tmp_path).sort_values(["ts", "request_id", "row"])
    i = int(first["request_id"].iloc[0][1:])
    assert first["latency_ms"].iloc[0] == 1.0 + i  # fields stay with their request


def test_a_batch_whose_parts_disagree_is_refused_at_once(tmp_path: Path) -> None:
    log = PredictionLog(str(tmp_path), start=False)
    log.record_batch(served_batch([0, 1]))
    short = served_batch([2, 3])
    short.sizes = (1, 2)
    with pytest.raises(ValueError, match="sizes add up to 3 rows, the batch has 2 predictions"):
        log.record_batch(short)
    uneven = served_batch([4, 5])
    uneven.sources = ("predict",)
    with pytest.raises(ValueError, match="sources has 1 entries for 2 requests"):
        log.record_batch(uneven)
    stats = log.close()
    assert (stats.received, stats.written, stats.pending) == (2, 2, 0)


def test_a_batch_whose_rows_do_not_line_up_is_refused_before_anything_is_written(
    tmp_path: Path,
) -> None:
    """Misaligned rows would convert request by request into wrong rows (a feature value on
    another request's row): such a batch is refused at the call, whole."""
    log = PredictionLog(str(tmp_path), start=False)
    extra_input = served_batch([0, 1], sizes=[1, 2])
    extra_input.inputs = np.vstack([np.full((1, 3), 99.0), extra_input.inputs])
    with pytest.raises(ValueError, match="inputs has 4 rows for 3 predictions"):
        log.record_batch(extra_input)
    short_proba = served_batch([2, 3])
    short_proba.probabilities = short_proba.probabilities[:1]
    with pytest.raises(ValueError, match="probabilities has 1 rows for 2 predictions"):
        log.record_batch(short_proba)
    ids_of_another_request = served_batch([4, 5], sizes=[0, 2])
    ids_of_another_request.row_ids = (["x"], ["y"])  # the totals match, request 0's do not
    with pytest.raises(ValueError, match="request 0 has 1 row ids for its 0 rows"):
        log.record_batch(ids_of_another_request)
    log.record_batch(served_batch([6]))
    stats = log.close()
    assert (stats.received, stats.written, stats.discarded) == (1, 1, 0)
    assert all_rows(tmp_path)["request_id"].tolist() == ["r6"]


def test_sampling_a_batch_keeps_each_requests_own_rows_and_ids(tmp_path: Path) -> None:
    """DataFrame inputs with an index of their own and caller row ids, sampled per request."""
    log = PredictionLog(str(tmp_path), sample_rate=0.5, seed=5, start=False)
    sizes = (2, 1, 3, 2, 1, 2)
    total = sum(sizes)
    at = np.arange(total)
    frame = pd.DataFrame({"f0": at * 1.5, "f1": -at * 1.0, "f2": at + 0.25}, index=at[::-1] * 7)
    owner = np.repeat(np.arange(len(sizes)), sizes)
    ids = tuple([f"id{k}-{j}" for j in range(size)] for k, size in enumerate(sizes))
    for _ in range(20):
        log.record_batch(
            PredictionBatch(
                "m",
                1,
                NOW,
                COLUMNS,
                frame,
                owner.copy(),
                None,
                None,
                tuple(f"q{k}" for k in range(len(sizes))),
                tuple(float(k) for k in range(6)),
                ("predict",) * len(sizes),
                sizes,
                ids,
            )
        )
    stats = log.close()
    assert stats.received == stats.logged + stats.sampled_out == 20 * total
    assert 0 < stats.logged < 20 * total
    rows = all_rows(tmp_path)
    assert len(rows) == stats.written == stats.logged
    for _, row in rows.iterrows():
        k = int(row["request_id"][1:])
        assert row["prediction"] == k  # the request's own answer
        assert row["latency_ms"] == float(k)
        assert row["row"].startswith(f"id{k}-")
        i = np.flatnonzero(owner == k)[int(row["row"].split("-")[1])]
        assert (row["f0"], row["f1"], row["f2"]) == (i * 1.5, -i * 1.0, i + 0.25)
