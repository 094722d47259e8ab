"""The metadata tables. Changing them means adding an Alembic migration under migrations/."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, hands back aware UTC datetimes on every backend."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


# JSON that stores Python None as SQL NULL (plain JSON stores the text 'null'), so that
# "IS NULL" means "absent".
NullableJSON = JSON(none_as_null=True)
NAME = 128
metadata = MetaData()

models = Table(
    "models",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(NAME), nullable=False, unique=True),
    Column("description", Text, nullable=False, default=""),
    Column("last_version", Integer, nullable=False, default=0),
    Column("created_by", String(NAME), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # A deleted model stays as a tombstone so that its version numbers are never reused.
    Column("deleted_at", UTCDateTime, nullable=True),
)

model_tags = Table(
    "model_tags",
    metadata,
    Column("model_id", Integer, ForeignKey("models.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(NAME), primary_key=True),
    Column("value", Text, nullable=False),
)

versions = Table(
    "versions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("model_id", Integer, ForeignKey("models.id", ondelete="CASCADE"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("flavor", String(64), nullable=False),
    Column("artifact_sha256", String(64), nullable=False),
    Column("artifact_size", BigInteger, nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("signature", NullableJSON, nullable=True),
    Column("output", NullableJSON, nullable=True),
    Column("params", NullableJSON, nullable=True),
    Column("data_fingerprint", String(64), nullable=True),
    Column("profile", NullableJSON, nullable=True),
    Column("environment", NullableJSON, nullable=True),
    Column("git_commit", String(64), nullable=True),
    Column("created_by", String(NAME), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("deleted_at", UTCDateTime, nullable=True),
    # Types trusted when the version was registered (every load of it trusts them), and who.
    Column("trusted_types", NullableJSON, nullable=True),
    Column("trusted_by", String(NAME), nullable=True),
    UniqueConstraint("model_id", "number", name="uq_versions_model_number"),
)

version_metrics = Table(
    "version_metrics",
    metadata,
    Column("version_id", Integer, ForeignKey("versions.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(NAME), primary_key=True),
    Column("value", Float, nullable=False),
    Index("ix_version_metrics_key_value", "key", "value"),
)

version_tags = Table(
    "version_tags",
    metadata,
    Column("version_id", Integer, ForeignKey("versions.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(NAME), primary_key=True),
    Column("value", Text, nullable=False),
)

aliases = Table(
    "aliases",
    metadata,
    Column("model_id", Integer, ForeignKey("models.id", ondelete="CASCADE"), primary_key=True),
    Column("name", String(NAME), primary_key=True),
    Column("version_number", Integer, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

alias_moves = Table(
    "alias_moves",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("model_id", Integer, ForeignKey("models.id", ondelete="CASCADE"), nullable=False),
    Column("alias", String(NAME), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("from_version", Integer, nullable=True),
    Column("to_version", Integer, nullable=True),
    Column("actor", String(NAME), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_alias_moves_model_alias", "model_id", "alias", "id"),
)

# Audit events name the model by text, not by key, so they outlive a deleted model.
audit_events = Table(
    "audit_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("model_name", String(NAME), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("actor", String(NAME), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("version", Integer, nullable=True),
    Column("alias", String(NAME), nullable=True),
    Column("before", NullableJSON, nullable=True),
    Column("after", NullableJSON, nullable=True),
    Index("ix_audit_events_model", "model_name", "id"),
)

# --- monitoring ------------------------------------------------------------------------------
# Monitoring rows name the model by text, like audit events: they outlive a deleted model.
monitor_results = Table(
    "monitor_results",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("model_name", String(NAME), nullable=False),
    Column("version", Integer, nullable=True),  # NULL: about the model, not one version
    Column("kind", String(32), nullable=False),
    Column("window_start", UTCDateTime, nullable=False),
    Column("window_end", UTCDateTime, nullable=False),
    Column("computed_at", UTCDateTime, nullable=False),
    # The few headline numbers a time series reads; the full result stays in the payload.
    Column("summary", NullableJSON, nullable=True),
    Column("payload", NullableJSON, nullable=True),
    Index("ix_monitor_results_series", "model_name", "kind", "window_end"),
    Index("ix_monitor_results_window_end", "window_end"),
)

alert_events = Table(
    "alert_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("model_name", String(NAME), nullable=False),
    Column("version", Integer, nullable=True),
    Column("rule", String(NAME), nullable=False),
    Column("subject", String(256), nullable=True),  # the feature or KPI the rule looked at
    Column("severity", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("first_seen", UTCDateTime, nullable=False),
    Column("last_seen", UTCDateTime, nullable=False),
    Column("resolved_at", UTCDateTime, nullable=True),
    Column("value", Float, nullable=True),
    Column("threshold", Float, nullable=False),
    Column("message", Text, nullable=False),
    Column("evidence", NullableJSON, nullable=True),
    Index("ix_alert_events_model", "model_name", "id"),
    # At most one firing event per condition, even with several processes evaluating.
    # Migration 0003 creates it on PostgreSQL too (``postgresql_where``, the same predicate);
    # naming that dialect here would import all of SQLAlchemy's PostgreSQL support (~30 ms)
    # into every command, and the schema is built by the migrations, not from this table.
    Index(
        "ux_alert_events_firing",
        "fingerprint",
        unique=True,
        sqlite_where=text("state = 'firing'"),
    ),
)

alert_deliveries = Table(
    "alert_deliveries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("event_id", Integer, ForeignKey("alert_events.id", ondelete="CASCADE"), nullable=False),
    Column("state", String(16), nullable=False),  # the change delivered: fired or resolved
    Column("target", Text, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("error", Text, nullable=True),
    Index("ix_alert_deliveries_event", "event_id", "id"),
)

# --- access ----------------------------------------------------------------------------------
# API tokens. The secret itself is never stored: only its SHA-256 digest (the lookup key) and
# a short prefix to recognise it by. A revoked token keeps its row so that its use can be told
# apart from an unknown one (and refused as such).
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(NAME), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("scopes", NullableJSON, nullable=True),  # name patterns; NULL or []: every model
    Column("digest", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(NAME), nullable=False),
    Column("expires_at", UTCDateTime, nullable=True),
    Column("last_used_at", UTCDateTime, nullable=True),
    Column("revoked_at", UTCDateTime, nullable=True),
    Column("revoked_by", String(NAME), nullable=True),
)

# What happened to tokens: created, revoked, deleted, and refused uses of revoked or expired
# ones. Named by text, so that they outlive a deleted token (audit_events needs a model).
token_events = Table(
    "token_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("token_name", String(NAME), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("actor", String(NAME), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("detail", NullableJSON, nullable=True),
    Index("ix_token_events_token", "token_name", "id"),
)
