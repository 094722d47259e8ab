"""The SQL behind live KPIs: the window's labelled predictions, summed per group in DuckDB,
then confusion cells, log-loss sums and ROC AUC per (version, bucket) (see ``performance``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import date
from typing import Any

import numpy as np
import pyarrow as pa

from ferryman.monitoring.log.reader import quote, source_filter, sql_text
from ferryman.monitoring.log.scheme import label_text, parse_day, parse_partition, proba_column

EPS = float(np.finfo(np.float64).eps)


class KpiQuery:
    """Labelled predictions of the window, summed up in DuckDB.

    A labelled prediction is a feedback row whose stored prediction facts fall in the window
    (no join), or, for feedback stored before its prediction was logged, the join of the
    window's predictions with those rows. The sums come as one row per (group, predicted
    class, label) cell, where the group is the index of the row's (version, bucket) among
    ``keys``: the rows, the values and their sum, the rows with the label's probability and
    the sum of their log loss, and for a binary model the labelled rows' positive-class
    probabilities, which ROC AUC ranks. Only predictions of the ``sources`` groups (None:
    every one) count, and so only their labels.
    """

    def __init__(
        self,
        task: str,
        class_texts: list[str] | None,
        types: dict[str, str],
        keys: list[tuple[int, int]],
        bucket: float | None,
        source: str,
        sources: Collection[str] | None = None,
    ) -> None:
        self.task = task
        self.class_texts = class_texts
        self.types = types
        self.source = source
        self.sources = sources
        self.keys = keys
        self.can_code = task == "classification" and bool(class_texts)
        texts = class_texts or []
        proba = {c: proba_column(c) for c in texts}
        self.proba = {c: p for c, p in proba.items() if p in types}
        self.has_proba = bool(texts) and len(self.proba) == len(texts)
        self.positive: str | None = None
        if task == "classification" and len(texts) == 2:  # ROC AUC ranks it
            self.positive = self.proba.get(texts[1]) or ("score" if "score" in types else None)
        columns = ["version", *(["ts"] if bucket is not None else []), "prediction"]
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
            f"(CASE version {by_version} END) * {span} + ({bucket_sql('ts', bucket)} - {low})"
        )
        self.index = {versions.index(v) * span + (b - low): i for i, (v, b) in enumerate(keys)}
        self.fb_types: dict[str, str] | None = None
        self.unmatched = True
        self.partitions: list[int] = []

    def feedback(
        self, fb_types: dict[str, str] | None, files: Sequence[str], *, unmatched: bool
    ) -> None:
        """What the feedback holds: its columns' types when it stores prediction facts
        (None if not; every row then needs the join), and whether some of its rows still
        need the join; ``files`` are the window's prediction files (a stored row counts only
        if its prediction's version and day are still in the log: retention may have deleted
        the day before its feedback)."""
        self.fb_types = fb_types
        self.unmatched = unmatched
        self.partitions = sorted(_partition_codes(files))

    def labelled(self, rows: str) -> str:
        """Columns ``self.columns``, label and value of the window's labelled predictions."""
        parts = []
        if self.fb_types is not None:
            stored = ", ".join(self._stored(c) for c in self.columns)
            logged = ", ".join(map(str, self.partitions)) or "NULL"
            # feedback stored before it kept its prediction's source counts as live
            source = quote("source") if "source" in self.fb_types else "NULL"
            parts.append(
                f"SELECT {stored}, label, value FROM ({rows}) "  # noqa: S608
                "WHERE version IS NOT NULL AND ts >= $1 AND ts < $2 "
                f"AND {_partition_code_sql('version', 'ts')} IN ({logged}) "
                f"AND {source_filter(self.sources, source)}"
            )
        if self.unmatched:
            logged = ", ".join(self._logged(c) for c in self.columns)
            window = (
                f"SELECT key, {logged} FROM {self.source} "  # noqa: S608
                f"WHERE ts >= $1 AND ts < $2 AND {source_filter(self.sources)}"
            )
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
                "sum(power(y - yhat, 4)) AS e4, "
                "var_pop(y) FILTER (WHERE yhat IS NOT NULL) AS y_var"
            )
            by = "g"
            per_row = ""
        else:
            label, row, sums = self._classification(coded)
            by = "g, pc, lc"
            clipped = f"least(greatest(p_true, {EPS!r}), {1 - EPS!r})"  # as sklearn's log_loss
            per_row = f", -ln({clipped}) AS loss"  # each row's log loss, computed once
        return (
            f"SELECT {by}, count(value) AS value_n, sum(value) AS value_sum, "  # noqa: S608
            f"sum(value * value) AS value_sq, {sums} "
            f"FROM (SELECT *{per_row} FROM (SELECT {self.group} AS g, value, {row} "
            f"FROM (SELECT *, {label} FROM ({self.labelled(rows)})))) GROUP BY {by}"
        )

    def _classification(self, coded: bool) -> tuple[str, str, str]:
        texts = self.class_texts or []
        if coded:
            whens = " ".join(f"WHEN label = {sql_text(t)} THEN {i}" for i, t in enumerate(texts))
            label = f"CASE WHEN label IS NULL THEN -2 {whens} ELSE -1 END AS lc"
            pc_sql = _code_sql("prediction", texts, self.types["prediction"])
            row = f"lc, {pc_sql} AS pc"
            which, cases, labelled = "lc", [str(i) for i in range(len(texts))], "lc != -2"
        else:
            label, row = "label AS lc", "lc, prediction AS pc"
            which, cases = "lc", [sql_text(t) for t in texts]
            labelled = "lc IS NOT NULL"
        p_true = "NULL::DOUBLE"
        if self.has_proba:
            whens = " ".join(
                f"WHEN {case} THEN {quote(self.proba[t])}"
                for case, t in zip(cases, texts, strict=True)
            )
            p_true = _finite(f"CASE {which} {whens} END")
        row += f", {p_true} AS p_true"
        sums = (
            "count(*) AS n, count(p_true) AS p_n, sum(loss) AS loss_sum, "
            "sum(loss * loss) AS loss_sq, "
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
                entry["value_sq"] = entry.get("value_sq", 0.0) + float(data["value_sq"][i])
                entry["value_mean"] = entry["value_sum"] / entry["values"]
            if self.task == "regression":
                entry["labelled"] = int(data["labelled"][i])
                entry["regression"] = (
                    int(data["n"][i]),
                    float(data["abs_sum"][i] or 0.0),
                    float(data["sse"][i] or 0.0),
                    float(data["y_var"][i] or 0.0) * int(data["n"][i]),
                    int(data["bad"][i]),
                    float(data["e4"][i] or 0.0),
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


def bucket_sql(ts: str, bucket: float | None) -> str:
    """The bucket number of a row: its time in whole buckets since the epoch (0 if none)."""
    return "0" if bucket is None else f"floor(epoch_us({ts}) / {int(bucket * 1e6)})::BIGINT"


def _code_sql(column: str, class_texts: list[str], kind: str) -> str:
    """The position of ``column``'s value among the classes; -1 for anything else."""
    whens = " ".join(
        f"WHEN TRY_CAST({sql_text(text)} AS {kind}) THEN {index}"
        for index, text in enumerate(class_texts)
    )
    return f"CASE {column} {whens} ELSE -1 END"


def has_other_classes(cells: pa.Table) -> bool:
    """True if a labelled row's label or prediction is not one of the known classes."""
    lc = cells.column("lc").to_numpy(zero_copy_only=False)
    pc = cells.column("pc").to_numpy(zero_copy_only=False)
    return bool(((lc == -1) | ((pc == -1) & (lc != -2))).any())


def _classification(
    cells: pa.Table,
    data: dict[str, list[Any]],
    kpis: KpiQuery,
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
        entry["loss_sq"] = entry.get("loss_sq", 0.0) + float(data["loss_sq"][i] or 0.0)
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
    entry["roc_auc_counts"] = (len(pos), len(neg))
