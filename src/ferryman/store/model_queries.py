"""Models: create, read, list, update and delete (as tombstones)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, exists, select, update
from sqlalchemy.exc import IntegrityError

from ferryman.core.records import ModelInfo, Page
from ferryman.errors import ModelExistsError
from ferryman.store import _rows
from ferryman.store import tables as t
from ferryman.store._base import (
    ANY_MODEL_BY_NAME,
    StoreBase,
    check_limit,
    escape_like,
    replace_key_values,
    utc_now,
)


class ModelQueries(StoreBase):
    """Queries and changes of models."""

    def create_model(
        self, name: str, actor: str, description: str = "", tags: dict[str, str] | None = None
    ) -> ModelInfo:
        try:
            with self._write() as conn:
                row = conn.execute(ANY_MODEL_BY_NAME, {"name": name}).first()
                if row is not None and row.deleted_at is None:
                    raise ModelExistsError(
                        f"a model named {name!r} already exists; register a new version of it, "
                        "or choose another name"
                    )
                self._create_model_row(conn, name, actor, description, tags or {}, row)
        except IntegrityError as exc:
            raise ModelExistsError(f"a model named {name!r} already exists") from exc
        return self.get_model(name)

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
        limit = check_limit(limit)
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
            pattern = "%" + escape_like(name_contains) + "%"
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
            replace_key_values(conn, t.model_tags, "model_id", row.id, set_tags, remove_tags)
            new_tags = _rows.key_values(conn, t.model_tags, t.model_tags.c.model_id, [row.id])
            after = {
                "description": row.description if description is None else description,
                "tags": dict(new_tags.get(row.id, {})),
            }
            if after != before:
                conn.execute(
                    update(t.models).where(t.models.c.id == row.id).values(updated_at=utc_now())
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
            now = utc_now()
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
