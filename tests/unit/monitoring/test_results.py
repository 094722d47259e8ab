"""Stored monitoring results through the service: JSON-safe in and out, series, pruning."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from ferryman.errors import InvalidArgumentError
from ferryman.monitoring._json import json_safe
from ferryman.monitoring.results import MonitorResults
from ferryman.monitoring.storage import MonitorStore
from ferryman.store import open_database

T0 = datetime(2026, 3, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.fixture
def results(tmp_path: Path) -> Iterator[MonitorResults]:
    engine = open_database(f"sqlite:///{tmp_path / 'meta.db'}")
    yield MonitorResults(MonitorStore(engine))
    engine.dispose()


def save(results: MonitorResults, hour: int, share: float) -> None:
    start = T0 + hour * HOUR
    results.save(
        "churn",
        "drift",
        {"features": {"age": {"psi": share}}},
        summary={"share": share},
        window_start=start,
        window_end=start + HOUR,
        version=2,
    )


def test_nan_and_infinity_are_stored_as_none(results: MonitorResults) -> None:
    saved = results.save(
        "churn",
        "quality",
        {"psi": float("nan"), "list": [1.0, float("inf")], "np": np.float32("nan")},
        summary={"accuracy": np.float64(0.9), "f1": float("-inf")},
        window_start=T0,
        window_end=T0 + HOUR,
    )
    assert saved["payload"] == {"psi": None, "list": [1.0, None], "np": None}
    assert saved["summary"] == {"accuracy": 0.9, "f1": None}
    assert results.latest("churn", "quality") == saved
    json.dumps(saved, allow_nan=False)  # strict JSON
    assert saved["window_start"] == "2026-03-01T00:00:00Z"


def test_numpy_values_and_times_become_plain_json() -> None:
    value = {
        "n": np.int64(3),
        "b": np.bool_(True),
        "a": np.array([[1.5, np.nan]]),
        "t": datetime(2026, 3, 1, 12, tzinfo=UTC),
        "d": timedelta(minutes=2),
        1: ("x", {"y"}),
    }
    assert json_safe(value) == {
        "n": 3,
        "b": True,
        "a": [[1.5, None]],
        "t": "2026-03-01T12:00:00Z",
        "d": 120.0,
        "1": ["x", ["y"]],
    }


def test_values_json_cannot_hold_are_refused_by_place(results: MonitorResults) -> None:
    with pytest.raises(InvalidArgumentError, match=r"payload\['model'\] is a object"):
        results.save("churn", "drift", {"model": object()}, window_start=T0, window_end=T0)
    with pytest.raises(InvalidArgumentError, match="short name"):
        results.save("churn", "", {}, window_start=T0, window_end=T0)


def test_series_is_oldest_first_and_pruning_drops_old_windows(results: MonitorResults) -> None:
    for hour, share in [(2, 0.3), (0, 0.1), (1, 0.2)]:
        save(results, hour, share)
    series = results.series("churn", "drift")
    assert [p["summary"]["share"] for p in series] == [0.1, 0.2, 0.3]
    assert "payload" not in series[0]
    assert series[0]["window_end"] == "2026-03-01T01:00:00Z"
    assert results.series("churn", "drift", since=T0 + 2 * HOUR) == series[1:]
    assert results.prune(T0 + 2 * HOUR) == 1
    assert [p["summary"]["share"] for p in results.series("churn", "drift")] == [0.2, 0.3]
    latest = results.latest("churn", "drift", version=2)
    assert latest is not None
    assert latest["payload"] == {"features": {"age": {"psi": 0.3}}}
    assert results.latest("churn", "drift", version=1) is None
