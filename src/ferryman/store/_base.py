"""What the stores over the metadata database share: an engine's transactions; and what the
registry's queries share: lookups, alias moves, the audit event."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    and_,
    bindparam,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.exc import DBAPIError, IntegrityError

from ferryman.core.disk import may_be_space, space_problem
from ferryman.core.records import AliasMove
from ferryman.errors import InvalidQueryError, ModelNotFoundError, StoreError, VersionNotFoundError
from ferryman.store import _rows
from ferryman.store import tables as t
from ferryman.store.engine import WRITE, database_path

MetricOp = Literal["<", "<=", "=", "!=", ">=", ">"]
MAX_PAGE = 1000


@dataclass(frozen=True)
class NewVersion:
    """Everything a new version is made of; the store assigns its number and time."""

    model: str
    flavor: str
    artifact_sha256: str
    artifact_size: int
    signature: dict[str, Any] | None = None
    output: dict[str, Any] | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    description: str = ""
    data_fingerprint: str | None = None
    profile: dict[str, Any] | None = None
    environment: dict[str, Any] = field(default_factory=dict)
    git_commit: str | None = None
    aliases: tuple[str, ...] = ()
    trusted_types: tuple[str, ...] = ()  # recorded with the actor who registers, if any


@dataclass(frozen=True)
class MetricFilter:
    key: str
    op: MetricOp
    value: float


RESOLVE_ALIAS = (
    select(t.models.c.id.label("model_id"), *_rows.VERSION_COLUMNS)
    .select_from(t.models)
    .join(t.aliases, t.aliases.c.model_id == t.models.c.id)
    .join(
        t.versions,
        and_(
            t.versions.c.model_id == t.models.c.id,
            t.versions.c.number == t.aliases.c.version_number,
        ),
    )
    .where(
        t.models.c.name == bindparam("name"),
        t.models.c.deleted_at.is_(None),
        t.aliases.c.name == bindparam("alias"),
    )
)
MODEL_BY_NAME = select(t.models).where(
    t.models.c.name == bindparam("name"), t.models.c.deleted_at.is_(None)
)
# Live or deleted: a deleted model's row keeps its last version number for a later revival.
ANY_MODEL_BY_NAME = select(t.models).where(t.models.c.name == bindparam("name"))
VERSION_BY_NUMBER = select(*_rows.VERSION_COLUMNS).where(
    t.versions.c.model_id == bindparam("model_id"),
    t.versions.c.number == bindparam("number"),
    t.versions.c.deleted_at.is_(None),
)


def utc_now() -> datetime:
    return datetime.now(UTC)


class EngineStore:
    """Tables over one engine, read and written in transactions.

    Each part's store (``MetadataStore`` for the registry, ``MonitorStore`` for monitoring)
    is one of these over the same engine; the engine belongs to whoever opened it.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn, conn.begin():
                yield conn
        except DBAPIError as exc:
            raise StoreError(database_problem("read", exc, self.engine)) from exc

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        try:
            with self.engine.connect().execution_options(**WRITE) as conn, conn.begin():
                yield conn
        except IntegrityError:
            raise  # callers turn these into precise errors
        except DBAPIError as exc:
            raise StoreError(database_problem("write", exc, self.engine)) from exc


