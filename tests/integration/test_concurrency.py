"""Several processes registering versions of one model at once on the default SQLite store."""

from __future__ import annotations

import multiprocessing as mp
import queue
import time
import traceback
from pathlib import Path

from ferryman.config import Settings
from ferryman.registry import Registry

PROCESSES = 4
VERSIONS_EACH = 5


def _register_many(home: str, worker: int, barrier: object, results: object) -> None:
    try:
        import numpy as np
        from sklearn.linear_model import LogisticRegression

        rng = np.random.default_rng(worker)
        x = rng.normal(size=(50, 3))
        model = LogisticRegression().fit(x, x[:, 0] > 0)
        barrier.wait(timeout=120)  # type: ignore[attr-defined]
        # Opening the store at the same moment also races the schema creation.
        registry = Registry(Settings.load(home=home, actor=f"worker-{worker}", record_git=False))
        numbers = [
            registry.register(model, "shared", metrics={"worker": worker}).version
            for _ in range(VERSIONS_EACH)
        ]
        results.put((worker, numbers))  # type: ignore[attr-defined]
    except BaseException:  # report it: the parent shows the child's own traceback
        results.put((worker, traceback.format_exc()))  # type: ignore[attr-defined]
        raise


def _collect(results: object, workers: list, deadline: float) -> dict[int, list[int]]:
    got: dict[int, list[int]] = {}
    while len(got) < len(workers):
        try:
            worker, answer = results.get(timeout=1)  # type: ignore[attr-defined]
        except queue.Empty:
            dead = [w.exitcode for w in workers if w.exitcode not in (None, 0)]
            assert not dead, f"a worker died without reporting (exit codes {dead})"
            assert time.monotonic() < deadline, f"workers still running; got {sorted(got)}"
            continue
        assert not isinstance(answer, str), f"worker {worker} failed:\n{answer}"
        got[worker] = answer
    return got


def test_four_processes_get_distinct_consecutive_versions(tmp_path: Path) -> None:
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(PROCESSES)
    results = ctx.Queue()
    home = str(tmp_path / "store")
    workers = [
        ctx.Process(target=_register_many, args=(home, i, barrier, results))
        for i in range(PROCESSES)
    ]
    for w in workers:
        w.start()
    got = _collect(results, workers, time.monotonic() + 180)
    for w in workers:
        w.join(timeout=60)
        assert w.exitcode == 0
    total = PROCESSES * VERSIONS_EACH
    numbers = sorted(n for ns in got.values() for n in ns)
    assert numbers == list(range(1, total + 1))
    for ns in got.values():
        assert ns == sorted(ns)  # each worker's own versions come in order

    registry = Registry(Settings.load(home=home, record_git=False))
    versions = registry.list_versions("shared", limit=100).items
    assert sorted(v.version for v in versions) == list(range(1, total + 1))
    for v in versions:  # each version was written by the worker that got its number
        worker = int(v.metrics["worker"])
        assert v.version in got[worker]
        assert v.created_by == f"worker-{worker}"
    events = registry.history("shared", limit=1000).items
    created = [e for e in events if e.kind == "version.created"]
    assert sorted(e.version for e in created) == list(range(1, total + 1))  # type: ignore[type-var]
    assert [e.kind for e in events].count("model.created") == 1
    assert len(events) == total + 1
