"""``ferryman tokens``: create prints the secret once, list never does, bad input changes
nothing, every change is an event."""

from __future__ import annotations

import re
from pathlib import Path

from cli_support import Cli


def test_create_prints_the_secret_alone_on_stdout_and_advice_on_stderr(run: Cli) -> None:
    result = run.ok("tokens", "create", "ci", "--role", "predictor", "--models", "churn*")
    secret = result.stdout.strip()
    assert re.fullmatch(r"fm_[A-Za-z0-9_-]{43}", secret)
    assert "Authorization: Bearer" in result.stderr
    assert "created API token ci (predictor, churn*, never expires)" in result.stderr
    assert "warning: no model matches 'churn*' yet" in result.stderr

    listed = run.json("tokens", "list")["tokens"]
    assert [(t["name"], t["role"], t["scopes"], t["state"]) for t in listed] == [
        ("ci", "predictor", ["churn*"], "active")
    ]
    assert listed[0]["prefix"] == secret[:7]
    table = run.ok("tokens", "list").stdout
    assert "ci" in table
    assert "predictor" in table
    assert secret not in table
    assert secret not in str(listed)


def test_create_json_holds_the_token_and_its_facts(run: Cli) -> None:
    made = run.json("tokens", "create", "ops", "--role", "OPERATOR", "--expires", "12h")
    assert made["token"].startswith("fm_")
    assert (made["name"], made["role"], made["scopes"], made["state"]) == (
        "ops",
        "operator",
        [],
        "active",
    )
    assert made["expires"] is not None
    assert made["unmatched_models"] == []


def test_create_makes_a_store_where_none_is(run_without_store: Cli, home: Path) -> None:
    result = run_without_store.ok("tokens", "create", "first", "--role", "admin")
    assert "created a new store" in result.stderr
    assert (home / "ferryman.db").is_file()


def test_bad_input_is_one_error_line_and_changes_nothing(run: Cli) -> None:
    run.ok("tokens", "create", "ci", "--role", "viewer")
    cases = {
        ("tokens", "create", "x", "--role", "root"): "unknown role 'root'",
        ("tokens", "create", "ci", "--role", "admin"): "'ci' already exists",
        ("tokens", "create", "bad name", "--role", "viewer"): "invalid token name",
        ("tokens", "create", "x", "--role", "viewer", "--expires", "2001-01-01"): "in the past",
        ("tokens", "create", "x", "--role", "viewer", "--expires", "soon"): "nor a date",
        ("tokens", "create", "x", "--role", "viewer", "--models", "a b"): "model pattern",
        ("tokens", "revoke", "nope"): "no API token named 'nope'",
        ("tokens", "delete", "nope"): "no API token named 'nope'",
    }
    for args, message in cases.items():
        assert message in run.fails(*args), args
    assert [t["name"] for t in run.json("tokens", "list")["tokens"]] == ["ci"]
    assert [e["kind"] for e in run.json("tokens", "events")["events"]] == ["token.created"]


def test_a_missing_role_is_a_usage_error(run: Cli) -> None:
    assert "--role" in run.misused("tokens", "create", "x")


def test_revoke_delete_and_events(run: Cli) -> None:
    run.ok("tokens", "create", "ci", "--role", "viewer")
    assert "revoked API token ci" in run.ok("tokens", "revoke", "ci").stdout
    assert "already revoked" in run.fails("tokens", "revoke", "ci")
    assert run.json("tokens", "list")["tokens"][0]["state"] == "revoked"
    assert "deleted API token ci" in run.ok("tokens", "delete", "ci").stdout
    assert run.json("tokens", "list")["tokens"] == []
    events = run.json("tokens", "events", "ci")["events"]
    assert [e["kind"] for e in events] == ["token.deleted", "token.revoked", "token.created"]
    assert {e["actor"] for e in events} == {"tester"}
    assert "token.revoked" in run.ok("tokens", "events").stdout
    run.ok("tokens", "create", "other", "--role", "viewer")
    assert run.json("tokens", "revoke", "other")["state"] == "revoked"
    assert run.json("tokens", "delete", "other")["name"] == "other"
