"""Schema migrations: create at head, keep data on reopen, refuse unknown or foreign files."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy.exc import SQLAlchemyError

from ferryman.errors import FerrymanError, SchemaVersionError, StoreError
from ferryman.store.engine import create_store_engine
from ferryman.store.metadata import MetadataStore, NewVersion
from ferryman.store.migrate import current_revision, head_revision, upgrade_database

VERSION = NewVersion(model="m", flavor="sklearn", artifact_sha256="a" * 64, artifact_size=3)


def url_of(path: Path) -> str:
    return f"sqlite:///{path}"


def stored_revisions(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [r[0] for r in conn.execute("SELECT version_num FROM alembic_version")]


def test_head_revision_is_known() -> None:
    head = head_revision()
    assert isinstance(head, str)
    assert head


def test_new_database_is_created_at_head(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "meta.db"
    store = MetadataStore(url_of(path))
    try:
        assert current_revision(store.engine) == head_revision()
    finally:
        store.close()
    assert path.is_file()
    assert stored_revisions(path) == [head_revision()]
    with sqlite3.connect(path) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"models", "versions", "aliases", "alias_moves", "audit_events"} <= tables


def test_upgrade_of_a_current_database_is_a_no_op(tmp_path: Path) -> None:
    path = tmp_path / "meta.db"
    engine = create_store_engine(url_of(path))
    try:
        assert current_revision(engine) is None
        upgrade_database(engine)
        upgrade_database(engine)
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()
    assert stored_revisions(path) == [head_revision()]


def test_reopening_keeps_the_data(tmp_path: Path) -> None:
    path = tmp_path / "meta.db"
    first = MetadataStore(url_of(path))
    first.insert_version(VERSION, "alice")
    first.set_alias("m", "production", 1, "alice")
    first.close()
    second = MetadataStore(url_of(path))
    try:
        v = second.get_version("m", 1)
        assert (v.artifact_sha256, v.created_by, v.aliases) == ("a" * 64, "alice", ("production",))
        assert [e.kind for e in second.events("m")] == [
            "alias.set",
            "version.created",
            "model.created",
        ]
    finally:
        second.close()
    assert stored_revisions(path) == [head_revision()]


def test_unknown_revision_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "meta.db"
    MetadataStore(url_of(path)).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = 'ffff9999'")
    with pytest.raises(SchemaVersionError, match="schema revision 'ffff9999'") as info:
        MetadataStore(url_of(path))
    message = str(info.value)
    assert "newer ferryman" in message
    assert "Upgrade ferryman" in message
    assert stored_revisions(path) == ["ffff9999"]  # left as it was


def test_schema_version_error_is_a_store_error() -> None:
    assert issubclass(SchemaVersionError, StoreError)
    assert issubclass(StoreError, FerrymanError)


def test_a_file_that_is_not_sqlite_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "meta.db"
    data = b"this is not a database at all, just some text\n" * 200
    path.write_bytes(data)
    with pytest.raises(StoreError, match="cannot open the metadata database") as info:
        MetadataStore(url_of(path))
    assert not isinstance(info.value, SQLAlchemyError)
    assert "ferryman database" in str(info.value)
    assert path.read_bytes() == data  # not overwritten


def test_a_foreign_sqlite_database_gets_the_schema_beside_its_tables(tmp_path: Path) -> None:
    path = tmp_path / "meta.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
        conn.execute("INSERT INTO notes VALUES ('keep me')")
    MetadataStore(url_of(path)).close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT body FROM notes").fetchall() == [("keep me",)]
    assert stored_revisions(path) == [head_revision()]


def test_schema_head_constant_matches_the_newest_migration() -> None:
    from ferryman.store.migrate import SCHEMA_HEAD

    assert head_revision() == SCHEMA_HEAD


def test_a_database_at_an_older_revision_is_upgraded_keeping_its_data(tmp_path: Path) -> None:
    from alembic import command

    from ferryman.store.engine import WRITE
    from ferryman.store.migrate import SCHEMA_HEAD, _config

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_store_engine(url)
    cfg = _config()
    with engine.connect().execution_options(**WRITE) as conn, conn.begin():
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")  # the schema as the first release wrote it
    engine.dispose()
    raw = sqlite3.connect(tmp_path / "old.db")
    raw.execute(
        "INSERT INTO models (name, description, last_version, created_by, created_at, updated_at)"
        " VALUES ('kept', 'from before', 4, 'old', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
    )
    raw.commit()
    raw.close()

    store = MetadataStore(url)  # upgrades on open
    assert current_revision(store.engine) == SCHEMA_HEAD != "0001"
    model = store.get_model("kept")
    assert (model.description, model.created_by) == ("from before", "old")
    version = store.insert_version(
        NewVersion(model="kept", flavor="sklearn", artifact_sha256="a" * 64, artifact_size=1),
        "new",
    )
    assert version.version == 5  # the old row's counter carried on
    store.close()


def test_versions_from_before_0004_have_no_recorded_trust_and_can_downgrade(
    tmp_path: Path,
) -> None:
    from alembic import command

    from ferryman.store.engine import WRITE
    from ferryman.store.migrate import _config

    url = url_of(tmp_path / "old.db")
    store = MetadataStore(url)
    store.insert_version(VERSION, "old")
    store.insert_version(replace(VERSION, trusted_types=("a.B",)), "alice")
    store.close()
    engine = create_store_engine(url)
    cfg = _config()
    with engine.connect().execution_options(**WRITE) as conn, conn.begin():
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0003")
    engine.dispose()
    assert stored_revisions(tmp_path / "old.db") == ["0003"]

    store = MetadataStore(url)  # upgrades to 0004 again
    first, second = store.get_version("m", 1), store.get_version("m", 2)
    assert (first.trusted_types, first.trusted_by) == ((), None)
    assert (second.trusted_types, second.trusted_by) == ((), None)  # the columns went
    third = store.insert_version(replace(VERSION, trusted_types=("a.B", "c.D")), "alice")
    assert (third.trusted_types, third.trusted_by) == (("a.B", "c.D"), "alice")
    store.close()


def test_opening_a_new_store_waits_for_another_process_holding_the_lock(tmp_path: Path) -> None:
    import threading

    path = tmp_path / "new.db"
    holder = sqlite3.connect(path, check_same_thread=False)
    holder.isolation_level = None
    # Like another process creating the store right now: a new database (not yet WAL) with
    # a write under way. SQLite refuses the switch to WAL at once, without its busy timeout.
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("CREATE TABLE scratch (x)")
    release = threading.Timer(0.5, lambda: holder.execute("COMMIT"))
    release.start()
    try:
        store = MetadataStore(f"sqlite:///{path}")  # switching to WAL must wait, not fail
    finally:
        release.join()
        holder.close()
    assert current_revision(store.engine) == head_revision()
    store.close()
