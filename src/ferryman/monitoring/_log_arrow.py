"""Records to Arrow tables, done in the writer thread: many records, one vectorised table."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ferryman.core.predictions import PredictionRecord, RejectionRecord
from ferryman.monitoring._log_layout import label_text, row_keys

PROBA_PREFIX = "proba__"
FEATURE_PREFIX = "feature__"
TS_TYPE = pa.timestamp("us", tz="UTC")
# names the log itself uses (and the hive partition keys): a feature so named gets a prefix
RESERVED = frozenset(
    {"key", "request_id", "row", "ts", "source", "latency_ms", "prediction", "score"}
    | {"model", "version", "day"}
)


def feature_column(name: str) -> str:
    """The log column of an input feature: its own name unless the log uses that name."""
    if name in RESERVED or name.startswith((PROBA_PREFIX, FEATURE_PREFIX)):
        return f"{FEATURE_PREFIX}{name}"
    return name


def proba_column(cls: Any) -> str:
    return f"{PROBA_PREFIX}{label_text(cls)}"


def group_key(record: PredictionRecord) -> tuple[Any, ...]:
    """Records with equal keys share one table layout."""
    return (
        record.columns,
        record.classes,
        record.probabilities is not None,
        isinstance(record.inputs, pd.DataFrame),
    )


def predictions_table(records: Sequence[PredictionRecord]) -> pa.Table:
    """One Arrow table for records of one model version and one layout (see ``group_key``)."""
    first = records[0]
    counts = np.fromiter((len(r.predictions) for r in records), dtype=np.int64, count=len(records))
    total = int(counts.sum())
    columns: dict[str, pa.Array] = {}
    request_ids = np.repeat(np.array([r.request_id for r in records], dtype=object), counts)
    rows = _rows(records, counts, total)
    columns["key"] = pa.array(row_keys(request_ids, rows.to_pylist()), pa.int64())
    columns["request_id"] = pa.array(request_ids, pa.string())
    columns["row"] = rows
    at = np.fromiter((r.at for r in records), dtype=np.float64, count=len(records))
    micros = np.repeat(np.round(at * 1e6).astype(np.int64), counts)
    columns["ts"] = pa.array(micros, pa.int64()).cast(TS_TYPE)
    columns["source"] = pa.array(
        np.repeat(np.array([r.source for r in records], dtype=object), counts), pa.string()
    )
    latency = np.fromiter((r.latency_ms for r in records), dtype=np.float64, count=len(records))
    columns["latency_ms"] = pa.array(np.repeat(latency, counts), pa.float64())
    predictions = _concat_1d([r.predictions for r in records])
    columns["prediction"] = _arrow(predictions)
    proba = None
    if first.probabilities is not None and first.classes is not None:
        proba = _stack(
            [r.probabilities for r in records], [len(r.predictions) for r in records]
        ).astype(np.float64, copy=False)
    columns["score"] = _score(predictions, proba, first.classes, total)
    if proba is not None and first.classes is not None:
        for j, cls in enumerate(first.classes):
            columns[proba_column(cls)] = pa.array(proba[:, j], pa.float64())
    columns.update(_features(records, total))
    return pa.table(columns)


def _rows(records: Sequence[PredictionRecord], counts: np.ndarray, total: int) -> pa.Array:
    """Row ids as text: the given ids, else the row's position within its request."""
    if all(r.row_ids is None for r in records):
        starts = np.repeat(np.cumsum(counts) - counts, counts)
        return pa.array(np.arange(total, dtype=np.int64) - starts).cast(pa.string())
    parts = []
    for record, count in zip(records, counts, strict=True):
        if record.row_ids is None:
            parts.append(np.arange(count).astype(object))
        else:
            parts.append(np.asarray(record.row_ids, dtype=object).reshape(-1))
    return pa.array([label_text(v) for v in np.concatenate(parts)], pa.string())


