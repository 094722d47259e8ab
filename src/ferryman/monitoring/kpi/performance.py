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

A metric that cannot be computed is None, and ``reasons`` says why. Each metric has a 95%
interval in ``intervals`` (Wilson for accuracy and binary precision and recall, a normal
approximation for the others, none for R²; see ``intervals``), computed from the same
counts and sums, so it costs the query nothing.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from ferryman.monitoring.kpi import intervals as ci
from ferryman.monitoring.kpi.feedback import TASKS, FeedbackStore, fact_columns, feedback_source
from ferryman.monitoring.kpi.query import KpiQuery, bucket_sql, has_other_classes
from ferryman.monitoring.log.reader import LogReader, source_filter, utc
from ferryman.monitoring.log.scheme import PROBA_PREFIX, label_text

CLASSIFICATION_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss")
REGRESSION_METRICS = ("mae", "rmse", "r2")
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
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)

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
            "intervals": {k: list(v) for k, v in self.intervals.items()},
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
    sources: Collection[str] | None = None,
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
    sources : collection of str or None
        The source groups (``live``, ``score``) whose predictions count, labelled or not;
        None for every row.
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(TASKS)}, got {task!r}")
    if bucket is not None and not bucket > 0:
        raise ValueError(f"bucket must be a number of seconds above 0, got {bucket!r}")
    return reader.retrying(
        lambda: _compute(reader, feedback, model, start, end, task, bucket, classes, sources)
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
    sources: Collection[str] | None,
) -> PerformanceReport:
    start, end = utc(start), utc(end)
    files = reader.prediction_files(model, start, end)
    empty = PerformanceReport(model, start, end, task, bucket, [], reason="no predictions")
    if not files:
        return empty
    con = reader.cursor()
    source = reader.source_sql(files)
    types = reader.column_types(con, source)
    class_texts = _class_texts(classes, list(types))
    bucket_of = bucket_sql("ts", bucket)
    counts = con.execute(
        f"SELECT version, {bucket_of} AS bucket, count(*) FROM {source} "  # noqa: S608
        f"WHERE ts >= ? AND ts < ? AND {source_filter(sources)} GROUP BY ALL ORDER BY ALL",
        [start, end],
    ).fetchall()
    if not counts:
        return empty
    keys = [(int(v), int(b)) for v, b, _ in counts]
    stats: dict[tuple[int, int], dict[str, Any]] = defaultdict(dict)
    fb_files = feedback.files(model, since=start - FEEDBACK_SLACK)
    if fb_files:
        fb_types = reader.column_types(con, feedback_source(fb_files))
        facts = fact_columns(fb_types)
        kpis = KpiQuery(task, class_texts, types, keys, bucket, source, sources)
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
    con: duckdb.DuckDBPyConnection, kpis: KpiQuery, rows: str, start: datetime, end: datetime
) -> tuple[pa.Table, bool]:
    """The summed cells of ``kpis`` over feedback ``rows``, and whether they are class codes:
    labels and predictions are grouped as codes, as text if one is no class."""
    coded = kpis.can_code
    cells = con.sql(kpis.sql(coded, rows), params=[start, end]).to_arrow_table()
    if coded and has_other_classes(cells):
        coded = False
        cells = con.sql(kpis.sql(coded, rows), params=[start, end]).to_arrow_table()
    return cells, coded


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
    intervals: dict[str, tuple[float, float] | None] = {}
    if task == "classification":
        metrics = dict.fromkeys(CLASSIFICATION_METRICS)
        if labelled:
            found, intervals = _from_confusion(entry.get("confusion", []), class_texts)
            metrics.update(found)
            for name in ("roc_auc", "log_loss"):
                if name in entry:
                    metrics[name] = entry[name]
                else:
                    reasons[name] = entry.get(f"{name}_reason") or _missing_reason(name)
            if "roc_auc" in entry:
                intervals["roc_auc"] = ci.auc_interval(entry["roc_auc"], *entry["roc_auc_counts"])
            if "log_loss" in entry:
                intervals["log_loss"] = ci.mean_interval(
                    entry["loss_sum"], entry["loss_sq"], entry["loss_n"], low=0.0
                )
    else:
        metrics = dict.fromkeys(REGRESSION_METRICS)
        if labelled:
            metrics.update(_from_regression(entry.get("regression"), reasons))
            intervals = _regression_intervals(metrics, entry.get("regression"))
    if entry.get("value_mean") is not None:
        intervals["business_value"] = ci.mean_interval(
            entry["value_sum"], entry["value_sq"], int(entry["values"])
        )
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
        intervals={k: v for k, v in intervals.items() if v is not None},
    )


