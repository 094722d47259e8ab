"""Live KPIs: logged predictions joined with their latest feedback, per version (and bucket).

Definitions follow scikit-learn (tests check them against ``sklearn.metrics``):

- classification: accuracy; precision, recall and F1 of the positive class for a binary
  model (the second of its classes, as sklearn's ``pos_label`` convention has it), or their
  macro average over the labels seen (true or predicted) for a multiclass one, with 0 where a
  ratio is undefined (``zero_division=0``); ROC AUC from ``score`` (binary only); log loss
  from the logged probabilities, clipped to [eps, 1 - eps];
- regression: MAE, RMSE and R² (1 when the labels are constant and predicted exactly,
  0 when they are constant and not);
- both: labelled rows, label coverage (labelled / logged), and the mean business ``value``.

A metric that cannot be computed is None, and ``reasons`` says why.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from ferryman.monitoring._log_arrow import PROBA_PREFIX, proba_column
from ferryman.monitoring._log_layout import label_text, parse_day, parse_partition
from ferryman.monitoring.feedback import FACTS, TASKS, FeedbackStore, feedback_source
from ferryman.monitoring.log_reader import LogReader, quote, utc

CLASSIFICATION_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss")
REGRESSION_METRICS = ("mae", "rmse", "r2")
EPS = float(np.finfo(np.float64).eps)
FEEDBACK_SLACK = timedelta(days=1)  # feedback received a little before the window still counts


@dataclass(frozen=True, slots=True)
class VersionPerformance:
    """The KPIs of one version over the window (or over one time bucket of it)."""

    version: int
    bucket_start: datetime | None
    predictions: int
    labelled: int
    coverage: float | None
    metrics: dict[str, float | None]
    reasons: dict[str, str] = field(default_factory=dict)
    values: int = 0
    value_mean: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "bucket_start": self.bucket_start,
            "predictions": self.predictions,
            "labelled": self.labelled,
            "coverage": self.coverage,
            **self.metrics,
            "values": self.values,
            "value_mean": self.value_mean,
            "reasons": dict(self.reasons),
        }


@dataclass(frozen=True, slots=True)
class PerformanceReport:
    """KPIs of ``model`` over [start, end) per version, and per bucket when asked."""

    model: str
    start: datetime
    end: datetime
    task: str
    bucket: float | None
    rows: list[VersionPerformance]
    classes: tuple[str, ...] | None = None
    positive_class: str | None = None
    average: str | None = None
    reason: str | None = None

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([row.to_dict() for row in self.rows])


def compute_performance(
    reader: LogReader,
    feedback: FeedbackStore,
    model: str,
    start: datetime,
    end: datetime,
    task: str,
    bucket: float | None = None,
    *,
    classes: Sequence[Any] | None = None,
) -> PerformanceReport:
    """Join the predictions of ``model`` in [start, end) with their latest feedback.

    Parameters
    ----------
    reader, feedback : LogReader, FeedbackStore
        Over the same monitoring root.
    task : {"classification", "regression"}
        From the model version's output spec.
    bucket : float or None
        Seconds per time bucket for a time series; None for one row per version.
    classes : sequence or None
        The model's classes in its order; by default the order of the logged
        ``proba__<class>`` columns (or, without them, the sorted labels seen).
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(TASKS)}, got {task!r}")
    if bucket is not None and not bucket > 0:
        raise ValueError(f"bucket must be a number of seconds above 0, got {bucket!r}")
    return reader.retrying(
        lambda: _compute(reader, feedback, model, start, end, task, bucket, classes)
    )


