"""The metadata store: models, versions, aliases and the audit log, in one SQL database.

Every write runs in one transaction together with its audit event, so the log and the data
never disagree. On SQLite, writes take the lock when they begin; elsewhere, the model's row is
locked with SELECT ... FOR UPDATE before a version number is taken.
"""

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
    exists,
    insert,
    select,
    update,
)
from sqlalchemy.exc import DBAPIError, IntegrityError

from ferryman.core.records import AliasMove, AuditEvent, ModelInfo, ModelVersion, Page
from ferryman.errors import (
    AliasError,
    AliasNotFoundError,
    InvalidQueryError,
    ModelExistsError,
    ModelNotFoundError,
    StoreError,
    VersionInUseError,
    VersionNotFoundError,
)
from ferryman.store import _rows
from ferryman.store import tables as t
from ferryman.store.engine import WRITE, create_store_engine
from ferryman.store.migrate import upgrade_database

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


@dataclass(frozen=True)
class MetricFilter:
    key: str
    op: MetricOp
    value: float


_RESOLVE_ALIAS = (
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
_MODEL_BY_NAME = select(t.models).where(
    t.models.c.name == bindparam("name"), t.models.c.deleted_at.is_(None)
)
# Live or deleted: a deleted model's row keeps its last version number for a later revival.
_ANY_MODEL_BY_NAME = select(t.models).where(t.models.c.name == bindparam("name"))
_VERSION_BY_NUMBER = select(*_rows.VERSION_COLUMNS).where(
    t.versions.c.model_id == bindparam("model_id"),
    t.versions.c.number == bindparam("number"),
    t.versions.c.deleted_at.is_(None),
)


def _now() -> datetime:
    return datetime.now(UTC)


class MetadataStore:
    """Models, versions, aliases and audit events over one SQLAlchemy engine."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = create_store_engine(url)
        upgrade_database(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    # --- transactions -------------------------------------------------------------------------
    @contextmanager
    def _read(self) -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn, conn.begin():
                yield conn
        except DBAPIError as exc:
            raise StoreError(_database_problem("read", exc)) from exc

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        try:
            with self.engine.connect().execution_options(**WRITE) as conn, conn.begin():
                yield conn
        except IntegrityError:
            raise  # callers turn these into precise errors
        except DBAPIError as exc:
            raise StoreError(_database_problem("write", exc)) from exc

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
                at=_now(),
                version=version,
                alias=alias,
                before=before,
                after=after,
            )
        )

    def _model_row(self, conn: Connection, name: str, *, lock: bool = False) -> Any:
        query = _MODEL_BY_NAME.with_for_update() if lock else _MODEL_BY_NAME
        row = conn.execute(query, {"name": name}).first()
        if row is None:
            raise ModelNotFoundError(
                f"no model named {name!r}; list them with `ferryman models list`"
            )
        return row

    # --- models -------------------------------------------------------------------------------
    def create_model(
        self, name: str, actor: str, description: str = "", tags: dict[str, str] | None = None
    ) -> ModelInfo:
        try:
            with self._write() as conn:
                row = conn.execute(_ANY_MODEL_BY_NAME, {"name": name}).first()
                if row is not None and row.deleted_at is None:
                    raise ModelExistsError(
                        f"a model named {name!r} already exists; register a new version of it, "
                        "or choose another name"
                    )
                self._create_model_row(conn, name, actor, description, tags or {}, row)
        except IntegrityError as exc:
            raise ModelExistsError(f"a model named {name!r} already exists") from exc
        return self.get_model(name)

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
        now = _now()
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

    def get_model(self, name: str) -> ModelInfo:
        with self._read() as conn:
            return _rows.to_model_infos(conn, [self._model_row(conn, name)])[0]

    def list_models(
        self,
        *,
        name_contains: str | None = None,
        tags: dict[str, str] | None = None,
        alias: str | None = None,
        limit: int = 50,
        page_token: str | None = None,
    ) -> Page[ModelInfo]:
        limit = _check_limit(limit)
        after = _rows.decode_token(page_token, str)
        query = (
            select(t.models)
            .where(t.models.c.deleted_at.is_(None))
            .order_by(t.models.c.name)
            .limit(limit + 1)
        )
        if after is not None:
            query = query.where(t.models.c.name > after)
        if name_contains:
            pattern = "%" + _escape_like(name_contains) + "%"
            query = query.where(t.models.c.name.like(pattern, escape="\\"))
        for key, value in (tags or {}).items():
            query = query.where(
                exists().where(
                    t.model_tags.c.model_id == t.models.c.id,
                    t.model_tags.c.key == key,
                    t.model_tags.c.value == value,
                )
            )
        if alias:
            query = query.where(
                exists().where(t.aliases.c.model_id == t.models.c.id, t.aliases.c.name == alias)
            )
        with self._read() as conn:
            rows = conn.execute(query).all()
            token = _rows.encode_token(rows[limit - 1].name) if len(rows) > limit else None
            return Page(_rows.to_model_infos(conn, rows[:limit]), token)

    def update_model(
        self,
        name: str,
        actor: str,
        *,
        description: str | None = None,
        set_tags: dict[str, str] | None = None,
        remove_tags: Sequence[str] = (),
    ) -> ModelInfo:
        with self._write() as conn:
            row = self._model_row(conn, name, lock=True)
            old_tags = _rows.key_values(conn, t.model_tags, t.model_tags.c.model_id, [row.id])
            before = {"description": row.description, "tags": dict(old_tags.get(row.id, {}))}
            if description is not None:
                conn.execute(
                    update(t.models).where(t.models.c.id == row.id).values(description=description)
                )
            _replace_key_values(conn, t.model_tags, "model_id", row.id, set_tags, remove_tags)
            new_tags = _rows.key_values(conn, t.model_tags, t.model_tags.c.model_id, [row.id])
            after = {
                "description": row.description if description is None else description,
                "tags": dict(new_tags.get(row.id, {})),
            }
            if after != before:
                conn.execute(
                    update(t.models).where(t.models.c.id == row.id).values(updated_at=_now())
                )
                self._event(conn, name, "model.updated", actor, before=before, after=after)
        return self.get_model(name)

    def delete_model(self, name: str, actor: str) -> None:
        """Delete a model with its versions and aliases; its audit events are kept.

        The model's row stays as a tombstone, so a new model of the same name continues its
        version numbers instead of reusing them.
        """
        with self._write() as conn:
            row = self._model_row(conn, name, lock=True)
            numbers = (
                conn.execute(
                    select(t.versions.c.number).where(
                        t.versions.c.model_id == row.id, t.versions.c.deleted_at.is_(None)
                    )
                )
                .scalars()
                .all()
            )
            now = _now()
            conn.execute(
                update(t.versions)
                .where(t.versions.c.model_id == row.id, t.versions.c.deleted_at.is_(None))
                .values(deleted_at=now)
            )
            for table in (t.aliases, t.alias_moves, t.model_tags):
                conn.execute(delete(table).where(table.c.model_id == row.id))
            conn.execute(
                update(t.models)
                .where(t.models.c.id == row.id)
                .values(deleted_at=now, updated_at=now, description="")
            )
            self._event(conn, name, "model.deleted", actor, before={"versions": sorted(numbers)})

    # --- versions -----------------------------------------------------------------------------
    def insert_version(self, new: NewVersion, actor: str) -> ModelVersion:
        """Add a version, creating the model on its first version; returns it with its number."""
        for attempt in range(3):
            try:
                with self._write() as conn:
                    number = self._insert_version(conn, new, actor)
                return self.get_version(new.model, number)
            except IntegrityError as exc:  # another server took the name or number first
                if attempt == 2:
                    raise StoreError(f"cannot add a version of {new.model!r}: {exc.orig}") from exc
        raise AssertionError("unreachable")

    def _insert_version(self, conn: Connection, new: NewVersion, actor: str) -> int:
        row = conn.execute(_ANY_MODEL_BY_NAME.with_for_update(), {"name": new.model}).first()
        if row is None or row.deleted_at is not None:
            model_id = self._create_model_row(conn, new.model, actor, "", {}, row)
            number = (row.last_version if row is not None else 0) + 1
        else:
            model_id, number = row.id, row.last_version + 1
        now = _now()
        conn.execute(
            update(t.models)
            .where(t.models.c.id == model_id)
            .values(last_version=number, updated_at=now)
        )
        version_id = conn.execute(
            insert(t.versions).values(
                model_id=model_id,
                number=number,
                flavor=new.flavor,
                artifact_sha256=new.artifact_sha256,
                artifact_size=new.artifact_size,
                description=new.description,
                signature=new.signature,
                output=new.output,
                params=new.params,
                data_fingerprint=new.data_fingerprint,
                profile=new.profile,
                environment=new.environment,
                git_commit=new.git_commit,
                created_by=actor,
                created_at=now,
            )
        ).inserted_primary_key[0]  # type: ignore[index]
        _replace_key_values(conn, t.version_metrics, "version_id", version_id, new.metrics, ())
        _replace_key_values(conn, t.version_tags, "version_id", version_id, new.tags, ())
        self._event(
            conn,
            new.model,
            "version.created",
            actor,
            version=number,
            after={
                "flavor": new.flavor,
                "artifact_sha256": new.artifact_sha256,
                "metrics": new.metrics,
                "tags": new.tags,
            },
        )
        for alias in new.aliases:
            current = self._alias_target(conn, model_id, alias)
            self._move(conn, model_id, new.model, alias, current, number, "set", actor)
        return int(number)

    def _version_row(self, conn: Connection, model_id: int, name: str, number: int) -> Any:
        row = conn.execute(_VERSION_BY_NUMBER, {"model_id": model_id, "number": number}).first()
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

    def get_version(self, name: str, number: int) -> ModelVersion:
        with self._read() as conn:
            model = self._model_row(conn, name)
            row = self._version_row(conn, model.id, name, number)
            return _rows.to_versions(conn, name, model.id, [row])[0]

    def resolve_alias(self, name: str, alias: str) -> ModelVersion:
        """The version ``alias`` points at: one joined query on the happy path."""
        with self._read() as conn:
            row = conn.execute(_RESOLVE_ALIAS, {"name": name, "alias": alias}).first()
            if row is None:
                model = self._model_row(conn, name)  # raises ModelNotFoundError
                have = sorted(_rows.aliases_by_model(conn, [model.id])[model.id])
                listed = ", ".join(have) if have else "none"
                raise AliasNotFoundError(
                    f"model {name!r} has no alias {alias!r} (its aliases: {listed}); set it with "
                    f"`ferryman alias set {name} {alias} VERSION`"
                )
            return _rows.to_versions(conn, name, row.model_id, [row])[0]

    def latest_version(self, name: str) -> ModelVersion:
        with self._read() as conn:
            model = self._model_row(conn, name)
            row = conn.execute(
                select(*_rows.VERSION_COLUMNS)
                .where(t.versions.c.model_id == model.id, t.versions.c.deleted_at.is_(None))
                .order_by(t.versions.c.number.desc())
                .limit(1)
            ).first()
            if row is None:
                raise VersionNotFoundError(
                    f"model {name!r} has no versions yet; register one with `ferryman register`"
                )
            return _rows.to_versions(conn, name, model.id, [row])[0]

    def list_versions(
        self,
        name: str,
        *,
        tags: dict[str, str] | None = None,
        metrics: Sequence[MetricFilter] = (),
        flavor: str | None = None,
        limit: int = 50,
        page_token: str | None = None,
    ) -> Page[ModelVersion]:
        """Versions of ``name``, newest first, filtered and paged in SQL."""
        limit = _check_limit(limit)
        before = _rows.decode_token(page_token, int)
        with self._read() as conn:
            model = self._model_row(conn, name)
            query = (
                select(*_rows.VERSION_COLUMNS)
                .where(t.versions.c.model_id == model.id, t.versions.c.deleted_at.is_(None))
                .order_by(t.versions.c.number.desc())
                .limit(limit + 1)
            )
            if before is not None:
                query = query.where(t.versions.c.number < before)
            if flavor:
                query = query.where(t.versions.c.flavor == flavor)
            for key, value in (tags or {}).items():
                query = query.where(
                    exists().where(
                        t.version_tags.c.version_id == t.versions.c.id,
                        t.version_tags.c.key == key,
                        t.version_tags.c.value == value,
                    )
                )
            for f in metrics:
                query = query.where(
                    exists().where(
                        t.version_metrics.c.version_id == t.versions.c.id,
                        t.version_metrics.c.key == f.key,
                        _compare(t.version_metrics.c.value, f.op, f.value),
                    )
                )
            rows = conn.execute(query).all()
            token = _rows.encode_token(rows[limit - 1].number) if len(rows) > limit else None
            return Page(_rows.to_versions(conn, name, model.id, rows[:limit]), token)

    def get_profile(self, name: str, number: int) -> dict[str, Any] | None:
        with self._read() as conn:
            model = self._model_row(conn, name)
            self._version_row(conn, model.id, name, number)
            return conn.execute(
                select(t.versions.c.profile).where(
                    t.versions.c.model_id == model.id, t.versions.c.number == number
                )
            ).scalar()

    def update_version_tags(
        self,
        name: str,
        number: int,
        actor: str,
        set_tags: dict[str, str] | None = None,
        remove_tags: Sequence[str] = (),
    ) -> ModelVersion:
        with self._write() as conn:
            model = self._model_row(conn, name, lock=True)
            row = self._version_row(conn, model.id, name, number)
            old = dict(
                _rows.key_values(conn, t.version_tags, t.version_tags.c.version_id, [row.id])[
                    row.id
                ]
            )
            _replace_key_values(conn, t.version_tags, "version_id", row.id, set_tags, remove_tags)
            new = dict(
                _rows.key_values(conn, t.version_tags, t.version_tags.c.version_id, [row.id])[
                    row.id
                ]
            )
            if new != old:
                self._event(
                    conn,
                    name,
                    "version.updated",
                    actor,
                    version=number,
                    before={"tags": old},
                    after={"tags": new},
                )
        return self.get_version(name, number)

    def delete_version(self, name: str, number: int, actor: str) -> None:
        """Mark a version deleted; its number is never reused. Refused while aliased."""
        with self._write() as conn:
            model = self._model_row(conn, name, lock=True)
            row = self._version_row(conn, model.id, name, number)
            pointing = sorted(
                alias
                for alias, v in _rows.aliases_by_model(conn, [model.id])[model.id].items()
                if v == number
            )
            if pointing:
                raise VersionInUseError(
                    f"version {number} of {name!r} is still the target of alias(es) "
                    f"{', '.join(pointing)}; move or remove them first (`ferryman alias set`)"
                )
            conn.execute(
                update(t.versions).where(t.versions.c.id == row.id).values(deleted_at=_now())
            )
            self._event(
                conn,
                name,
                "version.deleted",
                actor,
                version=number,
                before={"artifact_sha256": row.artifact_sha256},
            )

    # --- aliases ------------------------------------------------------------------------------
    def set_alias(self, name: str, alias: str, number: int, actor: str) -> AliasMove:
        with self._write() as conn:
            model = self._model_row(conn, name, lock=True)
            self._version_row(conn, model.id, name, number)
            current = self._alias_target(conn, model.id, alias)
            if current == number:
                return AliasMove(name, alias, "unchanged", number, number, actor, _now())
            return self._move(conn, model.id, name, alias, current, number, "set", actor)

    def remove_alias(self, name: str, alias: str, actor: str) -> AliasMove:
        with self._write() as conn:
            model = self._model_row(conn, name, lock=True)
            current = self._alias_target(conn, model.id, alias)
            if current is None:
                raise AliasNotFoundError(f"model {name!r} has no alias {alias!r} to remove")
            return self._move(conn, model.id, name, alias, current, None, "remove", actor)

    def rollback_alias(self, name: str, alias: str, actor: str) -> AliasMove:
        """Undo the alias's last move that has not been undone yet.

        Rolling back twice goes two moves back (like undo), not back and forth.
        """
        with self._write() as conn:
            model = self._model_row(conn, name, lock=True)
            moves = self._moves(conn, model.id, name, alias)
            if not moves:
                raise AliasNotFoundError(
                    f"model {name!r} has no alias {alias!r}; nothing to roll back"
                )
            undo: list[int | None] = []
            for move in moves:
                if move.kind == "rollback":
                    if undo:
                        undo.pop()
                else:
                    undo.append(move.from_version)
            current = self._alias_target(conn, model.id, alias)
            if not undo or undo[-1] is None:
                raise AliasError(
                    f"alias {alias!r} of {name!r} has no earlier version to roll back to (it "
                    f"pointed at nothing before); set it with `ferryman alias set {name} {alias} "
                    "VERSION`"
                )
            target = undo[-1]
            deleted = conn.execute(
                select(t.versions.c.deleted_at).where(
                    t.versions.c.model_id == model.id, t.versions.c.number == target
                )
            ).scalar()
            if deleted is not None:
                raise AliasError(
                    f"cannot roll {alias!r} of {name!r} back to version {target}: it was deleted"
                )
            return self._move(conn, model.id, name, alias, current, target, "rollback", actor)

    def alias_moves(self, name: str, alias: str | None = None) -> list[AliasMove]:
        with self._read() as conn:
            model = self._model_row(conn, name)
            return self._moves(conn, model.id, name, alias)

    def _alias_target(self, conn: Connection, model_id: int, alias: str) -> int | None:
        return conn.execute(
            select(t.aliases.c.version_number).where(
                t.aliases.c.model_id == model_id, t.aliases.c.name == alias
            )
        ).scalar()

    def _moves(
        self, conn: Connection, model_id: int, name: str, alias: str | None
    ) -> list[AliasMove]:
        query = select(t.alias_moves).where(t.alias_moves.c.model_id == model_id)
        if alias is not None:
            query = query.where(t.alias_moves.c.alias == alias)
        return [
            AliasMove(name, r.alias, r.kind, r.from_version, r.to_version, r.actor, r.at)
            for r in conn.execute(query.order_by(t.alias_moves.c.id))
        ]

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
        now = _now()
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

    # --- audit --------------------------------------------------------------------------------
    def events(
        self,
        name: str,
        *,
        kinds: Sequence[str] = (),
        limit: int = 100,
        page_token: str | None = None,
    ) -> Page[AuditEvent]:
        """The audit log of ``name``, newest first (kept after the model is deleted)."""
        limit = _check_limit(limit)
        before = _rows.decode_token(page_token, int)
        query = (
            select(t.audit_events)
            .where(t.audit_events.c.model_name == name)
            .order_by(t.audit_events.c.id.desc())
            .limit(limit + 1)
        )
        if before is not None:
            query = query.where(t.audit_events.c.id < before)
        if kinds:
            query = query.where(t.audit_events.c.kind.in_(list(kinds)))
        with self._read() as conn:
            rows = conn.execute(query).all()
            if not rows and before is None:
                seen = conn.execute(
                    select(t.audit_events.c.id).where(t.audit_events.c.model_name == name).limit(1)
                ).first()
                if seen is None:
                    self._model_row(conn, name)  # never existed: say so
        token = _rows.encode_token(rows[limit - 1].id) if len(rows) > limit else None
        return Page([_rows.to_event(r) for r in rows[:limit]], token)


def _database_problem(action: str, exc: DBAPIError) -> str:
    return (
        f"cannot {action} the metadata database: {exc.orig}; if it is damaged, restore it from a "
        "backup (for SQLite, `sqlite3 ferryman.db .recover` can rescue what is left)"
    )


def _check_limit(limit: int) -> int:
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_PAGE:
        raise InvalidQueryError(
            f"page size must be a whole number from 1 to {MAX_PAGE}, got {limit!r}"
        )
    return limit


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _compare(column: Any, op: str, value: float) -> ColumnElement[bool]:
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


def _replace_key_values(
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
