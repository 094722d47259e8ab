"""The token book: create, list, revoke and delete API tokens; what is known of each one."""

from __future__ import annotations

import builtins
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any, Literal

from ferryman.access._secrets import digest_of, display_prefix, new_secret
from ferryman.access.roles import Role
from ferryman.access.storage import StoredToken, TokenEvent, open_token_store
from ferryman.access.verifier import TokenVerifier
from ferryman.core.durations import parse_duration
from ferryman.core.names import check_name
from ferryman.errors import ConfigError, InvalidArgumentError

if TYPE_CHECKING:
    from ferryman.registry import Registry

__all__ = ["TokenBook", "TokenInfo", "check_scopes", "parse_expiry"]

TokenState = Literal["active", "revoked", "expired"]
_DURATION = re.compile(r"\s*[\d.]+\s*[a-z]+\s*")
_PATTERN = re.compile(r"[A-Za-z0-9._*?!\[\]-]+")
MAX_PATTERN = 128
MAX_SCOPES = 100


@dataclass(frozen=True)
class TokenInfo:
    """What is known of an API token; never its secret (``prefix`` is its first characters)."""

    name: str
    role: Role
    scopes: tuple[str, ...]
    prefix: str
    created: datetime
    created_by: str
    expires: datetime | None
    last_used: datetime | None
    revoked: datetime | None
    revoked_by: str | None = None

    def state(self, now: datetime | None = None) -> TokenState:
        """``revoked``, ``expired`` (at ``now``, default the present) or ``active``."""
        if self.revoked is not None:
            return "revoked"
        if self.expires is not None and self.expires <= (now or datetime.now(UTC)):
            return "expired"
        return "active"

    def to_dict(self) -> dict[str, Any]:
        """The token as JSON-ready values (times in ISO 8601, UTC)."""

        def iso(value: datetime | None) -> str | None:
            return None if value is None else value.isoformat()

        return {
            "name": self.name,
            "role": str(self.role),
            "scopes": list(self.scopes),
            "prefix": self.prefix,
            "state": self.state(),
            "created": iso(self.created),
            "created_by": self.created_by,
            "expires": iso(self.expires),
            "last_used": iso(self.last_used),
            "revoked": iso(self.revoked),
            "revoked_by": self.revoked_by,
        }

    @classmethod
    def from_stored(cls, row: StoredToken) -> TokenInfo:
        return cls(
            name=row.name,
            role=Role.parse(row.role),
            scopes=row.scopes,
            prefix=row.prefix,
            created=row.created_at,
            created_by=row.created_by,
            expires=row.expires_at,
            last_used=row.last_used_at,
            revoked=row.revoked_at,
            revoked_by=row.revoked_by,
        )


def parse_expiry(value: str | datetime | timedelta | None, now: datetime) -> datetime | None:
    """When a token made at ``now`` expires: ``None`` (never), a duration (``90d``, ``12h``,
    ``30m``, or a timedelta) or a date or time (``2027-06-30``, ISO 8601, UTC unless it says).

    InvalidArgumentError for text that is neither, and for a moment that is not in the future.
    """
    if value is None:
        return None
    try:
        moment = _moment_of(value, now)
        if moment > now:
            return moment.astimezone(UTC)
    except OverflowError:
        raise InvalidArgumentError(
            f"token expiry {_shown(value)} is too far in the future; give a date before the "
            "year 9999 or a shorter duration"
        ) from None
    raise InvalidArgumentError(
        f"token expiry {_shown(value)} is in the past "
        f"({moment.isoformat(timespec='seconds')}); give a later date or a duration such as 90d"
    )


def _moment_of(value: object, now: datetime) -> datetime:
    if isinstance(value, timedelta):
        return now + value
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        return _moment(value, now)
    raise InvalidArgumentError(
        f"token expiry must be a duration such as '90d' or a date, got {value!r}"
    )


