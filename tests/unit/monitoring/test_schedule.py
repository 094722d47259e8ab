"""The server's monitoring schedule decides who merges the prediction log's files."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from filelock import FileLock

from ferryman.config import Settings
from ferryman.http.metrics import ServerMetrics
from ferryman.monitoring.schedule import Watch, lock_path
from ferryman.registry import Registry


def _watch(tmp_path: Path, schedule_seconds: float) -> tuple[Registry, Watch]:
    settings = Settings.load(
        home=tmp_path, record_git=False, monitoring={"schedule_seconds": schedule_seconds}
    )
    registry = Registry(settings)
    return registry, Watch(registry, ServerMetrics())


async def _started(watch: Watch) -> bool:
    watch.start(pool=None)  # type: ignore[arg-type] # the pool is read by the schedule's passes only
    assert watch.log is not None
    merging = watch.log.merge_own_segments
    await watch.stop()
    return merging


@pytest.mark.parametrize(("schedule_seconds", "merges"), [(300.0, False), (0.0, True)])
def test_the_writer_leaves_merging_to_the_schedules_upkeep_on_a_local_root(
    tmp_path: Path, schedule_seconds: float, merges: bool
) -> None:
    registry, watch = _watch(tmp_path, schedule_seconds)
    try:
        assert asyncio.run(_started(watch)) is merges
    finally:
        registry.close()


def test_a_worker_without_the_schedule_also_leaves_merging_to_the_one_with_it(
    tmp_path: Path,
) -> None:
    registry, watch = _watch(tmp_path, 300.0)
    other_worker = FileLock(str(lock_path(registry.settings)))
    other_worker.acquire()
    try:
        assert asyncio.run(_started(watch)) is False
    finally:
        other_worker.release()
        registry.close()
