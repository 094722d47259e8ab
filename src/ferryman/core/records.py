"""What the registry hands out: models, versions, alias moves, audit events, pages."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from ferryman.core.signature import OutputSpec, Signature

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """A registered model: a name under which numbered versions live."""

    name: str
    description: str
    tags: dict[str, str]
    created_at: datetime
    updated_at: datetime
    created_by: str
    aliases: dict[str, int] = field(default_factory=dict)
    latest_version: int | None = None
    version_count: int = 0


@dataclass(frozen=True, slots=True)
class ModelVersion:
    """One immutable version of a model (its tags are the only part that may change)."""

    model: str
    version: int
    flavor: str
    artifact_sha256: str
    artifact_size: int
    created_at: datetime
    created_by: str
    signature: Signature | None = None
    output: OutputSpec = field(default_factory=OutputSpec)
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    description: str = ""
    data_fingerprint: str | None = None
    has_profile: bool = False
    environment: dict[str, Any] = field(default_factory=dict)
    git_commit: str | None = None
    aliases: tuple[str, ...] = ()
    # types trusted at registration, which every load of this version trusts, and who gave them
    trusted_types: tuple[str, ...] = ()
    trusted_by: str | None = None

    @property
    def ref(self) -> str:
        """The reference that always names exactly this version, e.g. ``churn/3``."""
        return f"{self.model}/{self.version}"


@dataclass(frozen=True, slots=True)
class AliasMove:
    """One move of an alias: what it pointed at before and after."""

    model: str
    alias: str
    kind: str
    from_version: int | None
    to_version: int | None
    actor: str
    at: datetime


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One change to a model, with who made it, when, and the state before and after."""

    id: int
    model: str
    kind: str
    actor: str
    at: datetime
    version: int | None = None
    alias: str | None = None
    before: Any = None
    after: Any = None


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a listing; pass ``next_page_token`` back to get the next one."""

    items: list[T]
    next_page_token: str | None = None

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)
