"""The durable log's journal: what a dead writer journaled is replayed once, never twice."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from test_writer import all_rows, binary, log_whose_first_write_fails

from ferryman.config import Settings
from ferryman.core.predictions import PredictionRecord
from ferryman.errors import ConfigError
from ferryman.monitoring.log import writer
from ferryman.monitoring.log.files import LogRoot
from ferryman.monitoring.log.journal import JOURNAL, Journal, replay
from ferryman.monitoring.log.scheme import PREDICTIONS
from ferryman.monitoring.log.writer import PredictionLog


def journals(root: Path) -> list[Path]:
    return sorted((root / JOURNAL).glob("*.journal"))


def die(log: PredictionLog) -> None:
    """What SIGKILL leaves: the journal files, closed without a word (their locks freed)."""
    assert log._journal is not None
    log._journal.close(written=False)
    log._journal = None


def test_a_dead_writers_journal_is_replayed_once(tmp_path: Path) -> None:
    log = PredictionLog(str(tmp_path), durable=True, start=False)
    for i in range(30):
        log.record(binary(i))
    assert journals(tmp_path)  # on disk before any flush
    die(log)
    again = PredictionLog(str(tmp_path), durable=True, start=False)
    assert again.stats.replayed == 30
    assert not [p for p in journals(tmp_path) if p.stat().st_size]  # only its own, empty
    third = PredictionLog(str(tmp_path), durable=True, start=False)
    assert third.stats.replayed == 0
    rows = all_rows(tmp_path)
    assert sorted(rows["request_id"]) == sorted(f"r{i}" for i in range(30))
    again.close()
    third.close()
    assert journals(tmp_path) == []


def test_rows_flushed_before_the_kill_are_not_replayed_again(tmp_path: Path) -> None:
    log = PredictionLog(str(tmp_path), durable=True, start=False)
    for i in range(10):
        log.record(binary(i))
    log.flush()  # written, and the generation released
    for i in range(10, 20):
        log.record(binary(i))
    # killed after the second flush wrote its segment, before it deleted the journal
    assert log._journal is not None
    journal = log._journal
    journal.release = lambda: None  # type: ignore[method-assign]
    log.flush()
    die(log)
    again = PredictionLog(str(tmp_path), durable=True, start=False)
    assert again.stats.replayed == 0
    again.close()
    rows = all_rows(tmp_path)
    assert sorted(rows["request_id"]) == sorted(f"r{i}" for i in range(20))


def test_a_live_writers_journal_is_left_alone(tmp_path: Path) -> None:
    first = PredictionLog(str(tmp_path), durable=True, start=False)
    for i in range(5):
        first.record(binary(i))
    second = PredictionLog(str(tmp_path), durable=True, start=False)
    assert second.stats.replayed == 0
    first.close()
    second.close()
    assert sorted(all_rows(tmp_path)["request_id"]) == sorted(f"r{i}" for i in range(5))


def test_durable_mode_needs_a_local_root() -> None:
    with pytest.raises(ConfigError, match="durable = true needs a local monitoring root"):
        Settings.load(monitoring={"durable": True, "root": "s3://bucket/log"})
    assert Settings.load(monitoring={"durable": True}).monitoring.durable


def logged_ids(root: Path) -> list[str]:
    """Every logged request id in the segments under ``root`` (each file read alone, so
    segments of different layouts in one folder are all counted)."""
    return [
        rid
        for path in sorted((root / PREDICTIONS).rglob("*.parquet"))
        if not path.name.startswith(".")
        for rid in pq.read_table(path, columns=["request_id"]).column(0).to_pylist()
    ]


def other_layout(i: int) -> PredictionRecord:
    """A row of the same model, version and day as ``binary``'s, in another table layout."""
    record = binary(i)
    return dataclasses.replace(record, columns=("g0", "g1", "g2"), probabilities=None)


