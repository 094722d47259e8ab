"""Bring a database to the newest schema on start; refuse one written by a newer ferryman."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError

from ferryman.core.disk import may_be_space, space_problem
from ferryman.errors import SchemaVersionError, StoreError
from ferryman.store.engine import WRITE, create_store_engine, database_path

MIGRATIONS = Path(__file__).parent / "migrations"
# The newest revision under migrations/versions; a test keeps it equal to Alembic's head. It
# lets a store that is already current open without importing Alembic (a quarter second).
SCHEMA_HEAD = "0005"


def _alembic(module: str) -> Any:
    # Imported on demand: only a database that needs upgrading pays for Alembic.
    return importlib.import_module(f"alembic.{module}")


def _config() -> Any:
    cfg = _alembic("config").Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head_revision() -> str:
    """The newest schema revision among the migrations shipped with this ferryman."""
    script = _alembic("script").ScriptDirectory.from_config(_config())
    return str(script.get_current_head())


def current_revision(engine: Engine) -> str | None:
    """The database's schema revision, or None for an empty database."""
    with engine.connect() as conn:
        try:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except (OperationalError, ProgrammingError) as exc:
            if "alembic_version" in str(exc.orig):
                return None  # no table yet: a new database
            raise


def open_database(url: str) -> Engine:
    """The engine for the database at ``url``, brought to the newest schema (created when new).

    One engine serves every store over the database: ``MetadataStore`` opens it, and the
    other parts' stores (``MonitorStore``) are built on the same engine.
    """
    engine = create_store_engine(url)
    upgrade_database(engine)
    return engine


def upgrade_database(engine: Engine) -> None:
    """Upgrade ``engine``'s database to the newest schema, creating it when empty.

    Several processes may start at once: the upgrade runs in one write transaction, so the
    others wait and then find the schema current.
    """
    url = engine.url.render_as_string(hide_password=True)
    try:
        current = current_revision(engine)
        if current == SCHEMA_HEAD:
            return
        script = _alembic("script").ScriptDirectory.from_config(_config())
        _check_known(script, current, url)
        cfg = _config()
        with engine.connect().execution_options(**WRITE) as conn, conn.begin():
            cfg.attributes["connection"] = conn
            _alembic("command").upgrade(cfg, "head")
    except DBAPIError as exc:
        full = space_problem(database_path(engine)) if may_be_space(str(exc.orig)) else None
        if full is not None:
            raise StoreError(f"cannot open the metadata database {url}: {full}") from exc
        raise StoreError(
            f"cannot open the metadata database {url}: {exc.orig}; check that it is a ferryman "
            "database and that the folder is writable"
        ) from exc
    except _alembic("util.exc").CommandError as exc:
        raise SchemaVersionError(f"cannot upgrade the metadata database {url}: {exc}") from exc


def _check_known(script: Any, current: str | None, url: str) -> None:
    if current is None:
        return
    known = {rev.revision for rev in script.walk_revisions()}
    if current not in known:
        raise SchemaVersionError(
            f"the database {url} has schema revision {current!r}, which this ferryman does not "
            "know: it was written by a newer ferryman. Upgrade ferryman (pip install -U ferryman) "
            "or point FERRYMAN_HOME at another store"
        )
