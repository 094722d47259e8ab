"""The metadata store: models, versions, aliases and the audit log, in one SQL database.

It opens the database and owns its engine; other parts keep their tables in the same database
through stores of their own on that engine (``store/monitoring.py``).

Every write runs in one transaction together with its audit event, so the log and the data
never disagree. On SQLite, writes take the lock when they begin; elsewhere, the model's row is
locked with SELECT ... FOR UPDATE before a version number is taken.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from ferryman.core.records import AuditEvent, Page
from ferryman.store import _rows
from ferryman.store import tables as t
from ferryman.store._base import MetricFilter, NewVersion, check_limit
from ferryman.store.alias_queries import AliasQueries
from ferryman.store.migrate import open_database
from ferryman.store.model_queries import ModelQueries
from ferryman.store.version_queries import VersionQueries

__all__ = ["MetadataStore", "MetricFilter", "NewVersion"]


class MetadataStore(ModelQueries, VersionQueries, AliasQueries):
    """Models, versions, aliases and audit events in the database at ``url``.

    Opening it creates or upgrades the database; :meth:`close` disposes of its engine, which
    other parts' stores on the same database share (``MonitorStore(store.engine)``).
    """

    def __init__(self, url: str) -> None:
        super().__init__(open_database(url))
        self.url = url

    def close(self) -> None:
        self.engine.dispose()

    def events(
        self,
        name: str,
        *,
        kinds: Sequence[str] = (),
        limit: int = 100,
        page_token: str | None = None,
    ) -> Page[AuditEvent]:
        """The audit log of ``name``, newest first (kept after the model is deleted)."""
        limit = check_limit(limit)
        before = _rows.decode_token(page_token, int)
        query = (
            select(t.audit_events)
            .where(t.audit_events.c.model_name == name)
            .order_by(t.audit_events.c.id.desc())
            .limit(limit + 1)
        )
        if before is not None:
            query = query.where(t.audit_events.c.id < before)
        if kinds:
            query = query.where(t.audit_events.c.kind.in_(list(kinds)))
        with self._read() as conn:
            rows = conn.execute(query).all()
            if not rows and before is None:
                seen = conn.execute(
                    select(t.audit_events.c.id).where(t.audit_events.c.model_name == name).limit(1)
                ).first()
                if seen is None:
                    self._model_row(conn, name)  # never existed: say so
        token = _rows.encode_token(rows[limit - 1].id) if len(rows) > limit else None
        return Page([_rows.to_event(r) for r in rows[:limit]], token)
