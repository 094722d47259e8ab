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
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ferryman.monitoring._log_arrow import PROBA_PREFIX, proba_column
from ferryman.monitoring._log_layout import label_text
from ferryman.monitoring.feedback import FeedbackStore
from ferryman.monitoring.log_reader import LogReader, quote, utc

TASKS = ("classification", "regression")
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

    def for_version(self, version: int) -> list[VersionPerformance]:
        return [row for row in self.rows if row.version == version]

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
    start, end = utc(start), utc(end)
    files = reader.prediction_files(model, start, end)
    empty = PerformanceReport(model, start, end, task, bucket, [], reason="no predictions")
    if not files:
        return empty
    con = reader.cursor()
    source = reader.source_sql(files)
    describe = f"DESCRIBE SELECT * FROM {source}"  # noqa: S608
    types = {str(r[0]): str(r[1]) for r in con.execute(describe).fetchall()}
    names = list(types)
    class_texts = _class_texts(classes, names)
    proba = [proba_column(c) for c in class_texts] if class_texts else []
    proba = [p for p in proba if p in names]
    bucket_sql = "0" if bucket is None else f"floor(epoch_us(ts) / {int(bucket * 1e6)})::BIGINT"
    window = (
        f"SELECT version, {bucket_sql} AS bucket, key, prediction, score"  # noqa: S608
        f"{''.join(', ' + quote(p) for p in proba)} FROM {source} WHERE ts >= ? AND ts < ?"
    )
    counts = con.execute(
        f"SELECT version, bucket, count(*) FROM ({window}) GROUP BY ALL",  # noqa: S608
        [start, end],
    ).fetchall()
    if not counts:
        return empty
    key_counts = {(int(v), int(b)): int(n) for v, b, n in counts}
    fb_files = feedback.files(model, since=start - FEEDBACK_SLACK)
    stats: dict[tuple[int, int], dict[str, Any]] = defaultdict(dict)
    if fb_files:
        latest = feedback.latest_sql(fb_files, with_ids=False)
        p_true = _p_true_sql(class_texts, proba)
        if task == "regression":
            columns = (
                "TRY_CAST(p.prediction AS DOUBLE) AS yhat, f.label, "
                "TRY_CAST(f.label AS DOUBLE) AS y, f.value"
            )
        elif class_texts:  # classes known: fetch numbers only (codes), much faster
            columns = (
                f"p.score, f.value, f.label IS NOT NULL AS has_label, {p_true}, "
                f"{_code_sql('p.prediction', class_texts, types['prediction'])} AS pc, "
                f"{_code_sql('f.label', class_texts, 'VARCHAR')} AS lc"
            )
        else:
            columns = f"p.prediction, p.score, f.label, f.value, {p_true}"

        def fetch(columns: str, rows: str) -> pa.Table:
            return con.sql(
                f"SELECT p.version, p.bucket, p.key, {columns} FROM ({window}) p "  # noqa: S608
                f"JOIN ({rows}) f USING (key)",
                params=[start, end],
            ).to_arrow_table()

        # Most predictions get feedback once: join the stored rows as they are, and only
        # if a prediction met several (a repeat, or label and value sent apart) join again
        # with the latest label and value per prediction, which costs a full aggregation.
        joined = fetch(columns, feedback.rows_sql(fb_files))
        if _has_repeats(joined.column("key").to_numpy(zero_copy_only=False)):
            joined = fetch(columns, latest)
        if "pc" in joined.column_names and _has_other_classes(joined):
            joined = fetch(f"p.prediction, p.score, f.label, f.value, {p_true}", latest)
        if joined.num_rows:
            _joined_stats(joined, task, class_texts, stats)
    rows = [
        _row(key, n, stats.get(key, {}), task, bucket, class_texts)
        for key, n in sorted(key_counts.items())
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
        rows,
        tuple(class_texts) if class_texts else None,
        positive,
        average,
    )


def _class_texts(classes: Sequence[Any] | None, names: Sequence[str]) -> list[str] | None:
    if classes is not None:
        return [label_text(c) for c in classes]
    found = [name[len(PROBA_PREFIX) :] for name in names if name.startswith(PROBA_PREFIX)]
    return found or None


def _p_true_sql(class_texts: list[str] | None, proba: list[str]) -> str:
    """Per labelled row, the probability given to its label (null if unknown)."""
    if not class_texts or len(proba) != len(class_texts):
        return "NULL::DOUBLE AS p_true"
    cases = " ".join(
        f"WHEN {_sql_text(c)} THEN p.{quote(p)}" for c, p in zip(class_texts, proba, strict=True)
    )
    return f"CASE f.label {cases} END AS p_true"


