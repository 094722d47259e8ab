"""A store, its artifacts, a prediction log and feedback written by the previous release
(``previous_release/``, made by ``make_previous_release.py``) open with this code: the same
versions, history and alerts, the same drift, quality and KPI figures from the old log, the
same predictions from the old artifact; and the old store takes new versions and new rows."""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from live_server import LiveServer, cli_json

OLD = Path(__file__).with_name("previous_release")
EXPECTED = json.loads((OLD / "expected.json").read_text())
WRITTEN_ON = datetime.fromisoformat(EXPECTED["written_on"]).replace(tzinfo=UTC)
# Fields that name the moment a query ran, not what it found.
MOMENT_KEYS = frozenset({"window", "window_start", "window_end", "computed_at", "at"})


def window() -> list[str]:
    """A window that reaches back to the old log's rows from today."""
    return ["--window", f"{(datetime.now(UTC) - WRITTEN_ON).days + 2}d"]


def assert_same(found: Any, expected: Any, where: str = "") -> None:
    """Equal data: the same keys in the same order, strings and integers; floats within 1e-9
    relative (they are recomputed, possibly along another BLAS path); moments of the query
    skipped."""
    if isinstance(expected, dict):
        assert isinstance(found, dict), where
        assert list(found) == list(expected), where
        for key, value in expected.items():
            if key not in MOMENT_KEYS:
                assert_same(found[key], value, f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(found, list), where
        assert len(found) == len(expected), where
        for i, (f, e) in enumerate(zip(found, expected, strict=True)):
            assert_same(f, e, f"{where}[{i}]")
    elif isinstance(expected, float) and not isinstance(found, bool):
        assert isinstance(found, int | float), where
        assert math.isclose(found, expected, rel_tol=1e-9, abs_tol=1e-12), where
    else:
        assert found == expected, where


@pytest.fixture
def old_home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    shutil.copytree(OLD / "home", home)
    return home


def test_the_fixture_was_written_by_an_earlier_commit() -> None:
    assert len(EXPECTED["written_by"]) == 40
    assert EXPECTED["versions"]["versions"][0]["version"] == 1


def test_versions_history_and_alerts_read_as_written(old_home: Path) -> None:
    for check, command in (
        ("versions", ("versions", "list")),
        ("history", ("history",)),
        ("alerts", ("monitor", "alerts")),
    ):
        found = cli_json(old_home, *command, "tumours")
        assert found == EXPECTED[check]  # stored: exactly as written
        assert_same(found, EXPECTED[check], check)  # and its keys in the same order


@pytest.mark.parametrize("check", ["drift", "quality", "performance"])
def test_the_old_log_and_feedback_give_the_same_figures(old_home: Path, check: str) -> None:
    found = cli_json(old_home, "monitor", check, "tumours", *window())
    assert_same(found, EXPECTED[check], check)


def test_a_run_on_the_old_store_keeps_its_alerts_firing(old_home: Path) -> None:
    found = cli_json(old_home, "monitor", "run", "tumours", *window())
    assert found["drifted"] == EXPECTED["run"]["drifted"]
    assert found["alerts_fired"] == []  # the old store's alerts are the same alerts
    assert sorted(found["alerts_still_firing"]) == sorted(
        EXPECTED["run"]["alerts_fired"] + EXPECTED["run"]["alerts_still_firing"]
    )


@pytest.fixture
def served(old_home: Path) -> Iterator[LiveServer]:
    server = LiveServer(old_home).start()
    try:
        yield server
    finally:
        server.stop()


def test_the_old_artifact_serves_and_the_old_log_takes_new_rows(
    served: LiveServer, old_home: Path
) -> None:
    records = pd.read_csv(OLD / "inputs.csv").to_dict(orient="records")
    answer = httpx.post(f"{served.url}/models/tumours/predict", json=records, timeout=30)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["predictions"] == EXPECTED["predictions"]["labels"]
    old_proba = EXPECTED["predictions"]["proba"]
    for found, expected in zip(body["probabilities"], old_proba, strict=True):
        assert found == pytest.approx(expected, rel=1e-9)
    stored = httpx.get(f"{served.url}/models/tumours/monitoring", timeout=30).json()
    old_drift = stored["results"]["drift"]["payload"]
    assert old_drift["share"] == pytest.approx(EXPECTED["drift"]["share"])
    served.stop()  # writes what the log holds
    drift = cli_json(old_home, "monitor", "drift", "tumours", *window())
    assert drift["live_rows"] == EXPECTED["drift"]["live_rows"] + len(records)


def test_the_old_store_takes_a_new_version(old_home: Path, tmp_path: Path) -> None:
    from sklearn.linear_model import LogisticRegression

    import ferryman

    rows = pd.read_csv(OLD / "inputs.csv")
    labels = ["a", "b"] * (len(rows) // 2)
    model = LogisticRegression().fit(rows, labels)
    version = ferryman.connect(home=old_home).register(model, "tumours", train_data=rows)
    assert version.version == 2
    listed = cli_json(old_home, "versions", "list", "tumours")
    assert [v["version"] for v in listed["versions"]] == [2, 1]