def _missing_reason(name: str) -> str:
    if name == "roc_auc":
        return "ROC AUC is computed for binary classifiers with a logged score only"
    return "no logged probabilities for the model's classes"


def _from_confusion(
    cells: list[tuple[str, str, int]], classes: list[str] | None
) -> tuple[dict[str, float | None], dict[str, tuple[float, float] | None]]:
    total = sum(n for _, _, n in cells)
    correct = sum(n for predicted, label, n in cells if predicted == label)
    out: dict[str, float | None] = {"accuracy": correct / total if total else None}
    intervals = {"accuracy": ci.wilson(correct, total)}
    labels = sorted({p for p, _, _ in cells} | {t for _, t, _ in cells}, key=_natural)
    positive = classes[1] if classes and len(classes) == 2 else None
    if positive is None and len(labels) == 2 and not classes:
        positive = labels[1]
    targets = [positive] if positive is not None else labels
    precisions, recalls, f1s = [], [], []
    ses: dict[str, list[float]] = {"precision": [], "recall": [], "f1": []}
    for target in targets:
        tp = sum(n for p, t, n in cells if p == target and t == target)
        fp = sum(n for p, t, n in cells if p == target and t != target)
        fn = sum(n for p, t, n in cells if p != target and t == target)
        precisions.append(tp / (tp + fp) if tp + fp else 0.0)
        recalls.append(tp / (tp + fn) if tp + fn else 0.0)
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0)
        ses["precision"].append(ci.proportion_se(tp, tp + fp))
        ses["recall"].append(ci.proportion_se(tp, tp + fn))
        ses["f1"].append(ci.f1_se(tp, fp, fn, total))
        if positive is not None:
            intervals["precision"] = ci.wilson(tp, tp + fp) if tp + fp else None
            intervals["recall"] = ci.wilson(tp, tp + fn) if tp + fn else None
    out["precision"] = float(np.mean(precisions))
    out["recall"] = float(np.mean(recalls))
    f1 = float(np.mean(f1s))
    out["f1"] = f1
    intervals["f1"] = ci.normal(f1, ci.macro_se(ses["f1"]), 0.0, 1.0)
    if positive is None:
        for name, values in (("precision", precisions), ("recall", recalls)):
            intervals[name] = ci.normal(float(np.mean(values)), ci.macro_se(ses[name]), 0.0, 1.0)
    return out, intervals


def _regression_intervals(
    metrics: dict[str, float | None],
    values: tuple[int, float, float, float, int, float] | None,
) -> dict[str, tuple[float, float] | None]:
    if values is None or metrics.get("mae") is None:
        return {}
    n, abs_sum, sse, _, _, fourth = values
    return {
        "mae": ci.mean_interval(abs_sum, sse, n, low=0.0),
        "rmse": ci.rmse_interval(sse, fourth, n),
    }


def _from_regression(
    values: tuple[int, float, float, float, int, float] | None, reasons: dict[str, str]
) -> dict[str, float | None]:
    out: dict[str, float | None] = dict.fromkeys(REGRESSION_METRICS)
    if values is None:
        for name in REGRESSION_METRICS:
            reasons[name] = "no numeric labels in the window"
        return out
    n, abs_sum, sse, sst, bad_p, _ = values
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
