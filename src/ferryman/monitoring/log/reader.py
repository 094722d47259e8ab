"""Queries over the prediction log with DuckDB: windows, counts, latency, rejections.

Only the live files of the day folders a window touches are read (see ``files``), so a
query over one day of one model never lists or opens another day. Every method answers an
empty result when there is nothing to read (no folder yet, an empty window).
"""

from __future__ import annotations

import posixpath
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import duckdb
import pandas as pd

from ferryman.config import Settings
from ferryman.core.sources import BATCH_SOURCES, SOURCE_GROUPS
from ferryman.monitoring.log.files import LogRoot, live_files
from ferryman.monitoring.log.scheme import (
    BASE_COLUMNS,
    PREDICTIONS,
    REJECTIONS,
    days_between,
    parse_partition,
)

T = TypeVar("T")
_ATTEMPTS = 6  # a compaction may delete a listed file before it is read: list again


def utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC datetime (a naive one is taken to be UTC already)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sql_text(text: str) -> str:
    """``text`` as a SQL text literal."""
    return "'" + text.replace("'", "''") + "'"


def file_list(files: Sequence[str]) -> str:
    """``files`` as a SQL list of text literals."""
    return "[" + ", ".join(map(sql_text, files)) + "]"


def source_filter(sources: Collection[str] | None, column: str = "source") -> str:
    """A SQL condition keeping the rows whose ``column`` is from the selected source groups
    (``live``, ``score``; see ``ferryman.core.sources``); ``TRUE`` for None or every group.
    A row without a source counts as live."""
    chosen = set(SOURCE_GROUPS) if sources is None else set(sources)
    batch = ", ".join(map(sql_text, BATCH_SOURCES))
    if chosen >= set(SOURCE_GROUPS):
        return "TRUE"
    if "live" in chosen:
        return f"coalesce({column}, '') NOT IN ({batch})"
    if "score" in chosen:
        return f"{column} IN ({batch})"
    return "FALSE"


