"""Bring a database to the newest schema on start; refuse one written by a newer ferryman."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from ferryman.errors import SchemaVersionError, StoreError
from ferryman.store.engine import WRITE

MIGRATIONS = Path(__file__).parent / "migrations"


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head_revision() -> str:
    """The newest schema revision this ferryman knows."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade_database(engine: Engine) -> None:
    """Upgrade ``engine``'s database to the head revision, creating it when empty.

    Several processes may start at once: the upgrade runs in one write transaction, so the
    others wait and then find the schema current.
    """
    script = ScriptDirectory.from_config(_config())
    head = script.get_current_head()
    url = engine.url.render_as_string(hide_password=True)
    try:
        current = current_revision(engine)
        if current == head:
            return
        _check_known(script, current, url)
        cfg = _config()
        with engine.connect().execution_options(**WRITE) as conn, conn.begin():
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    except DBAPIError as exc:
        raise StoreError(
            f"cannot open the metadata database {url}: {exc.orig}; check that it is a ferryman "
            "database and that the folder is writable"
        ) from exc
    except CommandError as exc:
        raise SchemaVersionError(f"cannot upgrade the metadata database {url}: {exc}") from exc


def _check_known(script: ScriptDirectory, current: str | None, url: str) -> None:
    if current is None:
        return
    known = {rev.revision for rev in script.walk_revisions()}
    if current not in known:
        raise SchemaVersionError(
            f"the database {url} has schema revision {current!r}, which this ferryman does not "
            "know: it was written by a newer ferryman. Upgrade ferryman (pip install -U ferryman) "
            "or point FERRYMAN_HOME at another store"
        )