def _compute(
    reader: LogReader,
    feedback: FeedbackStore,
    model: str,
    start: datetime,
    end: datetime,
    task: str,
    bucket: float | None,
    classes: Sequence[Any] | None,
) -> PerformanceReport:
    start, end = utc(start), utc(end)
    files = reader.prediction_files(model, start, end)
    empty = PerformanceReport(model, start, end, task, bucket, [], reason="no predictions")
    if not files:
        return empty
    con = reader.cursor()
    source = reader.source_sql(files)
    types = _types(con, source)
    class_texts = _class_texts(classes, list(types))
    bucket_of = _bucket_sql("ts", bucket)
    counts = con.execute(
        f"SELECT version, {bucket_of} AS bucket, count(*) FROM {source} "  # noqa: S608
        "WHERE ts >= ? AND ts < ? GROUP BY ALL ORDER BY ALL",
        [start, end],
    ).fetchall()
    if not counts:
        return empty
    keys = [(int(v), int(b)) for v, b, _ in counts]
    stats: dict[tuple[int, int], dict[str, Any]] = defaultdict(dict)
    fb_files = feedback.files(model, since=start - FEEDBACK_SLACK)
    if fb_files:
        fb_types = _types(con, feedback_source(fb_files))
        facts = _stored_facts(fb_types)
        kpis = _KpiQuery(task, class_texts, types, keys, bucket, source)
        unmatched = _has_unmatched(con, fb_files, facts)
        kpis.feedback(fb_types if facts else None, files, unmatched=unmatched)
        # Most predictions get feedback once: use the stored rows as they are, unless a
        # prediction has several (a repeat, or label and value sent apart): then take the
        # latest label and value per prediction, which costs a full aggregation. Whether it
        # has is found out beside the query (NumPy's sort and DuckDB both leave the GIL).
        with ThreadPoolExecutor(1, thread_name_prefix="ferryman-kpi") as pool:
            repeats = pool.submit(_has_repeats, reader.cursor(), fb_files)
            cells, coded = _cells(con, kpis, FeedbackStore.rows_sql(fb_files, facts), start, end)
            if repeats.result():
                latest = FeedbackStore.latest_sql(fb_files, with_ids=False, facts=facts)
                cells, coded = _cells(con, kpis, latest, start, end)
        if cells.num_rows:
            kpis.collect(cells, stats, coded=coded)
    rows_out = [
        _row(key, int(n), stats.get(key, {}), task, bucket, class_texts)
        for key, (_, _, n) in zip(keys, counts, strict=True)
    ]
    positive = class_texts[1] if class_texts and len(class_texts) == 2 else None
    average = None
    if task == "classification":
        average = "binary" if positive is not None else "macro"
    return PerformanceReport(
        model,
        start,
        end,
        task,
        bucket,
        rows_out,
        tuple(class_texts) if class_texts else None,
        positive,
        average,
    )


def _class_texts(classes: Sequence[Any] | None, names: Sequence[str]) -> list[str] | None:
    if classes is not None:
        return [label_text(c) for c in classes]
    found = [name[len(PROBA_PREFIX) :] for name in names if name.startswith(PROBA_PREFIX)]
    return found or None


def _types(con: duckdb.DuckDBPyConnection, source: str) -> dict[str, str]:
    """Column name -> DuckDB type of a FROM-clause item."""
    describe = f"DESCRIBE SELECT * FROM {source}"  # noqa: S608
    return {str(r[0]): str(r[1]) for r in con.execute(describe).fetchall()}


def _stored_facts(fb_types: dict[str, str]) -> list[str]:
    """The prediction columns stored with the feedback (none in files written before
    feedback carried them, or when no item ever matched a logged prediction)."""
    if "version" not in fb_types or "ts" not in fb_types:
        return []
    return [c for c in FACTS if c in fb_types] + [c for c in fb_types if c.startswith(PROBA_PREFIX)]


def _has_unmatched(con: duckdb.DuckDBPyConnection, files: Sequence[str], facts: list[str]) -> bool:
    """Whether a feedback row names no logged prediction (stored before it was logged, or
    by a build that did not store the facts): those rows need the join."""
    if not facts:
        return True
    sql = f"SELECT 1 FROM {feedback_source(files)} WHERE version IS NULL LIMIT 1"  # noqa: S608
    return bool(con.execute(sql).fetchall())


