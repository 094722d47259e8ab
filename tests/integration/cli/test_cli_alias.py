"""``ferryman alias`` and ``ferryman rollback``: promotion, removal, history, rollback."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import Cli


@pytest.fixture
def two_versions(run: Cli, skops_file: Path, lightgbm_file: Path) -> Cli:
    run.ok("register", skops_file, "--name", "m")
    run.ok("register", lightgbm_file, "--name", "m")
    return run


def test_alias_set_moves_the_alias(two_versions: Cli) -> None:
    first = two_versions.ok("alias", "set", "m", "production", "1")
    second = two_versions.ok("alias", "set", "m", "production", "2")
    again = two_versions.ok("alias", "set", "m", "production", "2")

    assert first.stdout.strip() == "m@production: nothing -> version 1"
    assert second.stdout.strip() == "m@production: version 1 -> version 2"
    assert again.stdout.strip() == "m@production already points at version 2"
    assert two_versions.json("versions", "show", "m")["version"] == 2
    assert two_versions.json("versions", "show", "m/1")["aliases"] == []


def test_alias_set_to_an_unknown_version_changes_nothing(two_versions: Cli) -> None:
    two_versions.ok("alias", "set", "m", "production", "1")

    line = two_versions.fails("alias", "set", "m", "production", "9")

    assert "no version 9" in line
    assert two_versions.json("alias", "list", "m") == {"production": 1}


def test_alias_rm(two_versions: Cli) -> None:
    two_versions.ok("alias", "set", "m", "production", "1")
    two_versions.ok("alias", "set", "m", "staging", "2")

    result = two_versions.ok("alias", "rm", "m", "production")

    assert result.stdout.strip() == "m@production: version 1 -> nothing"
    assert two_versions.json("alias", "list", "m") == {"staging": 2}
    assert "no alias 'production'" in two_versions.fails("versions", "show", "m")


def test_alias_rm_of_an_unknown_alias(two_versions: Cli) -> None:
    line = two_versions.fails("alias", "rm", "m", "canary")

    assert "canary" in line


def test_alias_list(two_versions: Cli) -> None:
    two_versions.ok("alias", "set", "m", "production", "1")
    two_versions.ok("alias", "set", "m", "staging", "2")

    assert two_versions.json("alias", "list", "m") == {"production": 1, "staging": 2}
    table = two_versions.ok("alias", "list", "m").stdout
    assert "production" in table
    assert "staging" in table


def test_alias_list_history_json(two_versions: Cli) -> None:
    two_versions.ok("alias", "set", "m", "production", "1")
    two_versions.ok("alias", "set", "m", "production", "2")
    two_versions.ok("alias", "set", "m", "staging", "1")
    two_versions.ok("rollback", "m")
    two_versions.ok("alias", "rm", "m", "staging")

    moves = two_versions.json("alias", "list", "m", "--history")

    assert [(m["alias"], m["from_version"], m["to_version"]) for m in moves] == [
        ("production", None, 1),
        ("production", 1, 2),
        ("staging", None, 1),
        ("production", 2, 1),
        ("staging", 1, None),
    ]
    assert {m["actor"] for m in moves} == {"tester"}
    assert moves[0]["kind"] == "set"
    assert [m["at"] for m in moves] == sorted(m["at"] for m in moves)


def test_alias_list_history_table(two_versions: Cli) -> None:
    two_versions.ok("alias", "set", "m", "production", "1")
    two_versions.ok("alias", "set", "m", "production", "2")

    out = two_versions.ok("alias", "list", "m", "--history").stdout

    assert out.count("production") == 2
    assert "tester" in out


def test_rollback_production(two_versions: Cli) -> None:
    two_versions.ok("alias", "set", "m", "production", "1")
    two_versions.ok("alias", "set", "m", "production", "2")

    result = two_versions.ok("rollback", "m")

    assert result.stdout.strip() == "m@production: version 2 -> version 1"
    assert two_versions.json("versions", "show", "m")["version"] == 1


def test_rollback_another_alias(two_versions: Cli) -> None:
    two_versions.ok("alias", "set", "m", "production", "2")
    two_versions.ok("alias", "set", "m", "staging", "1")
    two_versions.ok("alias", "set", "m", "staging", "2")

    two_versions.ok("rollback", "m", "--alias", "staging")

    assert two_versions.json("versions", "show", "m@staging")["version"] == 1
    assert two_versions.json("versions", "show", "m")["version"] == 2


def test_rollback_without_an_earlier_target(two_versions: Cli) -> None:
    two_versions.ok("alias", "set", "m", "production", "1")

    line = two_versions.fails("rollback", "m")

    assert "production" in line
    assert two_versions.json("alias", "list", "m") == {"production": 1}


def test_rollback_of_an_alias_never_set(two_versions: Cli) -> None:
    line = two_versions.fails("rollback", "m", "--alias", "staging")

    assert "staging" in line
    assert two_versions.json("alias", "list", "m") == {}
