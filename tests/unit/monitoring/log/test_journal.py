"""The durable log's journal: what a dead writer journaled is replayed once, never twice."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_writer import all_rows, binary

from ferryman.config import Settings
from ferryman.errors import ConfigError
from ferryman.monitoring.log.journal import JOURNAL
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
