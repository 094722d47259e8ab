"""Ground truth and business values sent back for logged predictions.

Each item names a prediction by ``request_id`` (and ``row``, default 0) and carries a
``label`` (the true class, or the true number for a regressor) and/or a ``value`` (a numeric
business KPI). Items are checked one by one; the good ones are stored as a Parquet segment
under ``feedback/model=NAME/day=<day received>/``. Nothing is ever updated in place: when the
same prediction gets feedback twice, the last received wins, separately for label and value.

When an item is stored, the prediction it names is looked up in the log once, and its facts
(``version``, ``ts``, ``prediction``, ``score`` and the ``proba__<class>`` columns) are stored
beside the label: a KPI query then reads labelled predictions from the feedback alone instead
of joining millions of logged rows with the feedback every time (see ``performance``). Items
whose prediction is not in the log yet keep those columns empty and are joined at query time,
and so do items whose (request_id, row) the log holds twice (a client reusing its ids).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ferryman.config import Settings
from ferryman.core.names import check_name
from ferryman.core.predictions import MAX_REQUEST_ID
from ferryman.errors import DataFileError
from ferryman.monitoring.log.compaction import compact_folder
from ferryman.monitoring.log.files import (
    SEGMENT_PREFIX,
    LogRoot,
    live_files,
    segment_name,
    write_parquet,
)
from ferryman.monitoring.log.reader import LogReader, file_list, quote, utc
from ferryman.monitoring.log.scheme import (
    FEEDBACK,
    PROBA_PREFIX,
    TS_TYPE,
    day_of,
    label_text,
    row_keys,
)
from ferryman.schema.data_files import read_table

FIELDS = ("request_id", "row", "label", "value", "at")
# the matched prediction's columns copied into each feedback row (besides ``proba__*``);
# ``source`` lets KPIs count a label only when its prediction's source is monitored
FACTS = ("version", "ts", "source", "prediction", "score")
TASKS = ("classification", "regression")
UNKNOWN_SAMPLE = 20
MAX_ROW = 100_000_000  # a row number is below this (no request carries that many rows)
UNKNOWN_WINDOW = 3600.0  # seconds: the window feedback_unknown_limit counts in


@dataclass(frozen=True, slots=True)
class RejectedFeedback:
    """One refused item: its position in the batch, its request id (if any) and why."""

    index: int
    request_id: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class FeedbackResult:
    """What became of a batch of feedback."""

    accepted: int
    rejected: list[RejectedFeedback] = field(default_factory=list)
    unknown_ids: int = 0
    unknown_sample: list[str] = field(default_factory=list)
    duplicates: int = 0
    unknown_not_stored: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "rejected": [
                {"index": r.index, "request_id": r.request_id, "reason": r.reason}
                for r in self.rejected
            ],
            "unknown_ids": self.unknown_ids,
            "unknown_sample": list(self.unknown_sample),
            "duplicates": self.duplicates,
            "unknown_not_stored": self.unknown_not_stored,
        }


@dataclass(slots=True)
class _Item:
    request_id: str
    row: str
    label: str | None
    value: float | None
    at: int  # microseconds since the epoch


class FeedbackStore:
    """Store and read feedback under ``root`` (a folder or an fsspec URL).

    Parameters
    ----------
    root : str
        The monitoring root (``Settings.resolved_monitoring_root``).
    reader : LogReader or None
        Used to tell which request ids the prediction log knows; None skips the check.
    lookback_days : float
        How far back the log is searched for request ids (and feedback read for KPIs).
    unknown_limit : int or None
        Items naming request ids the log does not know stored per model and hour (by this
        store); the others are counted (``unknown_not_stored``), not stored. None: no limit.
    clock : callable
        Seconds since the epoch (tests).
    """

    def __init__(
        self,
        root: str,
        reader: LogReader | None = None,
        *,
        lookback_days: float = 30.0,
        unknown_limit: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.root = root
        self.reader = reader
        self.lookback_days = lookback_days
        self._root = LogRoot.resolve(root)
        self._clock = clock
        self._lock = threading.Lock()
        self._last_received = 0
        self._writer = f"fb{id(self) & 0xFFFFFF:06x}"
        self.unknown_limit = unknown_limit
        self._unknown_stored: dict[str, tuple[int, int]] = {}  # model -> (window, items)
        # model -> items not stored since this store was made (their ids were unknown)
        self.unknown_not_stored: dict[str, int] = {}

    @classmethod
    def from_settings(cls, settings: Settings, reader: LogReader | None = None) -> FeedbackStore:
        return cls(
            settings.resolved_monitoring_root,
            reader,
            lookback_days=settings.monitoring.retention_days,
            unknown_limit=settings.monitoring.feedback_unknown_limit,
        )

    # --- adding ---------------------------------------------------------------------------
    def add(
        self,
        model: str,
        items: Sequence[Mapping[str, Any]],
        *,
        task: str = "classification",
        classes: Sequence[Any] | None = None,
    ) -> FeedbackResult:
        """Check and store a batch of feedback for ``model``.

        Parameters
        ----------
        model : str
            The model the predictions were made by.
        items : sequence of mappings
            ``{"request_id", "label"}`` and/or ``"value"``; optional ``"row"`` (default 0)
            and ``"at"`` (when the truth became known: datetime, ISO text or epoch seconds).
        task : {"classification", "regression"}
            How labels are checked: a class (text, integer, boolean, or an integral float)
            for classification, a finite number for regression.
        classes : sequence or None
            The classifier's classes. Given, each label must name one of them, and is stored
            as that class: ``True``, ``"true"``, ``"True"`` and ``1`` all name the class
            ``True``; ``1``, ``1.0`` and ``"1"`` the class ``1``. A label naming none of them
            is refused, listing the classes (it would only ever count as a wrong answer).

        Returns
        -------
        FeedbackResult
            Accepted count; each refused item with its reason; request ids the log does not
            know (stored all the same: the prediction may not be written yet); and how many
            items a later item of the same batch superseded.
        """
        check_name(model)
        if task not in TASKS:
            raise ValueError(f"task must be one of {', '.join(TASKS)}, got {task!r}")
        received = self._received_at()
        rejected: list[RejectedFeedback] = []
        latest: dict[tuple[str, str], _Item] = {}
        duplicates = 0
        spellings = _class_spellings(classes) if classes and task == "classification" else None
        for index, raw in enumerate(items):
            item, reason = _check_item(raw, task, received, spellings)
            if item is None:
                rid = raw.get("request_id") if isinstance(raw, Mapping) else None
                shown = None if rid is None else str(rid)[: MAX_REQUEST_ID + 1]  # never echo 1 MB
                rejected.append(RejectedFeedback(index, shown, reason or ""))
                continue
            key = (item.request_id, item.row)
            earlier = latest.get(key)
            if earlier is not None:
                duplicates += 1
                item = _Item(
                    item.request_id,
                    item.row,
                    item.label if item.label is not None else earlier.label,
                    item.value if item.value is not None else earlier.value,
                    item.at,
                )
            latest[key] = item
        unknown: set[str] = set()
        not_stored = 0
        if latest:
            unknown, not_stored = self._write(model, list(latest.values()), received)
        return FeedbackResult(
            accepted=len(items) - len(rejected),
            rejected=rejected,
            unknown_ids=len(unknown),
            unknown_sample=sorted(unknown)[:UNKNOWN_SAMPLE],
            duplicates=duplicates,
            unknown_not_stored=not_stored,
        )

    def add_file(
        self,
        model: str,
        path: str | Path,
        *,
        task: str = "classification",
        classes: Sequence[Any] | None = None,
    ) -> FeedbackResult:
        """Add the rows of a CSV or Parquet file with columns request_id, label and/or value,
        and optionally row and at. A file that cannot be read, or lacks those columns, raises
        DataFileError naming what is wrong."""
        path = Path(path)
        text = ("request_id", "row", "label") if task == "classification" else ("request_id", "row")
        frame = read_table(path, text_columns=text)
        columns = set(map(str, frame.columns))
        if "request_id" not in columns:
            raise DataFileError(
                f"{path} has no request_id column; feedback files need request_id and label "
                f"and/or value (found: {', '.join(sorted(columns)) or 'no columns'})"
            )
        if not columns & {"label", "value"}:
            raise DataFileError(
                f"{path} has neither a label nor a value column; add one of them "
                f"(found: {', '.join(sorted(columns))})"
            )
        extra = sorted(columns - set(FIELDS))
        if extra:
            raise DataFileError(
                f"{path} has columns feedback does not use: {', '.join(extra)}; "
                f"keep only {', '.join(FIELDS)}"
            )
        records = [
            {str(k): v for k, v in row.items() if not _is_missing(v)}
            for row in frame.to_dict(orient="records")
        ]
        return self.add(model, records, task=task, classes=classes)

    def _received_at(self) -> int:
        """Microseconds, strictly increasing within this store, so later batches win."""
        with self._lock:
            now = max(round(self._clock() * 1e6), self._last_received + 1)
            self._last_received = now
            return now

    def _write(self, model: str, items: list[_Item], received: int) -> tuple[set[str], int]:
        """Store ``items`` with their predictions' facts; return the request ids the log
        does not know (none of their items named a logged prediction) and how many items
        naming them were not stored (past the window's ``unknown_limit``)."""
        ids = pa.array([i.request_id for i in items], pa.string())
        rows = pa.array([i.row for i in items], pa.string())
        table = pa.table(
            {
                "key": pa.array(row_keys(ids, rows), pa.int64()),
                "received_at": pa.array([received] * len(items), pa.int64()).cast(TS_TYPE),
                "request_id": ids,
                "row": rows,
                "label": pa.array([i.label for i in items], pa.string()),
                "value": pa.array([i.value for i in items], pa.float64()),
                "at": pa.array([i.at for i in items], pa.int64()).cast(TS_TYPE),
            }
        )
        unknown: set[str] = set()
        not_stored = 0
        if self.reader is not None:
            since = datetime.fromtimestamp(self._clock(), UTC) - timedelta(days=self.lookback_days)
            table, logged = with_predictions(self.reader, model, table, since)
            table, logged, not_stored = self._within_unknown_limit(model, table, logged)
            ids = table.column("request_id")
            unknown = set(ids.to_pylist()) - set(ids.filter(logged).to_pylist())
        if table.num_rows == 0:
            return unknown, not_stored
        day = day_of(received / 1e6)
        folder = self._root.path(FEEDBACK, f"model={model}", f"day={day}")
        write_parquet(self._root, folder, segment_name(SEGMENT_PREFIX, self._writer), table)
        return unknown, not_stored

    def _within_unknown_limit(
        self, model: str, table: pa.Table, logged: pa.Array
    ) -> tuple[pa.Table, pa.Array, int]:
        """``table`` without the items naming unknown ids past this window's limit (the
        first ones are kept), its ``logged`` flags, and how many were left out."""
        if self.unknown_limit is None:
            return table, logged, 0
        unknown = np.flatnonzero(~np.asarray(logged.to_numpy(zero_copy_only=False), dtype=bool))
        if not len(unknown):
            return table, logged, 0
        window = int(self._clock() // UNKNOWN_WINDOW)
        with self._lock:
            start, used = self._unknown_stored.get(model, (window, 0))
            if start != window:
                used = 0
            room = max(0, self.unknown_limit - used)
            kept = min(room, len(unknown))
            self._unknown_stored[model] = (window, used + kept)
            left_out = len(unknown) - kept
            if left_out:
                self.unknown_not_stored[model] = self.unknown_not_stored.get(model, 0) + left_out
        if not left_out:
            return table, logged, 0
        keep = np.ones(table.num_rows, dtype=bool)
        keep[unknown[kept:]] = False
        mask = pa.array(keep)
        return table.filter(mask), logged.filter(mask), left_out

    # --- reading --------------------------------------------------------------------------
    def files(self, model: str, since: datetime | None = None) -> list[str]:
        """Live feedback files of ``model`` received on or after the day of ``since``."""
        base = self._root.model_folder(FEEDBACK, model)
        first = utc(since).date() if since is not None else None
        out: list[str] = []
        for day, folder in self._root.day_folders(base):
            if first is None or day >= first:
                out += live_files(self._root, folder)
        return [self._root.url_of(path) for path in out]

    @staticmethod
    def latest_sql(
        files: Sequence[str], *, with_ids: bool = True, facts: Sequence[str] = ()
    ) -> str:
        """SQL of the latest label and latest value per prediction (``key``, see
        ``row_keys``) in ``files``: key, [request_id, row,] label, value, received_at, and the
        matched prediction's ``facts`` columns (those of the latest matched row)."""
        ids = "any_value(request_id) AS request_id, any_value(row) AS row, " if with_ids else ""
        matched = "".join(
            f", arg_max_null({quote(c)}, received_at) FILTER (WHERE version IS NOT NULL) "
            f"AS {quote(c)}"
            for c in facts
        )
        return (
            f"SELECT key, {ids}"  # noqa: S608
            "arg_max(label, received_at) FILTER (WHERE label IS NOT NULL) AS label, "
            "arg_max(value, received_at) FILTER (WHERE value IS NOT NULL) AS value, "
            f"max(received_at) AS received_at{matched} FROM {feedback_source(files)} GROUP BY key"
        )

    @staticmethod
    def rows_sql(files: Sequence[str], facts: Sequence[str] = ()) -> str:
        """SQL of every stored feedback row in ``files`` (repeats included): key, label,
        value, received_at and the ``facts`` columns."""
        matched = "".join(f", {quote(c)}" for c in facts)
        return (
            f"SELECT key, label, value, received_at{matched} "  # noqa: S608
            f"FROM {feedback_source(files)}"
        )

    def read(self, model: str, since: datetime | None = None) -> pd.DataFrame:
        """The latest feedback per (request_id, row): request_id, row, label, value,
        received_at."""
        files = self.files(model, since)
        if not files:
            return pd.DataFrame(columns=["request_id", "row", "label", "value", "received_at"])
        reader = self.reader if self.reader is not None else LogReader(self.root)
        try:
            return reader.cursor().execute(self.latest_sql(files)).df().drop(columns="key")
        finally:
            if reader is not self.reader:
                reader.close()

    # --- upkeep ---------------------------------------------------------------------------
    def compact(self, model: str, min_files: int = 2) -> int:
        """Merge the small feedback segments of ``model``; return how many were merged."""
        base = self._root.model_folder(FEEDBACK, model)
        return sum(
            compact_folder(self._root, folder, self._writer, min_files=min_files, mixed_types=True)
            for _, folder in self._root.day_folders(base)
        )


def feedback_source(files: Sequence[str]) -> str:
    """A FROM-clause item reading feedback ``files`` (older files may lack some columns)."""
    return f"read_parquet({file_list(files)}, union_by_name = true)"


def fact_columns(names: Iterable[str]) -> list[str]:
    """Of a table's column ``names``, the prediction facts feedback stores (``FACTS`` and the
    ``proba__*`` columns); none without ``version`` and ``ts``."""
    names = list(names)
    if "version" not in names or "ts" not in names:
        return []
    return [c for c in FACTS if c in names] + [c for c in names if c.startswith(PROBA_PREFIX)]


def with_predictions(
    reader: LogReader, model: str, items: pa.Table, since: datetime
) -> tuple[pa.Table, pa.Array]:
    """``items`` (feedback rows with a ``key``) with the facts of the logged predictions they
    name, from log day folders on or after ``since``; and whether each names a logged one.

    Facts are stored only for an item that names exactly one logged row. An id logged twice
    with the same row (a client reusing its request ids) keeps them empty: the KPI query then
    joins it with every prediction of that id, as for feedback stored before its prediction.
    The log's columns are copied as they are (the hive ``version`` as a number).
    """

    def join() -> tuple[pa.Table, pa.Array]:
        none_logged = pa.array([False] * items.num_rows, pa.bool_())
        files = reader.prediction_files(model, since, None)
        if not files:
            return items, none_logged
        con = reader.cursor()
        source = reader.source_sql(files)
        wanted = fact_columns(reader.column_types(con, source))
        if not wanted:
            return items, none_logged
        one = ", ".join(
            f"any_value({'version::BIGINT' if c == 'version' else quote(c)}) AS {quote(c)}"
            for c in wanted
        )
        facts = ", ".join(f"CASE WHEN p.n = 1 THEN p.{quote(c)} END AS {quote(c)}" for c in wanted)
        con.register("feedback_items", items)
        try:
            table = con.sql(
                f"SELECT f.*, {facts}, p.n IS NOT NULL AS logged "  # noqa: S608
                f"FROM feedback_items f LEFT JOIN (SELECT key, count(*) AS n, {one} FROM {source} "
                "WHERE key IN (SELECT key FROM feedback_items) GROUP BY key) p USING (key)"
            ).to_arrow_table()
        finally:
            con.unregister("feedback_items")
        logged = table.column("logged").combine_chunks()
        table = table.drop_columns(["logged"])
        # DuckDB names the zone its own way ("Etc/UTC"): keep the one every log file has
        for i, column in enumerate(table.schema):
            if pa.types.is_timestamp(column.type):
                table = table.set_column(i, column.name, table.column(i).cast(TS_TYPE))
        return table, logged

    return reader.retrying(join)


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _check_item(
    raw: Any, task: str, received: int, spellings: Mapping[str, str] | None = None
) -> tuple[_Item | None, str | None]:
    """The checked item, or None and the reason it is refused."""
    if not isinstance(raw, Mapping):
        return (
            None,
            f"an item must be an object with request_id and label or value, got {_shown(raw)}",
        )
    unknown = sorted(str(k)[:40] for k in raw if k not in FIELDS)
    if unknown:
        shown = ", ".join(map(repr, unknown[:5])) + (", ..." if len(unknown) > 5 else "")
        return None, f"unknown field {shown}; use {', '.join(FIELDS)}"
    request_id = raw.get("request_id")
    if request_id is None or request_id == "":
        return None, "missing request_id"
    if isinstance(request_id, bool) or not isinstance(request_id, str | int | np.integer):
        return None, f"request_id must be text, got {type(request_id).__name__}"
    if len(str(request_id)) > MAX_REQUEST_ID:
        return None, (
            f"request_id has {len(str(request_id))} characters; request ids have at most "
            f"{MAX_REQUEST_ID}"
        )
    row, reason = _check_row(raw.get("row", 0))
    if row is None:
        return None, reason
    label = raw.get("label")
    value = raw.get("value")
    if label is None and value is None:
        return None, "neither label nor value is given"
    label_out: str | None = None
    if label is not None:
        label_out, reason = _check_label(label, task)
        if label_out is None:
            return None, reason
        if spellings is not None:
            label_out, reason = _as_class(label_out, spellings)
            if label_out is None:
                return None, reason
    value_out: float | None = None
    if value is not None:
        if isinstance(value, bool) or not isinstance(value, int | float | np.number):
            return None, f"value must be a number, got {type(value).__name__} {_shown(value)}"
        value_out = float(value)
        if not math.isfinite(value_out):
            return None, f"value must be a finite number, got {value!r}"
    at, reason = _check_at(raw.get("at"), received)
    if at is None:
        return None, reason
    return _Item(str(request_id), row, label_out, value_out, at), None


def _check_row(row: Any) -> tuple[str | None, str | None]:
    if isinstance(row, bool):
        return None, "row must be an integer or text, got bool"
    if isinstance(row, float | np.floating):
        if not (math.isfinite(row) and float(row).is_integer() and 0 <= row < MAX_ROW):
            return None, _bad_row(row)
        return str(int(row)), None
    if isinstance(row, int | np.integer) and not 0 <= row < MAX_ROW:
        return None, _bad_row(row)
    if isinstance(row, str) and len(row) > MAX_REQUEST_ID:
        return None, f"row has {len(row)} characters; a row id has at most {MAX_REQUEST_ID}"
    if isinstance(row, int | np.integer | str) and row != "":
        return label_text(row), None
    return None, f"row must be an integer or text, got {type(row).__name__} {_shown(row)}"


def _bad_row(row: Any) -> str:
    return f"row must be a row number from 0 to {MAX_ROW - 1:,} or a row id, got {_shown(row)}"


def _shown(value: Any) -> str:
    """``value`` for a message, cut short: a refusal never echoes a huge input back."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _check_label(label: Any, task: str) -> tuple[str | None, str | None]:
    if task == "regression":
        if isinstance(label, bool) or not isinstance(label, int | float | np.number):
            return None, f"label of a regressor must be a number, got {type(label).__name__}"
        if not math.isfinite(float(label)):
            return None, f"label must be a finite number, got {label!r}"
        return repr(float(label)), None
    if isinstance(label, str):
        return (label, None) if label != "" else (None, "label is empty")
    if isinstance(label, bool | np.bool_ | int | np.integer):
        return label_text(label), None
    if isinstance(label, float | np.floating):
        if math.isfinite(label) and float(label).is_integer():
            return label_text(label), None
        return None, f"label must be a class (text, integer or boolean), got the float {label!r}"
    return None, f"label must be text, an integer or a boolean, got {type(label).__name__}"


def _class_spellings(classes: Sequence[Any]) -> dict[str, str]:
    """Every text that names a class (as ``label_text`` writes labels), to the class's text."""
    out: dict[str, str] = {}
    for cls in classes:
        canonical = label_text(cls)
        out[canonical] = canonical
        if isinstance(cls, bool | np.bool_):
            out["1" if cls else "0"] = canonical
        elif isinstance(cls, int | np.integer) and cls in (0, 1):
            out["true" if cls else "false"] = canonical  # True == 1, as NumPy compares them
    for text, canonical in list(out.items()):
        out.setdefault(text.lower(), canonical)
    return out


def _as_class(text: str, spellings: Mapping[str, str]) -> tuple[str | None, str | None]:
    found = spellings.get(text) or spellings.get(text.lower())
    if found is None:
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if math.isfinite(number) and number.is_integer():
            found = spellings.get(str(int(number)))
    if found is not None:
        return found, None
    shown = ", ".join(sorted(set(spellings.values())))
    return None, f"label {_shown(text)} is not one of the model's classes ({shown})"


def _check_at(at: Any, received: int) -> tuple[int | None, str | None]:
    if at is None:
        return received, None
    try:
        if isinstance(at, datetime):
            moment = utc(at)
        elif isinstance(at, str):
            moment = utc(datetime.fromisoformat(at))
        elif isinstance(at, int | float) and not isinstance(at, bool) and math.isfinite(at):
            moment = datetime.fromtimestamp(float(at), UTC)
        else:
            return None, f"at must be a time (ISO text or epoch seconds), got {_shown(at)}"
    except (ValueError, OverflowError, OSError):
        return None, f"at is not a valid time: {_shown(at)}"
    return round(moment.timestamp() * 1e6), None
