"""Batches to Arrow tables, done in the writer thread: many batches, one vectorised table."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ferryman.core.predictions import RejectionRecord
from ferryman.monitoring.log.pending import PendingRows
from ferryman.monitoring.log.scheme import (
    TS_TYPE,
    feature_column,
    label_text,
    proba_column,
    row_keys,
    score_values,
)


def predictions_table(pending: PendingRows) -> pa.Table:
    """One Arrow table for the pending batches of one layout (model version, columns,
    classes, presence of probabilities and kind of inputs: the log buffers them so)."""
    # per batch: its rows; per request: its rows (each batch's requests, in order)
    parts = pending.field("predictions")
    chunk_rows = [len(p) for p in parts]
    sizes = np.array(pending.per_request("sizes"), dtype=np.int64)
    total = int(sizes.sum())
    single = len(sizes) == total and bool((sizes == 1).all())  # a row per request: no repeats

    def per_row(values: np.ndarray) -> np.ndarray:
        return values if single else np.repeat(values, sizes)

    columns: dict[str, pa.Array] = {}
    ids = pending.per_request("request_ids")
    repeated = ids if single else np.repeat(np.array(ids, dtype=object), sizes)
    request_ids = pa.array(repeated, pa.string())
    rows = _rows(pending, sizes, total)
    columns["key"] = pa.array(row_keys(request_ids, rows), pa.int64())
    columns["request_id"] = request_ids
    columns["row"] = rows
    micros = np.round(np.array(pending.field("at"), dtype=np.float64) * 1e6).astype(np.int64)
    columns["ts"] = pa.array(np.repeat(micros, chunk_rows), pa.int64()).cast(TS_TYPE)
    sources = per_row(np.array(pending.per_request("sources"), dtype=object))
    columns["source"] = pa.array(sources, pa.string())
    latencies = per_row(np.array(pending.per_request("latencies_ms"), dtype=np.float64))
    columns["latency_ms"] = pa.array(latencies, pa.float64(), from_pandas=True)  # NaN: null
    predictions = _concat_1d(parts)
    columns["prediction"] = _arrow(predictions)
    first = pending.chunks[0]
    classes = first.classes
    proba = None
    if first.probabilities is not None and classes is not None:
        proba = _stack(pending.field("probabilities"), chunk_rows).astype(np.float64, copy=False)
    columns["score"] = _score(predictions, proba, classes, total)
    if proba is not None and classes is not None:
        for j, cls in enumerate(classes):
            columns[proba_column(cls)] = pa.array(proba[:, j], pa.float64())
    inputs = pending.field("inputs")
    columns.update(_features(first.columns, inputs, chunk_rows, total))
    return pa.table(columns)


def _rows(pending: PendingRows, sizes: np.ndarray, total: int) -> pa.Array:
    """Row ids as text: the given ids, else the row's position within its request."""
    given = pending.field("row_ids")
    if all(ids is None for ids in given):
        starts = np.repeat(np.cumsum(sizes) - sizes, sizes)
        return pa.array(np.arange(total, dtype=np.int64) - starts).cast(pa.string())
    per_request = itertools.chain.from_iterable(
        itertools.repeat(None, len(chunk.sizes)) if ids is None else ids
        for chunk, ids in zip(pending.chunks, given, strict=True)
    )
    parts = []
    for ids, count in zip(per_request, sizes.tolist(), strict=True):
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