def _has_repeats(keys: np.ndarray) -> bool:
    """True if a key occurs twice (sorting beats hashing for millions of integers)."""
    ordered = np.sort(keys)
    return bool((ordered[1:] == ordered[:-1]).any())


def _code_sql(column: str, class_texts: list[str], kind: str) -> str:
    """The position of ``column``'s value among the classes; -1 for anything else."""
    whens = " ".join(
        f"WHEN TRY_CAST({_sql_text(text)} AS {kind}) THEN {index}"
        for index, text in enumerate(class_texts)
    )
    return f"CASE {column} {whens} ELSE -1 END"


def _has_other_classes(joined: pa.Table) -> bool:
    """True if a labelled row's label or prediction is not one of the known classes."""
    labelled = joined.column("has_label")
    other = pc.or_(pc.less(joined.column("pc"), 0), pc.less(joined.column("lc"), 0))
    return bool(pc.any(pc.and_(labelled, other)).as_py())


def _numbers(table: pa.Table, name: str) -> np.ndarray:
    """A column as float64 with NaN for nulls."""
    return np.asarray(
        table.column(name).cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64
    )


def _joined_stats(
    joined: pa.Table,
    task: str,
    class_texts: list[str] | None,
    stats: dict[tuple[int, int], dict[str, Any]],
) -> None:
    """Everything the report needs, per (version, bucket), from the joined rows."""
    versions = joined.column("version").to_numpy(zero_copy_only=False).astype(np.int64)
    buckets = joined.column("bucket").to_numpy(zero_copy_only=False).astype(np.int64)
    low = int(buckets.min())
    stride = int(buckets.max()) - low + 1
    groups, uniques = pd.factorize(versions * stride + (buckets - low))
    keys = [(int(u) // stride, int(u) % stride + low) for u in uniques]
    count = len(keys)
    if "has_label" in joined.column_names:
        has_label = joined.column("has_label").to_numpy(zero_copy_only=False).astype(bool)
    else:
        has_label = joined.column("label").is_valid().to_numpy(zero_copy_only=False)
    values = _numbers(joined, "value")
    has_value = ~np.isnan(values)
    labelled = np.bincount(groups[has_label], minlength=count)
    value_n = np.bincount(groups[has_value], minlength=count)
    value_sum = np.bincount(groups[has_value], weights=values[has_value], minlength=count)
    for g, key in enumerate(keys):
        entry = stats[key]
        entry["labelled"] = int(labelled[g])
        entry["values"] = int(value_n[g])
        entry["value_mean"] = float(value_sum[g] / value_n[g]) if value_n[g] else None
    if task == "classification":
        _classification(joined, groups, keys, has_label, class_texts, stats)
    else:
        _regression(joined, groups, keys, has_label, stats)


def _classification(
    joined: pa.Table,
    groups: np.ndarray,
    keys: list[tuple[int, int]],
    has_label: np.ndarray,
    class_texts: list[str] | None,
    stats: dict[tuple[int, int], dict[str, Any]],
) -> None:
    count = len(keys)
    rows = np.flatnonzero(has_label)
    group = groups[rows]
    if "pc" in joined.column_names and class_texts:
        pred_code = joined.column("pc").to_numpy(zero_copy_only=False)[rows].astype(np.int64)
        label_code = joined.column("lc").to_numpy(zero_copy_only=False)[rows].astype(np.int64)
        texts = {text: index for index, text in enumerate(class_texts)}
    else:
        pred_code, label_code, texts = _codes_from_text(joined, rows)
    width = len(texts)
    cells = np.bincount(
        (group * width + pred_code) * width + label_code, minlength=count * width * width
    ).reshape(count, width, width)
    names = list(texts)
    for g, key in enumerate(keys):
        matrix = cells[g]
        stats[key]["confusion"] = [
            (names[p], names[t], int(matrix[p, t]))
            for p, t in zip(*np.nonzero(matrix), strict=True)
        ]
    p_true = _numbers(joined, "p_true")[rows]
    missing = np.bincount(group[np.isnan(p_true)], minlength=count)
    ok = ~np.isnan(p_true)
    loss = -np.log(np.clip(p_true[ok], EPS, 1 - EPS))  # clipped as sklearn's log_loss
    loss_sum = np.bincount(group[ok], weights=loss, minlength=count)
    loss_n = np.bincount(group[ok], minlength=count)
    for g, key in enumerate(keys):
        entry = stats[key]
        if missing[g]:
            entry["log_loss_reason"] = (
                f"{int(missing[g])} labelled rows have a label outside the model's classes or "
                "no logged probabilities"
            )
        elif loss_n[g]:
            entry["log_loss"] = float(loss_sum[g] / loss_n[g])
    if class_texts and len(class_texts) == 2:
        negative = texts.get(class_texts[0], -1)
        positive = texts.get(class_texts[1], -1)
        score = _numbers(joined, "score")[rows]
        _auc(group, label_code, score, negative, positive, keys, stats)


def _codes_from_text(
    joined: pa.Table, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """Predictions and labels of ``rows`` as codes into one list of label texts."""
    labels = pc.dictionary_encode(joined.column("label").take(pa.array(rows))).combine_chunks()
    predicted = pc.dictionary_encode(
        joined.column("prediction").take(pa.array(rows))
    ).combine_chunks()
    texts: dict[str, int] = {}
    label_map = np.array(
        [texts.setdefault(str(t), len(texts)) for t in labels.dictionary.to_pylist()] or [0],
        dtype=np.int64,
    )
    pred_map = np.array(
        [
            texts.setdefault("<null>" if t is None else label_text(t), len(texts))
            for t in predicted.dictionary.to_pylist()
        ]
        or [0],
        dtype=np.int64,
    )
    label_code = label_map[labels.indices.to_numpy(zero_copy_only=False)]
    pred_index = predicted.indices.fill_null(len(pred_map) - 1)
    pred_code = pred_map[pred_index.to_numpy(zero_copy_only=False)]
    return pred_code, label_code, texts


def _auc(
    group: np.ndarray,
    label_code: np.ndarray,
    score: np.ndarray,
    negative: int,
    positive: int,
    keys: list[tuple[int, int]],
    stats: dict[tuple[int, int], dict[str, Any]],
) -> None:
    """Mann-Whitney form of ROC AUC, ties counted half: equal to sklearn's trapezoids."""
    small = group.astype(np.int16) if len(keys) < 2**15 else group  # radix sort when small
    order = np.argsort(small, kind="stable")
    bounds = np.searchsorted(group[order], np.arange(len(keys) + 1))
    for g, key in enumerate(keys):
        rows = order[bounds[g] : bounds[g + 1]]
        codes, scores = label_code[rows], score[rows]
        entry = stats[key]
        if np.isnan(scores).any():
            entry["roc_auc_reason"] = "some labelled rows have no logged score"
            continue
        is_pos, is_neg = codes == positive, codes == negative
        if not (is_pos | is_neg).all():
            entry["roc_auc_reason"] = "labels outside the model's two classes"
            continue
        if not is_pos.any() or not is_neg.any():
            entry["roc_auc_reason"] = "only one class among the labels"
            continue
        pos, neg = np.sort(scores[is_pos]), np.sort(scores[is_neg])
        below = np.searchsorted(neg, pos, side="left").sum(dtype=np.int64)
        tied_or_below = np.searchsorted(neg, pos, side="right").sum(dtype=np.int64)
        entry["roc_auc"] = float((below + tied_or_below) / 2) / (len(pos) * len(neg))


def _regression(
    joined: pa.Table,
    groups: np.ndarray,
    keys: list[tuple[int, int]],
    has_label: np.ndarray,
    stats: dict[tuple[int, int], dict[str, Any]],
) -> None:
    count = len(keys)
    y, yhat = _numbers(joined, "y"), _numbers(joined, "yhat")
    usable = has_label & ~np.isnan(y)
    bad = np.bincount(groups[usable & np.isnan(yhat)], minlength=count)
    ok = usable & ~np.isnan(yhat)
    g, y, yhat = groups[ok], y[ok], yhat[ok]
    n = np.bincount(g, minlength=count)
    error = y - yhat
    abs_sum = np.bincount(g, weights=np.abs(error), minlength=count)
    sse = np.bincount(g, weights=error * error, minlength=count)
    mean = np.bincount(g, weights=y, minlength=count) / np.maximum(n, 1)
    sst = np.bincount(g, weights=(y - mean[g]) ** 2, minlength=count)
    for index, key in enumerate(keys):
        stats[key]["regression"] = (
            int(n[index]),
            float(abs_sum[index]),
            float(sse[index]),
            float(sst[index]),
            int(bad[index]),
        )


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
