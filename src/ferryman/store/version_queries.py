"""Versions: add (with their number and aliases), find, list, tag and delete."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, exists, insert, select, update
from sqlalchemy.exc import IntegrityError

from ferryman.core.records import ModelVersion, Page
from ferryman.core.signature import TOLERANCE_FIELDS
from ferryman.errors import AliasNotFoundError, StoreError, VersionInUseError, VersionNotFoundError
from ferryman.store import _rows
from ferryman.store import tables as t
from ferryman.store._base import (
    ANY_MODEL_BY_NAME,
    RESOLVE_ALIAS,
    MetricFilter,
    NewVersion,
    StoreBase,
    check_limit,
    compare,
    replace_key_values,
    utc_now,
)


class VersionQueries(StoreBase):
    """Queries and changes of versions."""

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
        row = conn.execute(ANY_MODEL_BY_NAME.with_for_update(), {"name": new.model}).first()
        if row is None or row.deleted_at is not None:
            model_id = self._create_model_row(conn, new.model, actor, "", {}, row)
            number = (row.last_version if row is not None else 0) + 1
        else:
            model_id, number = row.id, row.last_version + 1
        now = utc_now()
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
                trusted_types=list(new.trusted_types) or None,
                trusted_by=actor if new.trusted_types else None,
            )
        ).inserted_primary_key[0]  # type: ignore[index]
        replace_key_values(conn, t.version_metrics, "version_id", version_id, new.metrics, ())
        replace_key_values(conn, t.version_tags, "version_id", version_id, new.tags, ())
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
        if new.trusted_types:
            self._event(
                conn,
                new.model,
                "version.trusted",
                actor,
                version=number,
                after={"trusted_types": list(new.trusted_types)},
            )
        for alias in new.aliases:
            current = self._alias_target(conn, model_id, alias)
            self._move(conn, model_id, new.model, alias, current, number, "set", actor)
        return int(number)

    def get_version(self, name: str, number: int) -> ModelVersion:
        with self._read() as conn:
            model = self._model_row(conn, name)
            row = self._version_row(conn, model.id, name, number)
            return _rows.to_versions(conn, name, model.id, [row])[0]

    def resolve_alias(self, name: str, alias: str) -> ModelVersion:
        """The version ``alias`` points at: one joined query on the happy path."""
        with self._read() as conn:
            row = conn.execute(RESOLVE_ALIAS, {"name": name, "alias": alias}).first()
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
        limit = check_limit(limit)
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
                        compare(t.version_metrics.c.value, f.op, f.value),
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
            replace_key_values(conn, t.version_tags, "version_id", row.id, set_tags, remove_tags)
            new = dict(
                _rows.key_values(conn, t.version_tags, t.version_tags.c.version_id, [row.id])[
                    row.id
                ]
            )
            self._updated(conn, name, number, actor, "tags", old, new)
        return self.get_version(name, number)

    def _updated(
        self, conn: Connection, name: str, number: int, actor: str, part: str, old: Any, new: Any
    ) -> None:
        """The ``version.updated`` audit event for a change of ``part`` (none if unchanged)."""
        if new != old:
            self._event(
                conn,
                name,
                "version.updated",
                actor,
                version=number,
                before={part: old},
                after={part: new},
            )

    def update_version_tolerance(
        self, name: str, number: int, actor: str, signature: dict[str, Any]
    ) -> ModelVersion:
        """Record a version's tolerance policies (in its signature's columns). Only those
        may change: the columns, kinds and categories learned at registration stay."""
        with self._write() as conn:
            model = self._model_row(conn, name, lock=True)
            row = self._version_row(conn, model.id, name, number)
            old = row.signature or {"columns": []}
            if _without_tolerance(old) != _without_tolerance(signature):
                raise StoreError(
                    f"{name}/{number}: only the tolerance of a version's columns may change"
                )
            before, after = _tolerance_of(old), _tolerance_of(signature)
            if before != after:
                conn.execute(
                    update(t.versions).where(t.versions.c.id == row.id).values(signature=signature)
                )
            self._updated(conn, name, number, actor, "tolerance", before, after)
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
                update(t.versions).where(t.versions.c.id == row.id).values(deleted_at=utc_now())
            )
            self._event(
                conn,
                name,
                "version.deleted",
                actor,
                version=number,
                before={"artifact_sha256": row.artifact_sha256},
            )


def _without_tolerance(signature: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {k: v for k, v in column.items() if k not in TOLERANCE_FIELDS}
        for column in signature.get("columns", [])
    ]


def _tolerance_of(signature: dict[str, Any]) -> dict[str, dict[str, str]]:
    out = {}
    for column in signature.get("columns", []):
        given = {k: column[k] for k in TOLERANCE_FIELDS if column.get(k) is not None}
        if given:
            out[column["name"]] = given
    return out