def _has_repeats(con: duckdb.DuckDBPyConnection, files: Sequence[str]) -> bool:
    """Whether a prediction has several feedback rows (sorting the keys beats hashing them)."""
    keys = con.sql(f"SELECT key FROM {feedback_source(files)}").to_arrow_table()  # noqa: S608
    ordered = keys.column("key").to_numpy()
    if not ordered.flags.writeable:  # a view of Arrow's memory: sort a copy
        ordered = ordered.copy()
    ordered.sort()  # in place: fresh memory is slow to touch on a VM, so touch less of it
    return bool((ordered[1:] == ordered[:-1]).any())


def _cells(
    con: duckdb.DuckDBPyConnection, kpis: _KpiQuery, rows: str, start: datetime, end: datetime
) -> tuple[pa.Table, bool]:
    """The summed cells of ``kpis`` over feedback ``rows``, and whether they are class codes:
    labels and predictions are grouped as codes, as text if one is no class."""
    coded = kpis.can_code
    cells = con.sql(kpis.sql(coded, rows), params=[start, end]).to_arrow_table()
    if coded and _has_other_classes(cells):
        coded = False
        cells = con.sql(kpis.sql(coded, rows), params=[start, end]).to_arrow_table()
    return cells, coded


class _KpiQuery:
    """Labelled predictions of the window, summed up in DuckDB.

    A labelled prediction is a feedback row whose stored prediction facts fall in the window
    (no join), or, for feedback stored before its prediction was logged, the join of the
    window's predictions with those rows. The sums come as one row per (group, predicted
    class, label) cell, where the group is the index of the row's (version, bucket) among
    ``keys``: the rows, the values and their sum, the rows with the label's probability and
    the sum of their log loss, and for a binary model the labelled rows' positive-class
    probabilities, which ROC AUC ranks.
    """

    def __init__(
        self,
        task: str,
        class_texts: list[str] | None,
        types: dict[str, str],
        keys: list[tuple[int, int]],
        bucket: float | None,
        source: str,
    ) -> None:
        self.task = task
        self.class_texts = class_texts
        self.types = types
        self.source = source
        self.keys = keys
        self.can_code = task == "classification" and bool(class_texts)
        texts = class_texts or []
        proba = {c: proba_column(c) for c in texts}
        self.proba = {c: p for c, p in proba.items() if p in types}
        self.has_proba = bool(texts) and len(self.proba) == len(texts)
        self.positive: str | None = None
        if task == "classification" and len(texts) == 2:  # ROC AUC ranks it
            self.positive = self.proba.get(texts[1]) or ("score" if "score" in types else None)
        self.uses_ts = bucket is not None
        columns = ["version", *(["ts"] if self.uses_ts else []), "prediction"]
        if task == "classification":
            columns += list(self.proba.values()) if self.has_proba else []
            if self.positive is not None and self.positive not in columns:
                columns.append(self.positive)
        self.columns = columns
        versions = sorted({v for v, _ in keys})
        low = min(b for _, b in keys)
        span = max(b for _, b in keys) - low + 1
        by_version = " ".join(f"WHEN {v} THEN {i}" for i, v in enumerate(versions))
        self.group = (
            f"(CASE version {by_version} END) * {span} + ({_bucket_sql('ts', bucket)} - {low})"
        )
        self.index = {versions.index(v) * span + (b - low): i for i, (v, b) in enumerate(keys)}
        self.fb_types: dict[str, str] | None = None
        self.unmatched = True
        self.partitions: list[int] = []

    def feedback(
        self, fb_types: dict[str, str] | None, files: Sequence[str], *, unmatched: bool
    ) -> None:
        """What the feedback holds: its columns' types when it stores prediction facts
        (None if not), and whether some of its rows still need the join; ``files`` are the
        window's prediction files (a stored row counts only if its prediction's version and
        day are still in the log: retention may have deleted the day before its feedback)."""
        self.fb_types = fb_types
        self.unmatched = unmatched or fb_types is None
        self.partitions = sorted(_partition_codes(files))

    def labelled(self, rows: str) -> str:
        """Columns ``self.columns``, label and value of the window's labelled predictions."""
        parts = []
        if self.fb_types is not None:
            stored = ", ".join(self._stored(c) for c in self.columns)
            logged = ", ".join(map(str, self.partitions)) or "NULL"
            parts.append(
                f"SELECT {stored}, label, value FROM ({rows}) "  # noqa: S608
                "WHERE version IS NOT NULL AND ts >= $1 AND ts < $2 "
                f"AND {_partition_code_sql('version', 'ts')} IN ({logged})"
            )
        if self.unmatched:
            logged = ", ".join(self._logged(c) for c in self.columns)
            window = f"SELECT key, {logged} FROM {self.source} WHERE ts >= $1 AND ts < $2"  # noqa: S608
            only = " WHERE version IS NULL" if self.fb_types is not None else ""
            parts.append(
                f"SELECT p.* EXCLUDE (key), f.label, f.value FROM ({window}) p "  # noqa: S608
                f"JOIN (SELECT key, label, value FROM ({rows}){only}) f USING (key)"
            )
        return " UNION ALL ".join(parts)

    def _logged(self, column: str) -> str:
        return "version::BIGINT AS version" if column == "version" else quote(column)

    def _stored(self, column: str) -> str:
        """A stored fact as the window's log types it: the feedback's type comes from every
        log file its lookup read (numbers and text if versions disagreed), the window's from
        its own files only."""
        fb_types = self.fb_types or {}
        kind = self.types[column]
        if column not in fb_types:
            return f"NULL::{kind} AS {quote(column)}"
        if fb_types[column] != kind:
            return f"TRY_CAST({quote(column)} AS {kind}) AS {quote(column)}"
        return quote(column)

    def sql(self, coded: bool, rows: str) -> str:
        if self.task == "regression":
            label = "label IS NOT NULL AS has_label, TRY_CAST(label AS DOUBLE) AS y"
            row = f"has_label, y, {_finite('TRY_CAST(prediction AS DOUBLE)')} AS yhat"
            sums = (
                "count(*) FILTER (WHERE has_label) AS labelled, "
                "count(*) FILTER (WHERE y IS NOT NULL AND yhat IS NULL) AS bad, "
                "count(y - yhat) AS n, sum(abs(y - yhat)) AS abs_sum, "
                "sum((y - yhat) * (y - yhat)) AS sse, "
                "var_pop(y) FILTER (WHERE yhat IS NOT NULL) AS y_var"
            )
            by = "g"
        else:
            label, row, sums = self._classification(coded)
            by = "g, pc, lc"
        return (
            f"SELECT {by}, count(value) AS value_n, sum(value) AS value_sum, {sums} "  # noqa: S608
            f"FROM (SELECT {self.group} AS g, value, {row} "
            f"FROM (SELECT *, {label} FROM ({self.labelled(rows)}))) GROUP BY {by}"
        )

    def _classification(self, coded: bool) -> tuple[str, str, str]:
        texts = self.class_texts or []
        if coded:
            whens = " ".join(f"WHEN label = {_sql_text(t)} THEN {i}" for i, t in enumerate(texts))
            label = f"CASE WHEN label IS NULL THEN -2 {whens} ELSE -1 END AS lc"
            pc_sql = _code_sql("prediction", texts, self.types["prediction"])
            row = f"lc, {pc_sql} AS pc"
            which, cases, labelled = "lc", [str(i) for i in range(len(texts))], "lc != -2"
        else:
            label, row = "label AS lc", "lc, prediction AS pc"
            which, cases = "lc", [_sql_text(t) for t in texts]
            labelled = "lc IS NOT NULL"
        p_true = "NULL::DOUBLE"
        if self.has_proba:
            whens = " ".join(
                f"WHEN {case} THEN {quote(self.proba[t])}"
                for case, t in zip(cases, texts, strict=True)
            )
            p_true = _finite(f"CASE {which} {whens} END")
        row += f", {p_true} AS p_true"
        clipped = f"least(greatest(p_true, {EPS!r}), {1 - EPS!r})"  # as sklearn's log_loss
        sums = (
            f"count(*) AS n, count(p_true) AS p_n, sum(-ln({clipped})) AS loss_sum, "
            f"count(*) FILTER (WHERE {labelled} AND s IS NULL) AS no_score, "
            f"list(s) FILTER (WHERE {labelled} AND s IS NOT NULL) AS scores"
        )
        if self.positive is None:
            row += ", NULL::DOUBLE AS s"
        else:
            row += f", {_finite(quote(self.positive))} AS s"
        return label, row, sums

    def counts(self, group: Any) -> bool:
        """Whether a cell's group is one of the window's (version, bucket) pairs: a labelled
        row whose prediction the log no longer holds (a file deleted by hand) is left out
        rather than counted beside no prediction."""
        return group is not None and int(group) in self.index

    def collect(
        self, cells: pa.Table, stats: dict[tuple[int, int], dict[str, Any]], *, coded: bool
    ) -> None:
        """Put each group's sums in ``stats`` under its (version, bucket)."""
        data = cells.to_pydict() if self.task == "regression" else _cells_without_scores(cells)
        for i, raw in enumerate(data["g"]):
            if not self.counts(raw):
                continue
            entry = stats[self.keys[self.index[int(raw)]]]
            entry["values"] = entry.get("values", 0) + int(data["value_n"][i])
            if data["value_n"][i]:
                entry["value_sum"] = entry.get("value_sum", 0.0) + float(data["value_sum"][i])
                entry["value_mean"] = entry["value_sum"] / entry["values"]
            if self.task == "regression":
                entry["labelled"] = int(data["labelled"][i])
                entry["regression"] = (
                    int(data["n"][i]),
                    float(data["abs_sum"][i] or 0.0),
                    float(data["sse"][i] or 0.0),
                    float(data["y_var"][i] or 0.0) * int(data["n"][i]),
                    int(data["bad"][i]),
                )
        if self.task == "classification":
            _classification(cells, data, self, stats, coded=coded)


