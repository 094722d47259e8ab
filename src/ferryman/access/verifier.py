"""Checking a request's token: in memory, one dict lookup for a token seen before.

The verifier holds every token's digest, role and scopes, read from the store by
:meth:`TokenVerifier.refresh` (the server calls it every poll interval, so a new or revoked
token reaches every worker within it). :meth:`TokenVerifier.check` touches no database and no
slow hash: what it must record (refused uses, last uses) waits in memory, bounded, for the
next refresh to write.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ferryman.access._secrets import digest_of, is_well_formed
from ferryman.access.roles import Caller, Role
from ferryman.access.storage import NewTokenEvent, StoredToken, TokenStore
from ferryman.errors import AuthenticationError, StoreError

__all__ = ["TokenVerifier"]

CACHE_SIZE = 4096  # raw tokens remembered after their first check; cleared when full
REFUSAL_GAP = 60.0  # seconds: at most one refused-use event per token per gap
USE_GAP = timedelta(minutes=1)  # a token's last use is written at most once per minute
MAX_PENDING = 1000  # refused-use events waiting for the next refresh

_ADVICE = "ask an admin for a token (`ferryman tokens create NAME --role ROLE`)"
_MESSAGES = {
    "malformed token": "malformed token: an API token is 'fm_' followed by 43 letters, "
    "digits, '-' or '_'",
    "no such token": f"no such token: it is not one of this server's API tokens; {_ADVICE}",
    "token revoked": f"token revoked: it can no longer be used; {_ADVICE}",
    "token expired": f"token expired: it can no longer be used; {_ADVICE}",
}


@dataclass(frozen=True, slots=True)
class _Entry:
    digest: str
    caller: Caller
    expires: float | None  # seconds since the epoch
    revoked: bool


def _entry(row: StoredToken) -> _Entry:
    return _Entry(
        digest=row.digest,
        caller=Caller(row.name, Role.parse(row.role), row.scopes),
        expires=None if row.expires_at is None else row.expires_at.timestamp(),
        revoked=row.revoked_at is not None,
    )


def refuse(reason: str) -> AuthenticationError:
    """The error for ``reason`` (one of the verifier's reasons), never naming the token."""
    return AuthenticationError(_MESSAGES.get(reason, reason), reason)


class TokenVerifier:
    """Turns a bearer token into the ``Caller`` it stands for, or refuses it.

    Safe to share between the event loop (``check``) and a thread calling ``refresh``: each
    refresh builds new tables and swaps them in whole.
    """

    def __init__(
        self,
        store: TokenStore,
        *,
        actor: str,
        cache_size: int = CACHE_SIZE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._actor = actor
        self._cache_size = cache_size
        self._clock = clock
        self._by_digest: dict[str, _Entry] = {}
        self._cache: dict[str, _Entry] = {}
        self._used: set[str] = set()
        self._refused_at: dict[str, float] = {}
        self._unreported: dict[str, int] = {}
        self._pending: list[NewTokenEvent] = []
        self._lock = threading.Lock()  # the refusal bookkeeping (rare, off the good path)
        self.needs_auth = False
        self.refresh()

    def check(self, secret: str) -> Caller:
        """The caller ``secret`` stands for; AuthenticationError (its ``reason`` one of
        "malformed token", "no such token", "token revoked", "token expired") otherwise."""
        entry = self._cache.get(secret)
        if entry is None:
            entry = self._lookup(secret)
        if entry.revoked:
            raise self._refuse(entry, "token revoked")
        if entry.expires is not None and self._clock() >= entry.expires:
            raise self._refuse(entry, "token expired")
        self._used.add(entry.caller.name)
        return entry.caller

    def refresh(self) -> None:
        """Re-read the tokens from the store, then write the refused uses and last uses
        gathered since the last refresh. StoreError if either cannot be done (what was to be
        written is kept for the next refresh)."""
        rows = self._store.tokens()
        self._by_digest = {row.digest: _entry(row) for row in rows}
        self._cache = {}
        # Any token on record, revoked or expired too: revoking or outliving the last token
        # must not silently open the server; deleting the records does.
        self.needs_auth = bool(rows)
        self._flush()

    def _lookup(self, secret: str) -> _Entry:
        if not isinstance(secret, str) or not is_well_formed(secret):
            raise refuse("malformed token")
        digest = digest_of(secret)
        entry = self._by_digest.get(digest)
        # The dict finds the entry by the digest's hash; the comparison that decides is
        # constant-time, so its timing says nothing of how much of the digest matched.
        if entry is None or not hmac.compare_digest(entry.digest, digest):
            raise refuse("no such token")
        cache = self._cache
        if len(cache) >= self._cache_size:
            cache.clear()
        cache[secret] = entry
        return entry

    def _refuse(self, entry: _Entry, reason: str) -> AuthenticationError:
        name = entry.caller.name
        now = self._clock()
        with self._lock:
            last = self._refused_at.get(name)
            if (last is None or now - last >= REFUSAL_GAP) and len(self._pending) < MAX_PENDING:
                self._refused_at[name] = now
                detail: dict[str, object] = {"reason": reason}
                skipped = self._unreported.pop(name, 0)
                if skipped:
                    detail["refused_before"] = skipped  # since the last event, not recorded
                self._pending.append(
                    NewTokenEvent(
                        name, "token.refused", self._actor, datetime.fromtimestamp(now, UTC), detail
                    )
                )
            else:
                self._unreported[name] = self._unreported.get(name, 0) + 1
        return refuse(reason)

    def _flush(self) -> None:
        with self._lock:
            events, self._pending = self._pending, []
        used, self._used = self._used, set()
        try:
            self._store.add_token_events(events)
            self._store.mark_used(used, datetime.fromtimestamp(self._clock(), UTC), min_gap=USE_GAP)
        except StoreError:
            with self._lock:
                self._pending[:0] = events[: MAX_PENDING - len(self._pending)]
            self._used |= used
            raise
