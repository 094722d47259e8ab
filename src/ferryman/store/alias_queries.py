"""Aliases: set, remove, roll back, and their history of moves."""

from __future__ import annotations

from sqlalchemy import Connection, select

from ferryman.core.records import AliasMove
from ferryman.errors import AliasError, AliasNotFoundError
from ferryman.store import tables as t
from ferryman.store._base import StoreBase, utc_now


class AliasQueries(StoreBase):
    """Queries and changes of aliases."""

    def set_alias(self, name: str, alias: str, number: int, actor: str) -> AliasMove:
        with self._write() as conn:
            model = self._model_row(conn, name, lock=True)
            self._version_row(conn, model.id, name, number)
            current = self._alias_target(conn, model.id, alias)
            if current == number:
                return AliasMove(name, alias, "unchanged", number, number, actor, utc_now())
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
