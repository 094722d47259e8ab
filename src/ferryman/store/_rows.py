"""Turning table rows into ferryman's records, and page tokens into keys (store internals)."""

from __future__ import annotations

import base64
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Float, Row, Text, bindparam, func, null, select, union_all
from sqlalchemy.sql.expression import BindParameter

from ferryman.core.records import AuditEvent, ModelInfo, ModelVersion
from ferryman.core.signature import OutputSpec, Signature
from ferryman.errors import InvalidQueryError
from ferryman.store import tables as t

# Every version column but the (large) profile; listings never read profiles.
VERSION_COLUMNS = (
    t.versions.c.id,
    t.versions.c.number,
    t.versions.c.flavor,
    t.versions.c.artifact_sha256,
    t.versions.c.artifact_size,
    t.versions.c.description,
    t.versions.c.signature,
    t.versions.c.output,
    t.versions.c.params,
    t.versions.c.data_fingerprint,
    (t.versions.c.profile.is_not(None)).label("has_profile"),
    t.versions.c.environment,
    t.versions.c.git_commit,
    t.versions.c.created_by,
    t.versions.c.created_at,
    t.versions.c.trusted_types,
    t.versions.c.trusted_by,
)

# Statements on the hot path are built once; SQLAlchemy then only binds values.
_IDS: BindParameter[int] = bindparam("ids", expanding=True)
# Separate number and text columns keep the union valid on strictly typed databases.
_KEY_VALUES = union_all(
    select(
        t.version_metrics.c.version_id,
        t.version_metrics.c.key,
        t.version_metrics.c.value,
        null().cast(Text),
    ).where(t.version_metrics.c.version_id.in_(_IDS)),
    select(
        t.version_tags.c.version_id,
        t.version_tags.c.key,
        null().cast(Float),
        t.version_tags.c.value,
    ).where(t.version_tags.c.version_id.in_(_IDS)),
)
_ALIASES = select(t.aliases.c.model_id, t.aliases.c.name, t.aliases.c.version_number).where(
    t.aliases.c.model_id.in_(_IDS)
)


def encode_token(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def decode_token(token: str | None, kind: type) -> Any:
    if token is None:
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidQueryError(
            f"invalid page token {token!r}: pass back the token a listing returned"
        ) from exc
    out_of_range = isinstance(value, int) and not 0 <= value < 2**62
    if not isinstance(value, kind) or isinstance(value, bool) or out_of_range:
        raise InvalidQueryError(
            f"invalid page token {token!r}: pass back the token a listing returned"
        )
    return value


def key_values(conn: Connection, table: Any, owner: Any, ids: Sequence[int]) -> dict[int, dict]:
    """``{owner id: {key: value}}`` for a key/value table such as tags or metrics."""
    found: dict[int, dict] = defaultdict(dict)
    if ids:
        rows = conn.execute(select(owner, table.c.key, table.c.value).where(owner.in_(ids)))
        for owner_id, key, value in rows:
            found[owner_id][key] = value
    return found


def version_key_values(
    conn: Connection, ids: Sequence[int]
) -> tuple[dict[int, dict], dict[int, dict]]:
    """Metrics and tags of versions ``ids``, read in one statement."""
    metrics: dict[int, dict] = defaultdict(dict)
    tags: dict[int, dict] = defaultdict(dict)
    if ids:
        for version_id, key, number, text in conn.execute(_KEY_VALUES, {"ids": list(ids)}):
            if text is None:
                metrics[version_id][key] = number
            else:
                tags[version_id][key] = text
    return metrics, tags


def aliases_by_model(conn: Connection, model_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    found: dict[int, dict[str, int]] = defaultdict(dict)
    if model_ids:
        for model_id, name, number in conn.execute(_ALIASES, {"ids": list(model_ids)}):
            found[model_id][name] = number
    return found


def to_versions(
    conn: Connection, model: str, model_id: int, rows: Iterable[Row[Any] | Any]
) -> list[ModelVersion]:
    """Build ModelVersion records for ``rows`` (VERSION_COLUMNS) of one model, in one go."""
    rows = list(rows)
    ids = [r.id for r in rows]
    metrics, tags = version_key_values(conn, ids)
    by_version: dict[int, list[str]] = defaultdict(list)
    for alias, number in sorted(aliases_by_model(conn, [model_id])[model_id].items()):
        by_version[number].append(alias)
    return [
        ModelVersion(
            model=model,
            version=r.number,
            flavor=r.flavor,
            artifact_sha256=r.artifact_sha256,
            artifact_size=r.artifact_size,
            created_at=r.created_at,
            created_by=r.created_by,
            signature=Signature.from_dict(r.signature) if r.signature else None,
            output=OutputSpec.from_dict(r.output),
            metrics=dict(metrics.get(r.id, {})),
            params=dict(r.params or {}),
            tags=dict(tags.get(r.id, {})),
            description=r.description,
            data_fingerprint=r.data_fingerprint,
            has_profile=bool(r.has_profile),
            environment=dict(r.environment or {}),
            git_commit=r.git_commit,
            aliases=tuple(by_version.get(r.number, ())),
            trusted_types=tuple(r.trusted_types or ()),
            trusted_by=r.trusted_by,
        )
        for r in rows
    ]


def to_model_infos(conn: Connection, rows: Sequence[Row[Any] | Any]) -> list[ModelInfo]:
    """Build ModelInfo records for model rows, with tags, aliases and version counts."""
    ids = [r.id for r in rows]
    tags = key_values(conn, t.model_tags, t.model_tags.c.model_id, ids)
    aliases = aliases_by_model(conn, ids)
    counts: dict[int, tuple[int, int | None]] = {}
    if ids:
        stats = conn.execute(
            select(t.versions.c.model_id, func.count(), func.max(t.versions.c.number))
            .where(t.versions.c.model_id.in_(ids), t.versions.c.deleted_at.is_(None))
            .group_by(t.versions.c.model_id)
        )
        counts = {model_id: (n, latest) for model_id, n, latest in stats}
    return [
        ModelInfo(
            name=r.name,
            description=r.description,
            tags=dict(tags.get(r.id, {})),
            created_at=r.created_at,
            updated_at=r.updated_at,
            created_by=r.created_by,
            aliases=dict(sorted(aliases.get(r.id, {}).items())),
            latest_version=counts.get(r.id, (0, None))[1],
            version_count=counts.get(r.id, (0, None))[0],
        )
        for r in rows
    ]


def to_event(row: Row[Any]) -> AuditEvent:
    return AuditEvent(
        id=row.id,
        model=row.model_name,
        kind=row.kind,
        actor=row.actor,
        at=row.at,
        version=row.version,
        alias=row.alias,
        before=row.before,
        after=row.after,
    )