def _cells_without_scores(cells: pa.Table) -> dict[str, list[Any]]:
    return cells.drop_columns(["scores"]).to_pydict()


DAY_US = 86_400_000_000
VERSION_SPAN = 1_000_000  # days: a (version, day) pair as one number


def _partition_codes(files: Sequence[str]) -> set[int]:
    """(version, day) of the log partitions ``files`` are in, as ``_partition_code_sql``."""
    codes = set()
    for path in files:
        version, day = None, None
        for part in path.split("/"):
            version = parse_partition(part, "version") or version
            day = parse_day(part) or day
        if version is not None and version.isdigit() and day is not None:
            epoch_day = (day - date(1970, 1, 1)).days
            codes.add(int(version) * VERSION_SPAN + epoch_day)
    return codes


def _partition_code_sql(version: str, ts: str) -> str:
    return f"({version} * {VERSION_SPAN} + epoch_us({ts}) // {DAY_US})"


def _finite(sql: str) -> str:
    """``sql`` with NaN as null, as a missing number."""
    return f"nullif({sql}, 'NaN'::DOUBLE)"


def _bucket_sql(ts: str, bucket: float | None) -> str:
    """The bucket number of a row: its time in whole buckets since the epoch (0 if none)."""
    return "0" if bucket is None else f"floor(epoch_us({ts}) / {int(bucket * 1e6)})::BIGINT"


