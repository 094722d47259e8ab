"""Monitoring's store: stored results (time series), alert events and their webhook deliveries.

``MonitorStore`` keeps monitoring's tables in the metadata database, over the engine the
registry's ``MetadataStore`` opened: monitoring is given it explicitly and never reaches these
tables through the registry. A later part's tables get a store of their own beside this one
(``RolloutStore(engine)``), with their tables in ``tables.py`` and a migration.

Rows name the model by text, as audit events do, so that they outlive a deleted model and a
monitoring run never needs the model's row lock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from ferryman.errors import InvalidArgumentError, InvalidQueryError, NotFoundError
from ferryman.store import tables as t
from ferryman.store._base import EngineStore, check_limit, utc_now

__all__ = [
    "AlertDelivery",
    "AlertEvent",
    "MonitorPoint",
    "MonitorResult",
    "MonitorStore",
    "NewAlert",
]

AlertState = Literal["firing", "resolved"]
ALERT_STATES = ("firing", "resolved")
MAX_SERIES = 10_000


@dataclass(frozen=True)
class MonitorResult:
    """One stored monitoring result of a model (or of one version) over one window."""

    id: int
    model: str
    version: int | None
    kind: str
    window_start: datetime
    window_end: datetime
    computed_at: datetime
    summary: dict[str, Any]
    payload: dict[str, Any]


@dataclass(frozen=True)
class MonitorPoint:
    """A point of a time series: a stored result without its (large) payload."""

    id: int
    model: str
    version: int | None
    kind: str
    window_start: datetime
    window_end: datetime
    computed_at: datetime
    summary: dict[str, Any]


@dataclass(frozen=True)
class NewAlert:
    """A firing condition as an evaluation found it; the store opens or refreshes its event."""

    model: str
    rule: str
    severity: str
    fingerprint: str
    value: float | None
    threshold: float
    message: str
    version: int | None = None
    subject: str | None = None
    evidence: dict[str, Any] | None = None


@dataclass(frozen=True)
class AlertEvent:
    """An alert: one condition from the time it first fired until it cleared."""

    id: int
    model: str
    version: int | None
    rule: str
    subject: str | None
    severity: str
    state: AlertState
    fingerprint: str
    first_seen: datetime
    last_seen: datetime
    resolved_at: datetime | None
    value: float | None
    threshold: float
    message: str
    evidence: dict[str, Any]


@dataclass(frozen=True)
class AlertDelivery:
    """One attempt to deliver an alert change (fired or resolved) to one webhook."""

    id: int
    event_id: int
    state: str
    target: str
    attempt: int
    at: datetime
    ok: bool
    status_code: int | None
    error: str | None


_POINT_COLUMNS = (
    t.monitor_results.c.id,
    t.monitor_results.c.model_name,
    t.monitor_results.c.version,
    t.monitor_results.c.kind,
    t.monitor_results.c.window_start,
    t.monitor_results.c.window_end,
    t.monitor_results.c.computed_at,
    t.monitor_results.c.summary,
)


class MonitorStore(EngineStore):
    """Stored monitoring results, alert events and alert deliveries, over ``engine``.

    The engine is the metadata database's (``MetadataStore.engine``, already upgraded to the
    newest schema); whoever opened it disposes of it, so this store has nothing to close.
    """

    # --- results ---------------------------------------------------------------------------
    def save_monitor_result(
        self,
        model: str,
        kind: str,
        *,
        window_start: datetime,
        window_end: datetime,
        summary: Mapping[str, Any],
        payload: Mapping[str, Any],
        version: int | None = None,
        computed_at: datetime | None = None,
    ) -> MonitorResult:
        """Store one result; ``summary`` and ``payload`` must already be JSON-safe."""
        if window_end < window_start:
            raise InvalidArgumentError(
                f"a monitoring window must not end ({window_end.isoformat()}) before it starts "
                f"({window_start.isoformat()})"
            )
        values = {
            "model_name": model,
            "version": version,
            "kind": kind,
            "window_start": window_start,
            "window_end": window_end,
            "computed_at": computed_at or utc_now(),
            "summary": dict(summary),
            "payload": dict(payload),
        }
        with self._write() as conn:
            new_id = conn.execute(insert(t.monitor_results).values(**values)).inserted_primary_key
            row = conn.execute(
                select(t.monitor_results).where(t.monitor_results.c.id == new_id[0])  # type: ignore[index]
            ).one()
        return _result(row)

    def latest_monitor_result(
        self, model: str, kind: str, version: int | None = None
    ) -> MonitorResult | None:
        """The result of ``kind`` with the newest window (of ``version``, or of any)."""
        query = select(t.monitor_results).where(
            t.monitor_results.c.model_name == model, t.monitor_results.c.kind == kind
        )
        if version is not None:
            query = query.where(t.monitor_results.c.version == version)
        query = query.order_by(
            t.monitor_results.c.window_end.desc(), t.monitor_results.c.id.desc()
        ).limit(1)
        with self._read() as conn:
            row = conn.execute(query).first()
        return None if row is None else _result(row)

    def monitor_series(
        self,
        model: str,
        kind: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        version: int | None = None,
        limit: int = MAX_SERIES,
    ) -> list[MonitorPoint]:
        """Summaries of ``kind`` whose window ends in [since, until], oldest first.

        With more than ``limit`` points, the newest ``limit`` are returned.
        """
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_SERIES:
            raise InvalidQueryError(
                f"a series holds from 1 to {MAX_SERIES} points, got limit={limit!r}"
            )
        c = t.monitor_results.c
        query = select(*_POINT_COLUMNS).where(c.model_name == model, c.kind == kind)
        if since is not None:
            query = query.where(c.window_end >= since)
        if until is not None:
            query = query.where(c.window_end <= until)
        if version is not None:
            query = query.where(c.version == version)
        query = query.order_by(c.window_end.desc(), c.id.desc()).limit(limit)
        with self._read() as conn:
            rows = conn.execute(query).all()
        return [
            MonitorPoint(
                r.id,
                r.model_name,
                r.version,
                r.kind,
                r.window_start,
                r.window_end,
                r.computed_at,
                r.summary or {},
            )
            for r in reversed(rows)
        ]

    def prune_monitor_results(self, older_than: datetime) -> int:
        """Delete results whose window ended before ``older_than``; returns how many."""
        with self._write() as conn:
            deleted = conn.execute(
                delete(t.monitor_results).where(t.monitor_results.c.window_end < older_than)
            )
        return int(deleted.rowcount)

    # --- alert events ----------------------------------------------------------------------
    def fire_alert(self, alert: NewAlert, at: datetime | None = None) -> tuple[AlertEvent, bool]:
        """Open an event for ``alert``, or refresh the one already firing for its fingerprint.

        Returns the event and whether it was opened now (only then is it news to notify).
        """
        if len(alert.rule) > t.NAME:
            raise InvalidArgumentError(
                f"alert rule name {alert.rule[:40]!r}... is longer than {t.NAME} characters; "
                "shorten it in ferryman.toml"
            )
        at = at or utc_now()
        try:
            return self._fire(alert, at)
        except IntegrityError:
            # Another process opened the same condition between our read and our insert.
            return self._fire(alert, at)

    def _fire(self, alert: NewAlert, at: datetime) -> tuple[AlertEvent, bool]:
        c = t.alert_events.c
        fields = {
            "version": alert.version,
            "severity": alert.severity,
            "value": alert.value,
            "threshold": alert.threshold,
            "message": alert.message,
            "evidence": alert.evidence or {},
        }
        with self._write() as conn:
            current = conn.execute(
                select(c.id).where(c.fingerprint == alert.fingerprint, c.state == "firing")
            ).scalar()
            if current is not None:
                conn.execute(
                    update(t.alert_events).where(c.id == current).values(last_seen=at, **fields)
                )
                return self._event_row(conn, current), False
            new_id = conn.execute(
                insert(t.alert_events).values(
                    model_name=alert.model,
                    rule=alert.rule,
                    subject=alert.subject,
                    state="firing",
                    fingerprint=alert.fingerprint,
                    first_seen=at,
                    last_seen=at,
                    resolved_at=None,
                    **fields,
                )
            ).inserted_primary_key[0]  # type: ignore[index]
            return self._event_row(conn, int(new_id)), True

    def resolve_alert(self, fingerprint: str, at: datetime | None = None) -> AlertEvent | None:
        """Resolve the event firing for ``fingerprint``; None when none was firing."""
        at = at or utc_now()
        c = t.alert_events.c
        with self._write() as conn:
            current = conn.execute(
                select(c.id).where(c.fingerprint == fingerprint, c.state == "firing")
            ).scalar()
            if current is None:
                return None
            conn.execute(
                update(t.alert_events)
                .where(c.id == current, c.state == "firing")
                .values(state="resolved", resolved_at=at)
            )
            return self._event_row(conn, current)

    def firing_alerts(self, model: str | None = None) -> list[AlertEvent]:
        """Events firing now (of ``model``, or of every model), oldest first."""
        query = select(t.alert_events).where(t.alert_events.c.state == "firing")
        if model is not None:
            query = query.where(t.alert_events.c.model_name == model)
        with self._read() as conn:
            rows = conn.execute(query.order_by(t.alert_events.c.id)).all()
        return [_event(r) for r in rows]

    def alert_events(
        self,
        model: str | None = None,
        *,
        since: datetime | None = None,
        state: str | None = None,
        limit: int = 100,
    ) -> list[AlertEvent]:
        """Events newest first; ``since`` keeps those seen (last_seen) at or after it."""
        limit = check_limit(limit)
        c = t.alert_events.c
        query = select(t.alert_events)
        if model is not None:
            query = query.where(c.model_name == model)
        if since is not None:
            query = query.where(c.last_seen >= since)
        if state is not None:
            if state not in ALERT_STATES:
                raise InvalidQueryError(
                    f"unknown alert state {state!r}; use one of {', '.join(ALERT_STATES)}"
                )
            query = query.where(c.state == state)
        with self._read() as conn:
            rows = conn.execute(query.order_by(c.id.desc()).limit(limit)).all()
        return [_event(r) for r in rows]

    def alert_event(self, event_id: int) -> AlertEvent:
        with self._read() as conn:
            return self._event_row(conn, event_id)

    def prune_alert_events(self, older_than: datetime) -> int:
        """Delete resolved events (and their deliveries) resolved before ``older_than``."""
        c = t.alert_events.c
        with self._write() as conn:
            old = select(c.id).where(c.state == "resolved", c.resolved_at < older_than)
            # Not relying on ON DELETE CASCADE: SQLite only honours it with foreign keys on.
            conn.execute(delete(t.alert_deliveries).where(t.alert_deliveries.c.event_id.in_(old)))
            deleted = conn.execute(delete(t.alert_events).where(c.id.in_(old)))
        return int(deleted.rowcount)

    # --- deliveries ------------------------------------------------------------------------
    def record_delivery(
        self,
        event_id: int,
        state: str,
        target: str,
        attempt: int,
        *,
        ok: bool,
        status_code: int | None = None,
        error: str | None = None,
        at: datetime | None = None,
    ) -> AlertDelivery:
        values = {
            "event_id": event_id,
            "state": state,
            "target": target,
            "attempt": attempt,
            "at": at or utc_now(),
            "ok": ok,
            "status_code": status_code,
            "error": error,
        }
        with self._write() as conn:
            new_id = conn.execute(insert(t.alert_deliveries).values(**values)).inserted_primary_key
        return AlertDelivery(id=int(new_id[0]), **values)  # type: ignore[index, arg-type]

    def alert_deliveries(self, event_id: int) -> list[AlertDelivery]:
        """Every delivery attempt of the event, in the order they were made."""
        c = t.alert_deliveries.c
        with self._read() as conn:
            rows = conn.execute(
                select(t.alert_deliveries).where(c.event_id == event_id).order_by(c.id)
            ).all()
        return [
            AlertDelivery(
                r.id, r.event_id, r.state, r.target, r.attempt, r.at, r.ok, r.status_code, r.error
            )
            for r in rows
        ]

    # --- helpers ---------------------------------------------------------------------------
    def _event_row(self, conn: Connection, event_id: int) -> AlertEvent:
        row = conn.execute(select(t.alert_events).where(t.alert_events.c.id == event_id)).first()
        if row is None:
            raise NotFoundError(f"no alert event with id {event_id}")
        return _event(row)


def _result(row: Any) -> MonitorResult:
    return MonitorResult(
        row.id,
        row.model_name,
        row.version,
        row.kind,
        row.window_start,
        row.window_end,
        row.computed_at,
        row.summary or {},
        row.payload or {},
    )


def _event(row: Any) -> AlertEvent:
    return AlertEvent(
        id=row.id,
        model=row.model_name,
        version=row.version,
        rule=row.rule,
        subject=row.subject,
        severity=row.severity,
        state=row.state,
        fingerprint=row.fingerprint,
        first_seen=row.first_seen,
        last_seen=row.last_seen,
        resolved_at=row.resolved_at,
        value=row.value,
        threshold=row.threshold,
        message=row.message,
        evidence=row.evidence or {},
    )
