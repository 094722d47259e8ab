"""Access's token store: migration 0005 from an older file, rows and events kept in one write."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ferryman.errors import TokenExistsError
from ferryman.store import MetadataStore, NewTokenEvent, TokenStore
from ferryman.store.engine import WRITE, create_store_engine
from ferryman.store.migrate import current_revision

DIGEST = "d" * 64


def url_of(path: Path) -> str:
    return f"sqlite:///{path}"


def tables_of(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def add(store: TokenStore, name: str = "ci", digest: str = DIGEST) -> None:
    store.add_token(
        name=name,
        role="viewer",
        scopes=["churn*"],
        digest=digest,
        prefix="fm_abcd",
        actor="alice",
        expires_at=None,
    )


def test_a_store_at_0004_is_upgraded_and_keeps_its_models(tmp_path: Path) -> None:
    from alembic import command

    from ferryman.store.migrate import _config

    path = tmp_path / "old.db"
    store = MetadataStore(url_of(path))
    store.create_model("kept", "old", "from before 0005", {})
    store.close()
    engine = create_store_engine(url_of(path))
    cfg = _config()
    with engine.connect().execution_options(**WRITE) as conn, conn.begin():
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0004")
    engine.dispose()
    assert "api_tokens" not in tables_of(path)
    assert "token_events" not in tables_of(path)

    store = MetadataStore(url_of(path))  # upgrades to 0005
    try:
        assert current_revision(store.engine) == "0005"
        assert store.get_model("kept").description == "from before 0005"
        tokens = TokenStore(store.engine)
        add(tokens)
        assert [t.name for t in tokens.tokens()] == ["ci"]
    finally:
        store.close()


def test_rows_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "meta.db"
    store = MetadataStore(url_of(path))
    add(TokenStore(store.engine))
    store.close()
    store = MetadataStore(url_of(path))
    try:
        (token,) = TokenStore(store.engine).tokens()
        assert (token.name, token.role, token.scopes, token.digest) == (
            "ci",
            "viewer",
            ("churn*",),
            DIGEST,
        )
        assert token.created_at.tzinfo is UTC
    finally:
        store.close()


def test_a_taken_name_writes_neither_row_nor_event(tmp_path: Path) -> None:
    store = MetadataStore(url_of(tmp_path / "meta.db"))
    try:
        tokens = TokenStore(store.engine)
        add(tokens)
        with pytest.raises(TokenExistsError):
            add(tokens, digest="e" * 64)
        assert len(tokens.tokens()) == 1
        assert [e.kind for e in tokens.token_events()] == ["token.created"]
    finally:
        store.close()


def test_mark_used_skips_tokens_used_within_the_gap(tmp_path: Path) -> None:
    store = MetadataStore(url_of(tmp_path / "meta.db"))
    try:
        tokens = TokenStore(store.engine)
        add(tokens)
        add(tokens, "other", "e" * 64)
        at = datetime(2026, 12, 8, 12, tzinfo=UTC)
        gap = timedelta(minutes=1)
        tokens.mark_used({"ci"}, at, gap)
        tokens.mark_used({"ci", "other"}, at + timedelta(seconds=30), gap)
        used = {t.name: t.last_used_at for t in tokens.tokens()}
        assert used == {"ci": at, "other": at + timedelta(seconds=30)}
        tokens.add_token_events([NewTokenEvent("ci", "token.refused", "server", at, {"x": 1})])
        assert tokens.token_events("ci", limit=1)[0].detail == {"x": 1}
    finally:
        store.close()
