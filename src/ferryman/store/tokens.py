"""Access's store: API tokens (their digests, never their secrets) and the tokens' events.

``TokenStore`` keeps access's tables in the metadata database, over the engine the registry's
``MetadataStore`` opened, as ``MonitorStore`` does for monitoring. Every change to a token is
written in one transaction with its event.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from ferryman.errors import InvalidArgumentError, TokenExistsError, TokenNotFoundError
from ferryman.store import tables as t
from ferryman.store._base import EngineStore, check_limit, utc_now

__all__ = ["NewTokenEvent", "StoredToken", "TokenEvent", "TokenStore"]


@dataclass(frozen=True)
class StoredToken:
    """A token's row: its secret's SHA-256 digest and display prefix, never the secret."""

    name: str
    role: str
    scopes: tuple[str, ...]
    digest: str
    prefix: str
    created_at: datetime
    created_by: str
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    revoked_by: str | None


@dataclass(frozen=True)
class NewTokenEvent:
    """An event to record about a token (a refused use, found by the server)."""

    token: str
    kind: str
    actor: str
    at: datetime
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TokenEvent:
    """A recorded event: a token created, revoked, deleted, or a refused use of it."""

    id: int
    token: str
    kind: str
    actor: str
    at: datetime
    detail: dict[str, Any]


def _token(row: Any) -> StoredToken:
    return StoredToken(
        name=row.name,
        role=row.role,
        scopes=tuple(row.scopes or ()),
        digest=row.digest,
        prefix=row.prefix,
        created_at=row.created_at,
        created_by=row.created_by,
        expires_at=row.expires_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
        revoked_by=row.revoked_by,
    )


def _no_token(name: str) -> TokenNotFoundError:
    return TokenNotFoundError(f"no API token named {name!r}; list them with `ferryman tokens list`")


class TokenStore(EngineStore):
    """API tokens and their events, over ``engine`` (the metadata database's, at head)."""

    def add_token(
        self,
        *,
        name: str,
        role: str,
        scopes: Sequence[str],
        digest: str,
        prefix: str,
        actor: str,
        expires_at: datetime | None,
    ) -> StoredToken:
        """Keep a new token and its ``token.created`` event; TokenExistsError if the name is
        taken."""
        now = utc_now()
        values = {
            "name": name,
            "role": role,
            "scopes": list(scopes),
            "digest": digest,
            "prefix": prefix,
            "created_at": now,
            "created_by": actor,
            "expires_at": expires_at,
        }
        detail = {
            "role": role,
            "scopes": list(scopes),
            "expires": None if expires_at is None else expires_at.isoformat(),
        }
        try:
            with self._write() as conn:
                if self._row(conn, name) is not None:
                    raise _exists(name)
                conn.execute(insert(t.api_tokens).values(**values))
                self._event(conn, name, "token.created", actor, now, detail)
                return _token(self._row(conn, name))
        except IntegrityError as exc:  # another process took the name between read and insert
            raise _exists(name) from exc

    def tokens(self) -> list[StoredToken]:
        """Every token on record (revoked and expired ones too), by name."""
        with self._read() as conn:
            rows = conn.execute(select(t.api_tokens).order_by(t.api_tokens.c.name)).all()
        return [_token(row) for row in rows]

    def token(self, name: str) -> StoredToken:
        with self._read() as conn:
            row = self._row(conn, name)
        if row is None:
            raise _no_token(name)
        return _token(row)

    def token_count(self) -> int:
        """How many tokens are on record (revoked and expired ones included)."""
        with self._read() as conn:
            return int(conn.execute(select(func.count()).select_from(t.api_tokens)).scalar_one())

    def revoke_token(self, name: str, actor: str) -> StoredToken:
        """Mark ``name`` revoked (its row stays, so its uses are refused as revoked)."""
        now = utc_now()
        with self._write() as conn:
            row = self._row(conn, name)
            if row is None:
                raise _no_token(name)
            if row.revoked_at is not None:
                raise InvalidArgumentError(
                    f"API token {name!r} was already revoked at "
                    f"{row.revoked_at.isoformat(timespec='seconds')} by {row.revoked_by}; "
                    "nothing changed"
                )
            conn.execute(
                update(t.api_tokens)
                .where(t.api_tokens.c.name == name)
                .values(revoked_at=now, revoked_by=actor)
            )
            self._event(conn, name, "token.revoked", actor, now, {"role": row.role})
            return _token(self._row(conn, name))

    def delete_token(self, name: str, actor: str) -> StoredToken:
        """Remove ``name``'s row (its events stay); returns the row as it was."""
        now = utc_now()
        with self._write() as conn:
            row = self._row(conn, name)
            if row is None:
                raise _no_token(name)
            conn.execute(delete(t.api_tokens).where(t.api_tokens.c.name == name))
            self._event(conn, name, "token.deleted", actor, now, {"role": row.role})
        return _token(row)

    def mark_used(self, names: Collection[str], at: datetime, min_gap: timedelta) -> None:
        """Set the last use of ``names`` to ``at``, unless one was recorded less than
        ``min_gap`` before it (so that a busy token is written at most once per gap)."""
        if not names:
            return
        c = t.api_tokens.c
        with self._write() as conn:
            conn.execute(
                update(t.api_tokens)
                .where(
                    c.name.in_(sorted(names)),
                    or_(c.last_used_at.is_(None), c.last_used_at <= at - min_gap),
                )
                .values(last_used_at=at)
            )

    def add_token_events(self, events: Sequence[NewTokenEvent]) -> None:
        if not events:
            return
        with self._write() as conn:
            conn.execute(
                insert(t.token_events),
                [
                    {
                        "token_name": e.token,
                        "kind": e.kind,
                        "actor": e.actor,
                        "at": e.at,
                        "detail": dict(e.detail),
                    }
                    for e in events
                ],
            )

    def token_events(self, token: str | None = None, *, limit: int = 100) -> list[TokenEvent]:
        """The newest ``limit`` token events (of ``token``, or of all), newest first."""
        limit = check_limit(limit)
        query = select(t.token_events).order_by(t.token_events.c.id.desc()).limit(limit)
        if token is not None:
            query = query.where(t.token_events.c.token_name == token)
        with self._read() as conn:
            rows = conn.execute(query).all()
        return [TokenEvent(r.id, r.token_name, r.kind, r.actor, r.at, r.detail or {}) for r in rows]

    @staticmethod
    def _row(conn: Connection, name: str) -> Any:
        return conn.execute(select(t.api_tokens).where(t.api_tokens.c.name == name)).first()

    @staticmethod
    def _event(
        conn: Connection, name: str, kind: str, actor: str, at: datetime, detail: dict[str, Any]
    ) -> None:
        conn.execute(
            insert(t.token_events).values(
                token_name=name, kind=kind, actor=actor, at=at, detail=detail
            )
        )


def _exists(name: str) -> TokenExistsError:
    return TokenExistsError(
        f"an API token named {name!r} already exists; pick another name, or revoke it first "
        f"(`ferryman tokens revoke {name}`) and delete it (`ferryman tokens delete {name}`)"
    )
