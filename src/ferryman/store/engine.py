"""Database engines: SQLite tuned for several processes on one file, or any SQLAlchemy URL."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError

from ferryman.errors import StoreError

# Writers on SQLite take the write lock when their transaction starts (BEGIN IMMEDIATE), so
# two processes never both read "next version = 7" and then fight over it.
WRITE = {"ferryman_write": True}
BUSY_TIMEOUT_MS = 30_000


def create_store_engine(url: str) -> Engine:
    """Create the engine for ``url``; for SQLite, make its folder and set WAL and timeouts."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(f"invalid database URL {url!r}: {exc}") from exc
    if parsed.get_backend_name() != "sqlite":
        try:
            return create_engine(url, pool_pre_ping=True)
        except (ArgumentError, ImportError) as exc:
            raise StoreError(f"cannot use database URL {url!r}: {exc}") from exc
    if parsed.database and parsed.database != ":memory:":
        folder = Path(parsed.database).expanduser().parent
        if folder.exists() and not folder.is_dir():
            raise StoreError(f"the store folder {folder} is a file; point --home at a folder")
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the store folder {folder}: {exc.strerror}") from exc
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
    event.listen(engine, "connect", _on_sqlite_connect)
    event.listen(engine, "begin", _on_sqlite_begin)
    return engine


def database_path(engine: Engine) -> str | None:
    """The file of a SQLite database (None for memory or a database server)."""
    if engine.url.get_backend_name() != "sqlite":
        return None
    database = engine.url.database
    return None if not database or database == ":memory:" else database


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event emit BEGIN itself, so that writers can ask for IMMEDIATE.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        _switch_to_wal(cursor)
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _switch_to_wal(cursor: Any) -> None:
    """Put the database in WAL mode, waiting for other processes as long as a write would.

    Switching a new database to WAL needs a lock that SQLite does not wait for (the busy
    timeout does not apply): when several processes open a new store at once, retry.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    pause = 0.005
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 0.2)


def _on_sqlite_begin(conn: Connection) -> None:
    if conn.get_execution_options().get("ferryman_write"):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")
