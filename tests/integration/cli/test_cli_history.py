"""``ferryman history``: the audit log, newest first, with actor and before/after."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cli_support import Cli


@pytest.fixture
def busy_model(run: Cli, skops_file: Path, lightgbm_file: Path) -> Cli:
    """Model ``m`` created, two versions, alias moves, tag changes, then a version deleted."""
    run.ok("models", "create", "m", "--tag", "team=x")
    run.ok("register", skops_file, "--name", "m", "--metric", "acc=0.9")
    run.ok("register", lightgbm_file, "--name", "m")
    run.ok("alias", "set", "m", "production", "1")
    run.ok("alias", "set", "m", "production", "2")
    run.ok("rollback", "m")
    run.ok("versions", "tag", "m/2", "--tag", "checked=yes")
    run.ok("models", "update", "m", "--description", "churn", "--remove-tag", "team")
    run.ok("versions", "delete", "m/2", "--yes")
    return run


def events(run: Cli, *args: str) -> list[dict[str, Any]]:
    page = run.json("history", "m", *args)
    assert page["next_page_token"] is None
    return page["events"]


def test_history_lists_every_change_newest_first(busy_model: Cli) -> None:
    got = events(busy_model)

    assert [e["kind"] for e in got] == [
        "version.deleted",
        "model.updated",
        "version.updated",
        "alias.rollback",
        "alias.set",
        "alias.set",
        "version.created",
        "version.created",
        "model.created",
    ]
    assert {e["actor"] for e in got} == {"tester"}
    assert {e["model"] for e in got} == {"m"}
    assert [e["id"] for e in got] == sorted((e["id"] for e in got), reverse=True)


def test_history_records_before_and_after(busy_model: Cli) -> None:
    got = {e["kind"]: e for e in reversed(events(busy_model))}  # the newest of each kind

    created = got["model.created"]
    assert created["before"] is None
    assert created["after"]["tags"] == {"team": "x"}
    rollback = got["alias.rollback"]
    assert (rollback["alias"], rollback["before"], rollback["after"]) == (
        "production",
        {"version": 2},
        {"version": 1},
    )
    tagged = got["version.updated"]
    assert tagged["version"] == 2
    assert tagged["before"]["tags"] == {}
    assert tagged["after"]["tags"] == {"checked": "yes"}
    updated = got["model.updated"]
    assert updated["before"]["tags"] == {"team": "x"}
    assert updated["after"] == {"description": "churn", "tags": {}}
    deleted = got["version.deleted"]
    assert deleted["version"] == 2
    assert deleted["before"]["artifact_sha256"]
    assert deleted["after"] is None


def test_history_filters_by_kind(busy_model: Cli) -> None:
    got = events(busy_model, "--kind", "alias.set")

    assert [(e["kind"], e["alias"]) for e in got] == [("alias.set", "production")] * 2
    assert [(e["before"], e["after"]) for e in got] == [
        ({"version": 1}, {"version": 2}),
        ({"version": None}, {"version": 1}),
    ]


def test_history_filters_by_several_kinds(busy_model: Cli) -> None:
    got = events(busy_model, "--kind", "alias.rollback", "--kind", "version.created")

    assert [e["kind"] for e in got] == ["alias.rollback", "version.created", "version.created"]


def test_history_pages(busy_model: Cli) -> None:
    first = busy_model.json("history", "m", "--limit", "4")
    rest = busy_model.json(
        "history", "m", "--limit", "100", "--page-token", first["next_page_token"]
    )

    assert len(first["events"]) == 4
    assert [e["id"] for e in first["events"] + rest["events"]] == [
        e["id"] for e in events(busy_model)
    ]


def test_history_outlives_the_model(busy_model: Cli) -> None:
    busy_model.ok("alias", "rm", "m", "production")
    busy_model.ok("models", "delete", "m", "--yes")

    got = events(busy_model)

    assert got[0]["kind"] == "model.deleted"
    assert got[0]["actor"] == "tester"
    assert got[0]["before"] == {"versions": [1]}
    assert (got[1]["kind"], got[1]["alias"]) == ("alias.removed", "production")
    assert (got[1]["before"], got[1]["after"]) == ({"version": 1}, {"version": None})
    assert len(got) == 11


def test_history_table(busy_model: Cli) -> None:
    out = busy_model.ok("history", "m").stdout

    assert "alias.rollback" in out
    assert "2 -> 1" in out
    assert "sklearn sha256:" in out
    assert "acc=0.9" in out
    assert "tester" in out


def test_history_of_a_kind_that_never_happened(busy_model: Cli) -> None:
    assert events(busy_model, "--kind", "alias.removed") == []


def test_history_of_an_unknown_model(run: Cli) -> None:
    assert "no model named 'nope'" in run.fails("history", "nope")
