"""The token book: create, list, revoke, delete; expiry and scope checks; nothing half-written."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from ferryman.access import Role, TokenBook, check_scopes, parse_expiry
from ferryman.errors import (
    InvalidArgumentError,
    InvalidNameError,
    TokenExistsError,
    TokenNotFoundError,
)
from ferryman.registry import Registry

NOW = datetime(2026, 12, 8, 12, 0, tzinfo=UTC)


@pytest.fixture
def book(registry: Registry) -> TokenBook:
    return TokenBook(registry)


def stored_rows(registry: Registry) -> list[tuple[object, ...]]:
    path = registry.settings.database_file
    assert path is not None
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT * FROM api_tokens").fetchall()


def test_create_returns_the_secret_once_and_keeps_only_its_digest(
    book: TokenBook, registry: Registry
) -> None:
    info, secret = book.create("ci", "predictor", models=["churn*"], expires="90d")
    assert secret.startswith("fm_")
    assert len(secret) == 46
    assert (info.name, info.role, info.scopes) == ("ci", Role.PREDICTOR, ("churn*",))
    assert info.prefix == secret[:7]
    assert info.created_by == "tester"
    assert info.expires is not None
    assert timedelta(days=89, hours=23) < info.expires - info.created < timedelta(days=90, hours=1)
    assert info.state() == "active"
    rows = stored_rows(registry)
    assert len(rows) == 1
    assert secret not in repr(rows)
    assert secret[7:] not in repr(rows)


def test_the_database_file_never_holds_the_secret(book: TokenBook, registry: Registry) -> None:
    secrets = [book.create(f"t{i}", "viewer")[1] for i in range(3)]
    registry.close()
    path = registry.settings.database_file
    assert path is not None
    data = b"".join(
        p.read_bytes() for p in path.parent.glob(path.name + "*") if p.is_file()
    )  # the file and its WAL
    assert b"api_tokens" in data
    for secret in secrets:
        assert secret.encode() not in data
        assert secret[7:].encode() not in data  # nor its part past the shown prefix


def test_secrets_are_distinct(book: TokenBook) -> None:
    secrets = {book.create(f"t{i}", "viewer")[1] for i in range(20)}
    assert len(secrets) == 20


def test_list_shows_every_token_with_its_state(book: TokenBook) -> None:
    book.create("b-admin", Role.ADMIN)
    book.create("a-viewer", "viewer")
    book.revoke("a-viewer")
    listed = book.list()
    assert [t.name for t in listed] == ["a-viewer", "b-admin"]
    assert [t.state() for t in listed] == ["revoked", "active"]
    assert listed[0].revoked_by == "tester"
    as_json = listed[1].to_dict()
    assert as_json["role"] == "admin"
    assert as_json["state"] == "active"
    assert set(as_json) >= {"name", "role", "scopes", "created", "expires", "last_used"}
    assert book.active_count() == 1


def test_duplicate_name_is_refused_and_nothing_changes(book: TokenBook) -> None:
    book.create("ci", "viewer")
    with pytest.raises(TokenExistsError, match="'ci' already exists"):
        book.create("ci", "admin")
    assert [(t.name, t.role) for t in book.list()] == [("ci", Role.VIEWER)]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"name": "bad name"}, InvalidNameError, "invalid token name"),
        ({"name": ""}, InvalidNameError, "token name"),
        ({"role": "root"}, InvalidArgumentError, "unknown role 'root'"),
        ({"models": ["churn/eu"]}, InvalidArgumentError, "invalid model pattern"),
        ({"models": [""]}, InvalidArgumentError, "non-empty"),
        ({"models": ["[ab"]}, InvalidArgumentError, "brackets"),
        ({"expires": "soon"}, InvalidArgumentError, "neither a duration nor a date"),
        ({"expires": "2001-01-01"}, InvalidArgumentError, "in the past"),
        ({"expires": "0d"}, InvalidArgumentError, "longer than zero|in the past"),
        ({"expires": "99999999999d"}, InvalidArgumentError, "too far in the future"),
        ({"expires": "9999-12-31T23:00:00-05:00"}, InvalidArgumentError, "too far"),
        ({"expires": ""}, InvalidArgumentError, "neither a duration nor a date"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(
    book: TokenBook, kwargs: dict[str, object], error: type[Exception], match: str
) -> None:
    args: dict[str, object] = {"name": "t", "role": "viewer", **kwargs}
    with pytest.raises(error, match=match):
        book.create(**args)  # type: ignore[arg-type]
    assert book.list() == []
    assert book.events() == []


def test_revoke_and_delete_unknown_or_twice(book: TokenBook) -> None:
    with pytest.raises(TokenNotFoundError, match="no API token named 'nope'"):
        book.revoke("nope")
    with pytest.raises(TokenNotFoundError):
        book.delete("nope")
    book.create("t", "viewer")
    assert book.revoke("t").state() == "revoked"
    with pytest.raises(InvalidArgumentError, match="already revoked"):
        book.revoke("t")
    book.delete("t")
    assert book.list() == []


def test_changes_are_events_that_outlive_the_token(book: TokenBook) -> None:
    book.create("t", "operator", models=["churn*"])
    book.revoke("t")
    book.delete("t")
    events = book.events()
    assert [e.kind for e in events] == ["token.deleted", "token.revoked", "token.created"]
    assert {e.actor for e in events} == {"tester"}
    assert events[-1].detail == {"role": "operator", "scopes": ["churn*"], "expires": None}
    assert book.events("other") == []


def test_unmatched_scopes_names_patterns_without_a_model(
    book: TokenBook, registry: Registry
) -> None:
    registry.create_model("churn-eu")
    assert book.unmatched_scopes(["churn*", "fraud*", "churn-eu", "churn-us"]) == [
        "fraud*",
        "churn-us",
    ]


def test_tokens_survive_reopening_the_store(registry: Registry) -> None:
    TokenBook(registry).create("kept", "admin", expires="2h")
    registry.close()
    again = Registry(registry.settings)
    try:
        (token,) = TokenBook(again).list()
        assert (token.name, token.role, token.state()) == ("kept", Role.ADMIN, "active")
    finally:
        again.close()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90d", NOW + timedelta(days=90)),
        ("12h", NOW + timedelta(hours=12)),
        ("30m", NOW + timedelta(minutes=30)),
        ("2w", NOW + timedelta(weeks=2)),
        ("2027-06-30", datetime(2027, 6, 30, tzinfo=UTC)),
        ("2027-06-30T12:30:00Z", datetime(2027, 6, 30, 12, 30, tzinfo=UTC)),
        ("2027-06-30T14:30:00+02:00", datetime(2027, 6, 30, 12, 30, tzinfo=UTC)),
    ],
)
def test_parse_expiry(text: str, expected: datetime) -> None:
    assert parse_expiry(text, NOW) == expected


def test_parse_expiry_takes_none_timedelta_and_datetime() -> None:
    assert parse_expiry(None, NOW) is None
    assert parse_expiry(timedelta(days=1), NOW) == NOW + timedelta(days=1)
    assert parse_expiry(datetime(2027, 1, 1), NOW) == datetime(2027, 1, 1, tzinfo=UTC)
    with pytest.raises(InvalidArgumentError, match="in the past"):
        parse_expiry(NOW, NOW)
    with pytest.raises(InvalidArgumentError, match="duration"):
        parse_expiry(90, NOW)  # type: ignore[arg-type]


def test_check_scopes_drops_repeats_and_takes_one_string() -> None:
    assert check_scopes(["a*", "b", "a*"]) == ("a*", "b")
    assert check_scopes("churn*") == ("churn*",)
    assert check_scopes([]) == ()
    with pytest.raises(InvalidArgumentError, match="at most 100"):
        check_scopes([f"m{i}" for i in range(101)])