class LogReader:
    """Read the prediction log under ``root`` (a folder or an fsspec URL)."""

    def __init__(self, root: str) -> None:
        self.root = root
        self._root = LogRoot.resolve(root)
        self._con = duckdb.connect()
        self._con.execute("SET TimeZone = 'UTC'")
        if not self._root.is_local:
            self._con.register_filesystem(self._root.fs)

    @classmethod
    def from_settings(cls, settings: Settings) -> LogReader:
        return cls(settings.resolved_monitoring_root)

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor of the reader's DuckDB connection, for one thread's queries."""
        return self._con.cursor()

    def close(self) -> None:
        self._con.close()

    # --- files ----------------------------------------------------------------------------
    def prediction_files(
        self,
        model: str,
        start: datetime | None = None,
        end: datetime | None = None,
        version: int | None = None,
    ) -> list[str]:
        """Live prediction files of ``model`` in the day folders [start, end) touches."""
        root = self._root
        base = root.model_folder(PREDICTIONS, model)
        days = days_between(utc(start), utc(end)) if start and end else None
        files: list[str] = []
        for entry in root.listdir(base):
            value = parse_partition(entry, "version")
            if value is None or (version is not None and value != str(version)):
                continue
            for day, folder in root.day_folders(posixpath.join(base, entry)):
                if days is not None and day.isoformat() not in days:
                    continue
                if start and days is None and day < utc(start).date():
                    continue
                files += live_files(root, folder)
        return [root.url_of(path) for path in files]

    def rejection_files(self, model: str, start: datetime, end: datetime) -> list[str]:
        base = self._root.model_folder(REJECTIONS, model)
        days = days_between(utc(start), utc(end))
        files: list[str] = []
        for day, folder in self._root.day_folders(base):
            if day.isoformat() in days:
                files += live_files(self._root, folder)
        return [self._root.url_of(path) for path in files]

    def source_sql(self, files: Sequence[str]) -> str:
        """A FROM-clause item reading ``files`` (hive columns ``version`` and ``day`` too)."""
        return f"read_parquet({file_list(files)}, hive_partitioning = true, union_by_name = true)"

    def column_types(self, con: duckdb.DuckDBPyConnection, source: str) -> dict[str, str]:
        """Column name -> DuckDB type of a FROM-clause item (``source_sql`` or another)."""
        describe = f"DESCRIBE SELECT * FROM {source}"  # noqa: S608
        return {str(r[0]): str(r[1]) for r in con.execute(describe).fetchall()}

    def query(self, sql_for: Any, files_for: Any, params: Sequence[Any] = ()) -> pd.DataFrame:
        """Run ``sql_for(files)`` over ``files_for()``; list again if a file vanished."""

        def run() -> pd.DataFrame:
            files = files_for()
            if not files:
                return pd.DataFrame()
            return self.cursor().execute(sql_for(files), list(params)).df()

        return self.retrying(run)

    @staticmethod
    def retrying(work: Callable[[], T]) -> T:
        """``work()``, done again (it lists the files again) when a file it listed vanished:
        a compaction deletes merged files, whose rows are in the new file by then."""
        for attempt in range(_ATTEMPTS):
            try:
                return work()
            except (duckdb.IOException, FileNotFoundError):
                if attempt == _ATTEMPTS - 1:
                    raise
                time.sleep(0.01 * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    # --- queries --------------------------------------------------------------------------
    def read_window(
        self,
        model: str,
        start: datetime,
        end: datetime,
        version: int | None = None,
        columns: Iterable[str] | None = None,
        sources: Collection[str] | None = None,
    ) -> pd.DataFrame:
        """Logged rows of ``model`` with ``start <= ts < end``, oldest first; only those of
        the ``sources`` groups (``live``, ``score``) when given.

        Columns: ts (UTC), version, request_id, row, latency_ms, prediction, score, the
        ``proba__<class>`` columns and the features by name (or only ``columns``).
        """
        start, end = utc(start), utc(end)
        wanted = list(columns) if columns is not None else None

        def sql(files: list[str]) -> str:
            select = "*" if wanted is None else ", ".join(quote(c) for c in wanted)
            where = "ts >= ? AND ts < ?" + ("" if version is None else " AND version = ?")
            where += f" AND {source_filter(sources)}"
            return (
                f"SELECT {select} FROM (SELECT * EXCLUDE (day, model, key) FROM "  # noqa: S608
                f"{self.source_sql(files)}) WHERE {where} ORDER BY ts, request_id, row"
            )

        params: list[Any] = [start, end] + ([] if version is None else [version])
        frame = self.query(sql, lambda: self.prediction_files(model, start, end, version), params)
        if frame.empty and not len(frame.columns):
            return pd.DataFrame(columns=wanted if wanted is not None else list(BASE_COLUMNS))
        return _front(frame)

    def count_by_version(
        self,
        model: str,
        start: datetime,
        end: datetime,
        sources: Collection[str] | None = None,
    ) -> dict[int, int]:
        """Logged rows per version in [start, end) (of the ``sources`` groups when given)."""
        start, end = utc(start), utc(end)
        frame = self.query(
            lambda files: (
                f"SELECT version, count(*) AS n FROM {self.source_sql(files)} "  # noqa: S608
                f"WHERE ts >= ? AND ts < ? AND {source_filter(sources)} "
                "GROUP BY version ORDER BY version"
            ),
            lambda: self.prediction_files(model, start, end),
            [start, end],
        )
        if frame.empty:
            return {}
        return {int(v): int(n) for v, n in zip(frame["version"], frame["n"], strict=True)}

    def latency_summary(
        self,
        model: str,
        start: datetime,
        end: datetime,
        sources: Collection[str] | None = None,
    ) -> pd.DataFrame:
        """Per version: requests, rows, and p50/p95/p99/max latency in ms (per request), of
        the ``sources`` groups when given."""
        start, end = utc(start), utc(end)
        frame = self.query(
            lambda files: (
                "SELECT version, count(*) AS requests, sum(n)::BIGINT AS rows, "  # noqa: S608
                "quantile_cont(latency_ms, 0.5) AS p50_ms, quantile_cont(latency_ms, 0.95) AS "
                "p95_ms, quantile_cont(latency_ms, 0.99) AS p99_ms, max(latency_ms) AS max_ms "
                "FROM (SELECT version, request_id, any_value(latency_ms) AS latency_ms, "
                f"count(*) AS n FROM {self.source_sql(files)} WHERE ts >= ? AND ts < ? "
                f"AND {source_filter(sources)} "
                "GROUP BY version, request_id) GROUP BY version ORDER BY version"
            ),
            lambda: self.prediction_files(model, start, end),
            [start, end],
        )
        if frame.empty:
            names = ["version", "requests", "rows", "p50_ms", "p95_ms", "p99_ms", "max_ms"]
            return pd.DataFrame(columns=names)
        return frame

    def rejections(
        self,
        model: str,
        start: datetime,
        end: datetime,
        sources: Collection[str] | None = None,
    ) -> pd.DataFrame:
        """Refused requests in [start, end) per column and kind: problems, requests, versions
        (of the ``sources`` groups when given)."""
        start, end = utc(start), utc(end)
        frame = self.query(
            lambda files: (
                'SELECT "column", kind, count(*) AS problems, '  # noqa: S608
                "count(DISTINCT request_id) AS requests, list(DISTINCT version ORDER BY version) "
                f"AS versions FROM {self.source_sql(files)} WHERE ts >= ? AND ts < ? "
                f"AND {source_filter(sources)} "
                'GROUP BY "column", kind ORDER BY problems DESC, "column", kind'
            ),
            lambda: self.rejection_files(model, start, end),
            [start, end],
        )
        if frame.empty:
            return pd.DataFrame(columns=["column", "kind", "problems", "requests", "versions"])
        return frame

    def known_request_ids(
        self, model: str, ids: Iterable[str], since: datetime | None = None
    ) -> set[str]:
        """Those of ``ids`` that the log holds for ``model`` (in day folders from ``since``)."""
        wanted = sorted({str(i) for i in ids})
        if not wanted:
            return set()
        frame = self.query(
            lambda files: (
                f"SELECT DISTINCT request_id FROM {self.source_sql(files)} "  # noqa: S608
                "WHERE request_id IN (SELECT unnest(?::VARCHAR[]))"
            ),
            lambda: self.prediction_files(model, since, None),
            [wanted],
        )
        return set() if frame.empty else set(frame["request_id"].astype(str))


def _front(frame: pd.DataFrame) -> pd.DataFrame:
    """Base columns first, then probabilities, then features, as written."""
    first = [c for c in BASE_COLUMNS if c in frame.columns]
    return frame[first + [c for c in frame.columns if c not in first]]