def test_a_short_write_leaves_no_torn_frame_before_later_ones(tmp_path: Path) -> None:
    # a real short write: the file size limit (RLIMIT_FSIZE) stops the kernel mid-frame
    script = f"""
import json, os, resource, sys
sys.path.insert(0, {str(Path(__file__).parent)!r})
from test_writer import binary
from ferryman.monitoring.log.writer import PredictionLog
log = PredictionLog({str(tmp_path)!r}, durable=True, start=False)
path = log._journal._current.path
log.record(binary(0)); log.sync()
before = path.stat().st_size
hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
resource.setrlimit(resource.RLIMIT_FSIZE, (before + 64, hard))
log.record(binary(1)); log.sync()
errors, after = log.stats.write_errors, path.stat().st_size
resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))
log.record(binary(2)); log.sync()
print(json.dumps([before, errors, after]), flush=True)
os._exit(0)  # killed: the journal stays
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    before, errors, after = json.loads(done.stdout)
    assert errors == 1  # the failed sync is counted
    assert after == before  # the 64 bytes written of the frame were cut off again
    again = PredictionLog(str(tmp_path), durable=True, start=False)
    assert again.stats.replayed == 2  # the frame after the failed one is read too
    again.close()
    assert sorted(logged_ids(tmp_path)) == ["r0", "r2"]


def test_rows_retried_after_a_failed_write_keep_their_generation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = log_whose_first_write_fails(tmp_path, monkeypatch, OSError("no room"), 10, True)
    assert log.flush().write_errors == 1  # generation 0's rows wait for the next flush
    for i in range(10, 20):
        log.record(binary(i))
    assert log._journal is not None
    log._journal.release = lambda: None  # type: ignore[method-assign]
    log.flush()  # both generations' rows written; killed before the journal is deleted
    die(log)
    again = PredictionLog(str(tmp_path), durable=True, start=False)
    assert again.stats.replayed == 0
    again.close()
    assert sorted(logged_ids(tmp_path)) == sorted(f"r{i}" for i in range(20))


def test_a_partition_with_two_segments_of_one_generation_replays_the_missing_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = writer.write_parquet
    calls = {"n": 0}

    def second_fails(*args: Any, **kwargs: Any) -> str:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("killed here")
        return real(*args, **kwargs)

    monkeypatch.setattr(writer, "write_parquet", second_fails)
    log = PredictionLog(str(tmp_path), durable=True, start=False)
    for i in range(10):
        log.record(binary(i) if i % 2 else other_layout(i))
    log.sync()
    log.flush()  # one folder, two layouts: the first segment is written, then the kill
    assert len({p.parent for p in (tmp_path / PREDICTIONS).rglob("*.parquet")}) == 1
    assert len(logged_ids(tmp_path)) == 5
    die(log)
    again = PredictionLog(str(tmp_path), durable=True, start=False)
    assert again.stats.replayed == 5
    again.close()
    assert sorted(logged_ids(tmp_path)) == sorted(f"r{i}" for i in range(10))


def test_the_next_generation_is_opened_without_the_logs_lock(tmp_path: Path) -> None:
    log = PredictionLog(str(tmp_path), durable=True, start=False)
    journal = log._journal
    assert journal is not None
    with log._lock:  # what record() takes: held by a request meanwhile
        following = journal.open_next()  # the file work: done without the lock
    assert following.path.exists()
    files = journals(tmp_path)
    with log._lock:
        journal.rotate(following)  # only swaps
    assert journals(tmp_path) == files
    log.record(binary(0))
    log.close()
    assert logged_ids(tmp_path) == ["r0"]


def test_durable_segments_name_their_generation_and_layout(tmp_path: Path) -> None:
    log = PredictionLog(str(tmp_path), durable=True, start=False)
    log.record(binary(0))
    log.flush()
    (segment,) = list((tmp_path / PREDICTIONS).rglob("*.parquet"))
    assert "-j000000-k" in segment.name  # the generation and the segment key
    (journal,) = journals(tmp_path)  # generation 0 released once its rows are on disk
    assert journal.name.endswith("-j000001.journal")
    log.close()


def test_a_replay_never_takes_a_live_writers_new_generation(tmp_path: Path) -> None:
    # another worker starting replays while this one rotates: a generation file seen before
    # its lock was taken would be replayed (empty) and deleted under the live writer
    root = LogRoot.resolve(str(tmp_path))
    journal = Journal(root, "live")
    stop = threading.Event()

    def replay_until_stopped() -> None:
        while not stop.is_set():
            replay(root)

    other = threading.Thread(target=replay_until_stopped)
    other.start()
    gone = 0
    try:
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            journal.rotate(journal.open_next())
            journal.release()
            gone += not journal._current.path.exists()
    finally:
        stop.set()
        other.join()
    assert gone == 0
    assert [p.name for p in (tmp_path / JOURNAL).iterdir()] == [journal._current.path.name]
    journal.close(written=True)


def test_a_replay_removes_a_generation_file_its_writer_died_before_naming(
    tmp_path: Path,
) -> None:
    folder = tmp_path / JOURNAL
    folder.mkdir()
    dead, fresh = folder / ".dead-j000003.journal.new", folder / ".live-j000001.journal.new"
    dead.touch()
    os.utime(dead, (time.time() - 600, time.time() - 600))
    fresh.touch()  # a live writer's, about to be named
    assert replay(LogRoot.resolve(str(tmp_path))) == 0
    assert sorted(p.name for p in folder.iterdir()) == [fresh.name]