def _concat_1d(parts: Sequence[Any]) -> np.ndarray:
    if len(parts) > 1:
        try:  # the usual case, one 1-D array per request: a single C call
            joined = np.concatenate(parts)
        except ValueError:
            joined = None
        if joined is not None and joined.ndim == 1:
            return joined
    arrays = [np.asarray(part).reshape(-1) for part in parts]
    return np.concatenate(arrays) if len(arrays) > 1 else arrays[0]


def _stack(parts: Sequence[Any], rows: Sequence[int]) -> np.ndarray:
    """Row-wise concatenation of 2-D arrays (each ``rows[i]`` x k), shaping only if needed."""
    if len(parts) > 1:
        try:  # the usual case, already 2-D: a single C call instead of a reshape per request
            joined = np.concatenate(parts)
        except ValueError:
            joined = None
        if joined is not None and joined.ndim == 2 and len(joined) == sum(rows):
            return joined
    arrays = [np.asarray(p).reshape(n, -1) for p, n in zip(parts, rows, strict=True)]
    return np.concatenate(arrays) if len(arrays) > 1 else arrays[0]


def _arrow(values: np.ndarray) -> pa.Array:
    """Keep the type (numbers stay numbers, text text); mixed values become text."""
    if values.dtype != object:
        if values.dtype.kind in "US":
            return pa.array(values.astype(object), pa.string())
        return pa.array(values)
    try:
        return pa.array(values, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([None if v is None else str(v) for v in values], pa.string())


def _score(predictions: np.ndarray, proba: np.ndarray | None, classes: Any, total: int) -> pa.Array:
    """Probability of the positive class (binary) or of the predicted class; null otherwise."""
    if proba is None or classes is None or proba.shape[1] == 0:
        return pa.nulls(total, pa.float64())
    if proba.shape[1] == 2:
        return pa.array(proba[:, 1], pa.float64())
    index = pd.Index([label_text(c) for c in classes]).get_indexer(
        pd.Index([label_text(p) for p in predictions])
    )
    index = np.where(index >= 0, index, proba.argmax(axis=1))
    return pa.array(proba[np.arange(total), index], pa.float64())


def _features(records: Sequence[PredictionRecord], total: int) -> dict[str, pa.Array]:
    names = records[0].columns
    out: dict[str, pa.Array] = {}
    if isinstance(records[0].inputs, pd.DataFrame):
        frames = [r.inputs for r in records]
        frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        for name in names:
            if name in frame.columns:
                out[feature_column(name)] = _arrow(frame[name].to_numpy())
            else:
                out[feature_column(name)] = pa.nulls(total)
        return out
    matrix = _stack([r.inputs for r in records], [len(r.predictions) for r in records])
    if matrix.dtype != object:
        matrix = np.ascontiguousarray(matrix.T)
        for j, name in enumerate(names):
            out[feature_column(name)] = pa.array(matrix[j])
        return out
    for j, name in enumerate(names):
        out[feature_column(name)] = _arrow(matrix[:, j])
    return out


def rejections_table(records: Sequence[RejectionRecord]) -> pa.Table:
    """One row per problem: request_id, ts, version, source, row, column, kind."""
    request_ids, micros, versions, sources, rows, columns, kinds = [], [], [], [], [], [], []
    for record in records:
        stamp = round(record.at * 1e6)
        for row, column, kind in record.problems or ((None, None, "unknown"),):
            request_ids.append(record.request_id)
            micros.append(stamp)
            versions.append(record.version)
            sources.append(record.source)
            rows.append(row)
            columns.append(column)
            kinds.append(kind)
    return pa.table(
        {
            "request_id": pa.array(request_ids, pa.string()),
            "ts": pa.array(micros, pa.int64()).cast(TS_TYPE),
            "version": pa.array(versions, pa.int64()),
            "source": pa.array(sources, pa.string()),
            "row": pa.array(rows, pa.int64()),
            "column": pa.array(columns, pa.string()),
            "kind": pa.array(kinds, pa.string()),
        }
    )
