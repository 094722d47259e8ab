"""Stored monitoring results: save a run's result, read the latest, draw a time series.

Results go in as dicts and come out as JSON-safe dicts: NaN and infinities become None,
NumPy scalars and arrays become numbers and lists, datetimes ISO 8601 UTC text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from datetime import datetime
from typing import Any

from ferryman.errors import InvalidArgumentError
from ferryman.monitoring._json import json_safe
from ferryman.monitoring.storage import MonitorPoint, MonitorResult, MonitorStore

__all__ = ["MonitorResults"]


class MonitorResults:
    """Monitoring results of every model, kept in monitoring's store.

    Parameters
    ----------
    store : MonitorStore
        The store the results are written to and read from.

    Each result has a ``kind`` (``drift``, ``quality``, ``performance``, ``health``,
    ``root_cause``, ...), the window it covers, a small ``summary`` of headline numbers that
    time series read, and the full ``payload``.
    """

    def __init__(self, store: MonitorStore) -> None:
        self.store = store

    def save(
        self,
        model: str,
        kind: str,
        payload: Mapping[str, Any],
        *,
        window_start: datetime,
        window_end: datetime,
        summary: Mapping[str, Any] | None = None,
        version: int | None = None,
        computed_at: datetime | None = None,
    ) -> dict[str, Any]:
        """Store one result and return it as it now reads back (JSON-safe).

        ``version`` None stores a result about the model as a whole.
        """
        if not kind or not isinstance(kind, str) or len(kind) > 32:
            raise InvalidArgumentError(
                f"result kind must be a short name (1-32 characters) such as 'drift' or "
                f"'quality', got {kind!r}"
            )
        stored = self.store.save_monitor_result(
            model,
            kind,
            window_start=window_start,
            window_end=window_end,
            summary=json_safe(dict(summary or {}), "summary"),
            payload=json_safe(dict(payload), "payload"),
            version=version,
            computed_at=computed_at,
        )
        return _as_dict(stored)

    def latest(self, model: str, kind: str, version: int | None = None) -> dict[str, Any] | None:
        """The result of ``kind`` with the newest window; None when there is none yet.

        ``version`` None looks at results of every version and of the model as a whole.
        """
        stored = self.store.latest_monitor_result(model, kind, version)
        return None if stored is None else _as_dict(stored)

    def series(
        self,
        model: str,
        kind: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        version: int | None = None,
    ) -> list[dict[str, Any]]:
        """The summaries of ``kind`` whose window ends within [since, until], oldest first."""
        return [
            _as_dict(p)
            for p in self.store.monitor_series(
                model, kind, since=since, until=until, version=version
            )
        ]

    def prune(self, older_than: datetime) -> int:
        """Delete results whose window ended before ``older_than``; returns how many."""
        return self.store.prune_monitor_results(older_than)


def _as_dict(stored: MonitorResult | MonitorPoint) -> dict[str, Any]:
    out: dict[str, Any] = json_safe(asdict(stored))
    return out
