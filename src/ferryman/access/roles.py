"""Roles, each including the ones before it, and the caller a verified token stands for."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from fnmatch import translate

from ferryman.errors import InvalidArgumentError, PermissionDeniedError

__all__ = ["Caller", "Role"]


class Role(enum.IntEnum):
    """What a token may do; each role includes every one below it.

    ``viewer`` reads model metadata, monitoring summaries and metrics; ``predictor`` also
    predicts and sends feedback; ``operator`` also moves aliases and rolls back; ``admin``
    also manages tokens.
    """

    VIEWER = 1
    PREDICTOR = 2
    OPERATOR = 3
    ADMIN = 4

    def __str__(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: object) -> Role:
        """The role named ``text`` (any case); InvalidArgumentError lists the known ones."""
        if isinstance(text, Role):
            return text
        if isinstance(text, str):
            member = cls.__members__.get(text.strip().upper())
            if member is not None:
                return member
        known = ", ".join(str(role) for role in cls)
        raise InvalidArgumentError(f"unknown role {text!r}; use one of {known}")


@dataclass(frozen=True, slots=True)
class Caller:
    """Who a request comes from: a token's name, role and model scopes (empty: every model)."""

    name: str
    role: Role
    scopes: tuple[str, ...] = ()
    # the scopes as one compiled pattern: a request asks it once, in a regex's time
    _matcher: re.Pattern[str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        matcher = re.compile("|".join(map(translate, self.scopes))) if self.scopes else None
        object.__setattr__(self, "_matcher", matcher)

    def may(self, role: Role) -> bool:
        """Whether this caller's role includes ``role``."""
        return self.role >= role

    def require(self, role: Role) -> None:
        """PermissionDeniedError unless this caller's role includes ``role``."""
        if self.role < role:
            raise PermissionDeniedError(
                f"token {self.name!r} has the role {self.role}; this needs {role} or above"
            )

    def sees(self, model: str) -> bool:
        """Whether ``model`` is within this caller's scopes (case-sensitive name patterns)."""
        return self._matcher is None or self._matcher.match(model) is not None
