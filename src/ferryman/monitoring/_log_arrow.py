"""Records to Arrow tables, done in the writer thread: many records, one vectorised table."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ferryman.core.predictions import RejectionRecord
from ferryman.monitoring._log_layout import TS_TYPE, label_text, row_keys
from ferryman.monitoring._log_pending import PendingRows

PROBA_PREFIX = "proba__"
FEATURE_PREFIX = "feature__"
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


def predictions_table(pending: PendingRows) -> pa.Table:
    """One Arrow table for the pending records of one layout (model version, columns,
    classes, presence of probabilities and kind of inputs: the log buffers them so)."""
    sizes = pending.sizes
    counts = np.array(sizes, dtype=np.int64)
    total = int(counts.sum())
    single = bool((counts == 1).all())  # one row per request, the usual case: no repeats

    def per_row(values: np.ndarray) -> np.ndarray:
        return values if single else np.repeat(values, counts)

    columns: dict[str, pa.Array] = {}
    ids = pending.request_ids
    repeated = ids if single else np.repeat(np.array(ids, dtype=object), counts)
    request_ids = pa.array(repeated, pa.string())
    rows = _rows(pending.row_ids, counts, total)
    columns["key"] = pa.array(row_keys(request_ids, rows), pa.int64())
    columns["request_id"] = request_ids
    columns["row"] = rows
    micros = per_row(np.round(np.array(pending.ats, dtype=np.float64) * 1e6).astype(np.int64))
    columns["ts"] = pa.array(micros, pa.int64()).cast(TS_TYPE)
    columns["source"] = pa.array(per_row(np.array(pending.sources, dtype=object)), pa.string())
    latencies = per_row(np.array(pending.latencies, dtype=np.float64))
    columns["latency_ms"] = pa.array(latencies, pa.float64())
    predictions = _concat_1d(pending.predictions)
    columns["prediction"] = _arrow(predictions)
    classes = pending.classes
    proba = None
    if pending.has_probabilities and classes is not None:
        proba = _stack(pending.probabilities, sizes).astype(np.float64, copy=False)
    columns["score"] = _score(predictions, proba, classes, total)
    if proba is not None and classes is not None:
        for j, cls in enumerate(classes):
            columns[proba_column(cls)] = pa.array(proba[:, j], pa.float64())
    columns.update(_features(pending.columns, pending.inputs, sizes, total))
    return pa.table(columns)


def _rows(row_ids: Sequence[Any], counts: np.ndarray, total: int) -> pa.Array:
    """Row ids as text: the given ids, else the row's position within its request."""
    if all(ids is None for ids in row_ids):
        starts = np.repeat(np.cumsum(counts) - counts, counts)
        return pa.array(np.arange(total, dtype=np.int64) - starts).cast(pa.string())
    parts = []
    for ids, count in zip(row_ids, counts, strict=True):
        if ids is None:
            parts.append(np.arange(count).astype(object))
        else:
            parts.append(np.asarray(ids, dtype=object).reshape(-1))
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
    if proba is None or classes is None or proba.shape[1] == 0:
        return pa.nulls(total, pa.float64())
    return pa.array(score_values(predictions, proba, classes), pa.float64())


def score_values(predictions: np.ndarray, proba: np.ndarray, classes: Any) -> np.ndarray:
    """The log's ``score``: the probability of the positive class (binary) or of the
    predicted class (multiclass). Prediction drift compares it with the same on training."""
    if proba.shape[1] == 2:
        return proba[:, 1]
    index = pd.Index([label_text(c) for c in classes]).get_indexer(
        pd.Index([label_text(p) for p in predictions])
    )
    index = np.where(index >= 0, index, proba.argmax(axis=1))
    return proba[np.arange(len(proba)), index]


def _features(
    names: Sequence[str], inputs: Sequence[Any], sizes: Sequence[int], total: int
) -> dict[str, pa.Array]:
    out: dict[str, pa.Array] = {}
    if isinstance(inputs[0], pd.DataFrame):
        frame = pd.concat(inputs, ignore_index=True) if len(inputs) > 1 else inputs[0]
        for name in names:
            if name in frame.columns:
                out[feature_column(name)] = _arrow(frame[name].to_numpy())
            else:
                out[feature_column(name)] = pa.nulls(total)
        return out
    matrix = _stack(inputs, sizes)
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