def _code_sql(column: str, class_texts: list[str], kind: str) -> str:
    """The position of ``column``'s value among the classes; -1 for anything else."""
    whens = " ".join(
        f"WHEN TRY_CAST({_sql_text(text)} AS {kind}) THEN {index}"
        for index, text in enumerate(class_texts)
    )
    return f"CASE {column} {whens} ELSE -1 END"


def _has_other_classes(cells: pa.Table) -> bool:
    """True if a labelled row's label or prediction is not one of the known classes."""
    lc = cells.column("lc").to_numpy(zero_copy_only=False)
    pc = cells.column("pc").to_numpy(zero_copy_only=False)
    return bool(((lc == -1) | ((pc == -1) & (lc != -2))).any())


def _classification(
    cells: pa.Table,
    data: dict[str, list[Any]],
    kpis: _KpiQuery,
    stats: dict[tuple[int, int], dict[str, Any]],
    *,
    coded: bool,
) -> None:
    """Confusion cells, log loss sums and ROC AUC per group from the summed cells."""
    texts = kpis.class_texts or []
    scores: dict[int, dict[str, list[np.ndarray]]] = defaultdict(lambda: defaultdict(list))
    flat = _score_lists(cells)
    for i, raw in enumerate(data["g"]):
        if not kpis.counts(raw):
            continue
        g = kpis.index[int(raw)]
        entry = stats[kpis.keys[g]]
        label, predicted = data["lc"][i], data["pc"][i]
        if label is None or label == -2:
            continue
        if coded:
            label_name = texts[label]
            predicted_name = texts[predicted]
        else:
            label_name = str(label)
            predicted_name = "<null>" if predicted is None else label_text(predicted)
        n = int(data["n"][i])
        entry["labelled"] = entry.get("labelled", 0) + n
        entry.setdefault("confusion", []).append((predicted_name, label_name, n))
        entry["p_missing"] = entry.get("p_missing", 0) + n - int(data["p_n"][i])
        entry["loss_sum"] = entry.get("loss_sum", 0.0) + float(data["loss_sum"][i] or 0.0)
        entry["loss_n"] = entry.get("loss_n", 0) + int(data["p_n"][i])
        entry["no_score"] = entry.get("no_score", 0) + int(data["no_score"][i])
        scores[g][label_name].append(flat[i])
    for g, key in enumerate(kpis.keys):
        entry = stats[key]
        if not entry.get("labelled"):
            continue
        if entry["p_missing"]:
            entry["log_loss_reason"] = (
                f"{entry['p_missing']} labelled rows have a label outside the model's classes "
                "or no logged probabilities"
            )
        elif entry["loss_n"]:
            entry["log_loss"] = entry["loss_sum"] / entry["loss_n"]
        if len(texts) == 2:
            _auc(scores[g], texts[0], texts[1], entry)