class StoreBase(EngineStore):
    """What the registry's queries share: lookups of models and versions, alias moves and
    the audit event."""

    def _event(
        self,
        conn: Connection,
        model: str,
        kind: str,
        actor: str,
        *,
        version: int | None = None,
        alias: str | None = None,
        before: Any = None,
        after: Any = None,
    ) -> None:
        conn.execute(
            insert(t.audit_events).values(
                model_name=model,
                kind=kind,
                actor=actor,
                at=utc_now(),
                version=version,
                alias=alias,
                before=before,
                after=after,
            )
        )

    def _model_row(self, conn: Connection, name: str, *, lock: bool = False) -> Any:
        query = MODEL_BY_NAME.with_for_update() if lock else MODEL_BY_NAME
        row = conn.execute(query, {"name": name}).first()
        if row is None:
            raise ModelNotFoundError(
                f"no model named {name!r}; list them with `ferryman models list`"
            )
        return row

    def _version_row(self, conn: Connection, model_id: int, name: str, number: int) -> Any:
        row = conn.execute(VERSION_BY_NUMBER, {"model_id": model_id, "number": number}).first()
        if row is None:
            raise VersionNotFoundError(self._no_version(conn, model_id, name, number))
        return row

    def _no_version(self, conn: Connection, model_id: int, name: str, number: int) -> str:
        numbers = (
            conn.execute(
                select(t.versions.c.number)
                .where(t.versions.c.model_id == model_id, t.versions.c.deleted_at.is_(None))
                .order_by(t.versions.c.number)
            )
            .scalars()
            .all()
        )
        if not numbers:
            have = "it has no versions yet"
        elif len(numbers) == 1:
            have = f"it has only version {numbers[0]}"
        elif numbers == list(range(numbers[0], numbers[-1] + 1)):
            have = f"it has versions {numbers[0]}-{numbers[-1]}"
        else:
            shown = ", ".join(map(str, numbers[-10:]))
            have = f"its versions include {shown}"
        return f"model {name!r} has no version {number}; {have} (`ferryman versions list {name}`)"

    def _create_model_row(
        self,
        conn: Connection,
        name: str,
        actor: str,
        description: str,
        tags: dict[str, str],
        tombstone: Any = None,
    ) -> int:
        """Insert a model, or bring a deleted one back (keeping its version count)."""
        now = utc_now()
        fields = {
            "description": description,
            "created_by": actor,
            "created_at": now,
            "updated_at": now,
            "deleted_at": None,
        }
        if tombstone is not None:
            model_id = tombstone.id
            conn.execute(update(t.models).where(t.models.c.id == model_id).values(**fields))
        else:
            model_id = conn.execute(
                insert(t.models).values(name=name, last_version=0, **fields)
            ).inserted_primary_key[0]  # type: ignore[index]
        if tags:
            conn.execute(
                insert(t.model_tags),
                [{"model_id": model_id, "key": k, "value": v} for k, v in tags.items()],
            )
        self._event(
            conn, name, "model.created", actor, after={"description": description, "tags": tags}
        )
        return int(model_id)

    def _alias_target(self, conn: Connection, model_id: int, alias: str) -> int | None:
        return conn.execute(
            select(t.aliases.c.version_number).where(
                t.aliases.c.model_id == model_id, t.aliases.c.name == alias
            )
        ).scalar()

    def _move(
        self,
        conn: Connection,
        model_id: int,
        name: str,
        alias: str,
        current: int | None,
        target: int | None,
        kind: str,
        actor: str,
    ) -> AliasMove:
        now = utc_now()
        where = and_(t.aliases.c.model_id == model_id, t.aliases.c.name == alias)
        if target is None:
            conn.execute(delete(t.aliases).where(where))
        elif current is None:
            conn.execute(
                insert(t.aliases).values(
                    model_id=model_id, name=alias, version_number=target, updated_at=now
                )
            )
        else:
            conn.execute(
                update(t.aliases).where(where).values(version_number=target, updated_at=now)
            )
        conn.execute(
            insert(t.alias_moves).values(
                model_id=model_id,
                alias=alias,
                kind=kind,
                from_version=current,
                to_version=target,
                actor=actor,
                at=now,
            )
        )
        event_kind = {"set": "alias.set", "remove": "alias.removed", "rollback": "alias.rollback"}
        self._event(
            conn,
            name,
            event_kind[kind],
            actor,
            version=target,
            alias=alias,
            before={"version": current},
            after={"version": target},
        )
        conn.execute(update(t.models).where(t.models.c.id == model_id).values(updated_at=now))
        return AliasMove(name, alias, kind, current, target, actor, now)


def database_problem(action: str, exc: DBAPIError, engine: Engine | None = None) -> str:
    path = database_path(engine) if engine is not None else None
    full = space_problem(path) if may_be_space(str(exc.orig)) else None
    if full is not None:
        return f"cannot {action} the metadata database {path}: {full}"
    return (
        f"cannot {action} the metadata database: {exc.orig}; if it is damaged, restore it from a "
        "backup (for SQLite, `sqlite3 ferryman.db .recover` can rescue what is left)"
    )


def check_limit(limit: int) -> int:
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_PAGE:
        raise InvalidQueryError(
            f"page size must be a whole number from 1 to {MAX_PAGE}, got {limit!r}"
        )
    return limit


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def compare(column: Any, op: str, value: float) -> ColumnElement[bool]:
    ops = {
        "<": column < value,
        "<=": column <= value,
        "=": column == value,
        "!=": column != value,
        ">=": column >= value,
        ">": column > value,
    }
    if op not in ops:
        raise InvalidQueryError(f"unknown comparison {op!r}; use one of {', '.join(ops)}")
    return ops[op]


def replace_key_values(
    conn: Connection,
    table: Any,
    owner_column: str,
    owner_id: int,
    set_values: dict[str, Any] | None,
    remove_keys: Sequence[str],
) -> None:
    owner = table.c[owner_column]
    keys = list(remove_keys) + list((set_values or {}).keys())
    if keys:
        conn.execute(delete(table).where(owner == owner_id, table.c.key.in_(keys)))
    if set_values:
        conn.execute(
            insert(table),
            [{owner_column: owner_id, "key": k, "value": v} for k, v in set_values.items()],
        )