def _moment(text: str, now: datetime) -> datetime:
    if _DURATION.fullmatch(text):
        try:
            return now + timedelta(seconds=parse_duration(text, "token expiry"))
        except ConfigError as exc:
            raise InvalidArgumentError(str(exc)) from None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        try:  # a date alone: the start of that day, UTC
            day = date.fromisoformat(text.strip())
        except ValueError:
            raise InvalidArgumentError(
                f"token expiry {text!r} is neither a duration nor a date; write e.g. 90d, 12h, "
                "30m (units s, m, h, d, w) or 2027-06-30 or 2027-06-30T12:00:00Z"
            ) from None
        moment = datetime(day.year, day.month, day.day)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _shown(value: object) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def check_scopes(models: Iterable[str] | str) -> tuple[str, ...]:
    """The model-name patterns of a token, checked and without repeats (empty: every model).

    A pattern is a model name that may hold ``*`` (any characters), ``?`` (one) and ``[...]``
    (one of a set), matched case-sensitively against the whole name.
    """
    if isinstance(models, str):
        models = [models]
    patterns = tuple(dict.fromkeys(models))
    if len(patterns) > MAX_SCOPES:
        raise InvalidArgumentError(
            f"a token takes at most {MAX_SCOPES} model patterns, got {len(patterns)}"
        )
    for pattern in patterns:
        if not isinstance(pattern, str) or not pattern:
            raise InvalidArgumentError(
                f"a model pattern must be a non-empty string, got {pattern!r}"
            )
        if len(pattern) > MAX_PATTERN or not _PATTERN.fullmatch(pattern):
            raise InvalidArgumentError(
                f"invalid model pattern {pattern[:60]!r}: use model-name characters (letters, "
                "digits, '-', '_', '.') and the wildcards *, ? and [...], e.g. 'churn*'"
            )
        if pattern.count("[") != pattern.count("]"):
            raise InvalidArgumentError(
                f"invalid model pattern {pattern!r}: its brackets [...] do not pair up"
            )
    return patterns


class TokenBook:
    """The API tokens of ``registry``'s store: create, list, revoke and delete them.

    Each change is kept with its event and the registry's actor (the login running the
    command or the script). The server builds a :meth:`verifier` to check tokens on requests.
    """

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.store = open_token_store(registry)

    def create(
        self,
        name: str,
        role: Role | str,
        models: Iterable[str] = (),
        expires: str | datetime | timedelta | None = None,
    ) -> tuple[TokenInfo, str]:
        """Make a token; returns what is kept of it and its secret, which is shown only now.

        ``models`` are name patterns (``churn*``) limiting the token to those models (none:
        every model); ``expires`` a duration (``90d``) or a date. A pattern that matches no
        model yet is allowed (see :meth:`unmatched_scopes`).
        """
        name = check_name(name, "token name")
        parsed_role = Role.parse(role)
        scopes = check_scopes(models)
        now = datetime.now(UTC)
        expires_at = parse_expiry(expires, now)
        secret = new_secret()
        row = self.store.add_token(
            name=name,
            role=str(parsed_role),
            scopes=scopes,
            digest=digest_of(secret),
            prefix=display_prefix(secret),
            actor=self.registry.actor,
            expires_at=expires_at,
        )
        return TokenInfo.from_stored(row), secret

    def list(self) -> builtins.list[TokenInfo]:
        """Every token on record, by name: active, expired and revoked (see ``state``)."""
        return [TokenInfo.from_stored(row) for row in self.store.tokens()]

    def get(self, name: str) -> TokenInfo:
        """The token named ``name``; TokenNotFoundError if there is none."""
        return TokenInfo.from_stored(self.store.token(check_name(name, "token name")))

    def revoke(self, name: str) -> TokenInfo:
        """Revoke ``name``: its uses are refused (and recorded) from the next verifier refresh.

        Its record stays, and with it the server's need for tokens: revoking the last token
        never opens the server (delete it for that).
        """
        return TokenInfo.from_stored(
            self.store.revoke_token(check_name(name, "token name"), self.registry.actor)
        )

    def delete(self, name: str) -> TokenInfo:
        """Remove ``name``'s record (its events stay); its uses become unknown tokens."""
        return TokenInfo.from_stored(
            self.store.delete_token(check_name(name, "token name"), self.registry.actor)
        )

    def events(self, name: str | None = None, *, limit: int = 100) -> builtins.list[TokenEvent]:
        """The newest token events (of ``name``, or of all tokens), newest first."""
        if name is not None:
            name = check_name(name, "token name")
        return self.store.token_events(name, limit=limit)

    def active_count(self) -> int:
        """How many tokens are neither revoked nor expired."""
        now = datetime.now(UTC)
        return sum(1 for token in self.list() if token.state(now) == "active")

    def unmatched_scopes(self, patterns: Iterable[str]) -> builtins.list[str]:
        """The patterns among ``patterns`` that match no model in the registry today."""
        names = self._model_names()
        return [p for p in patterns if not any(fnmatchcase(n, p) for n in names)]

    def verifier(self, *, actor: str | None = None) -> TokenVerifier:
        """A verifier over this store's tokens, loaded now; refused uses are recorded with
        ``actor`` (default the registry's)."""
        return TokenVerifier(self.store, actor=actor or self.registry.actor)

    def _model_names(self) -> builtins.list[str]:
        names: builtins.list[str] = []
        token: str | None = None
        while True:
            page = self.registry.list_models(limit=1000, page_token=token)
            names.extend(model.name for model in page.items)
            token = page.next_page_token
            if token is None:
                return names