def _score_lists(cells: pa.Table) -> list[np.ndarray]:
    """Each cell's list of scores as a NumPy array (a view of one flat array)."""
    lists = cells.column("scores").combine_chunks()
    if isinstance(lists, pa.ChunkedArray):  # pragma: no cover (a table of no chunks)
        lists = pa.array([], pa.list_(pa.float64()))
    offsets = lists.offsets.to_numpy()
    values = lists.values.to_numpy(zero_copy_only=False)
    valid = lists.is_valid().to_numpy(zero_copy_only=False)
    empty = np.empty(0, dtype=np.float64)
    return [values[offsets[i] : offsets[i + 1]] if valid[i] else empty for i in range(len(lists))]


def _auc(
    scores: dict[str, list[np.ndarray]], negative: str, positive: str, entry: dict[str, Any]
) -> None:
    """Mann-Whitney form of ROC AUC, ties counted half: equal to sklearn's trapezoids."""
    if entry["no_score"]:
        entry["roc_auc_reason"] = "some labelled rows have no logged score"
        return
    if set(scores) - {negative, positive}:
        entry["roc_auc_reason"] = "labels outside the model's two classes"
        return
    if not scores.get(negative) or not scores.get(positive):
        entry["roc_auc_reason"] = "only one class among the labels"
        return
    neg = np.concatenate(scores[negative])  # a new array each: sorted in place
    pos = np.concatenate(scores[positive])
    neg.sort()
    pos.sort()
    if not len(neg) or not len(pos):
        entry["roc_auc_reason"] = "only one class among the labels"
        return
    below = np.searchsorted(neg, pos, side="left")
    below_sum = int(below.sum(dtype=np.int64))
    tied_or_below = below_sum
    if (neg[np.minimum(below, len(neg) - 1)] == pos).any():  # ties count half
        tied_or_below = int(np.searchsorted(neg, pos, side="right").sum(dtype=np.int64))
    entry["roc_auc"] = (below_sum + tied_or_below) / 2 / (len(pos) * len(neg))


def _row(
    key: tuple[int, int],
    predictions: int,
    entry: dict[str, Any],
    task: str,
    bucket: float | None,
    class_texts: list[str] | None,
) -> VersionPerformance:
    version, index = key
    bucket_start = datetime.fromtimestamp(index * bucket, UTC) if bucket is not None else None
    labelled = int(entry.get("labelled", 0))
    reasons: dict[str, str] = {}
    if task == "classification":
        metrics = dict.fromkeys(CLASSIFICATION_METRICS)
        if labelled:
            metrics.update(_from_confusion(entry.get("confusion", []), class_texts))
            for name in ("roc_auc", "log_loss"):
                if name in entry:
                    metrics[name] = entry[name]
                else:
                    reasons[name] = entry.get(f"{name}_reason") or _missing_reason(name)
    else:
        metrics = dict.fromkeys(REGRESSION_METRICS)
        if labelled:
            metrics.update(_from_regression(entry.get("regression"), reasons))
    if not labelled:
        for name in metrics:
            reasons[name] = "no labelled predictions in the window"
    return VersionPerformance(
        version=version,
        bucket_start=bucket_start,
        predictions=predictions,
        labelled=labelled,
        coverage=labelled / predictions if predictions else None,
        metrics=metrics,
        reasons=reasons,
        values=int(entry.get("values", 0)),
        value_mean=entry.get("value_mean"),
    )


def _missing_reason(name: str) -> str:
    if name == "roc_auc":
        return "ROC AUC is computed for binary classifiers with a logged score only"
    return "no logged probabilities for the model's classes"


def _from_confusion(
    cells: list[tuple[str, str, int]], classes: list[str] | None
) -> dict[str, float | None]:
    total = sum(n for _, _, n in cells)
    correct = sum(n for predicted, label, n in cells if predicted == label)
    out: dict[str, float | None] = {"accuracy": correct / total if total else None}
    labels = sorted({p for p, _, _ in cells} | {t for _, t, _ in cells}, key=_natural)
    positive = classes[1] if classes and len(classes) == 2 else None
    if positive is None and len(labels) == 2 and not classes:
        positive = labels[1]
    targets = [positive] if positive is not None else labels
    precisions, recalls, f1s = [], [], []
    for target in targets:
        tp = sum(n for p, t, n in cells if p == target and t == target)
        fp = sum(n for p, t, n in cells if p == target and t != target)
        fn = sum(n for p, t, n in cells if p != target and t == target)
        precisions.append(tp / (tp + fp) if tp + fp else 0.0)
        recalls.append(tp / (tp + fn) if tp + fn else 0.0)
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0)
    out["precision"] = float(np.mean(precisions))
    out["recall"] = float(np.mean(recalls))
    out["f1"] = float(np.mean(f1s))
    return out


def _from_regression(
    values: tuple[int, float, float, float, int] | None, reasons: dict[str, str]
) -> dict[str, float | None]:
    out: dict[str, float | None] = dict.fromkeys(REGRESSION_METRICS)
    if values is None:
        for name in REGRESSION_METRICS:
            reasons[name] = "no numeric labels in the window"
        return out
    n, abs_sum, sse, sst, bad_p = values
    if bad_p:
        for name in REGRESSION_METRICS:
            reasons[name] = f"{bad_p} labelled rows have a non-numeric prediction"
        return out
    if not n:
        for name in REGRESSION_METRICS:
            reasons[name] = "no numeric labels in the window"
        return out
    out["mae"] = abs_sum / n
    out["rmse"] = math.sqrt(sse / n)
    if n < 2:
        reasons["r2"] = "R² needs at least two labelled rows"
    elif sst == 0.0:
        out["r2"] = 1.0 if sse == 0.0 else 0.0
    else:
        out["r2"] = 1.0 - sse / sst
    return out


def _natural(text: str) -> tuple[int, float, str]:
    """Numbers in numeric order before text, as sorting the original labels would."""
    try:
        return (0, float(text), text)
    except ValueError:
        return (1, 0.0, text)


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
