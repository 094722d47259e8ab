"""The prediction log's scheme: its folders, partitions, columns and row keys.

The writer, the feedback store and every reader import these names from here; none of them
imports another's module to learn how the log is laid out. Every folder is hive-style so a
query can prune by folder::

    predictions/model=NAME/version=N/day=YYYY-MM-DD/<segment>.parquet
    rejections/model=NAME/day=YYYY-MM-DD/<segment>.parquet
    feedback/model=NAME/day=YYYY-MM-DD/<segment>.parquet

A predictions file holds ``key`` (see :func:`row_keys`), ``request_id``, ``row``, ``ts``,
``source``, ``latency_ms``, ``prediction``, ``score``, a ``proba__<class>`` column per class and
the features by name (``feature__<name>`` when the log uses that name itself).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

PREDICTIONS = "predictions"
REJECTIONS = "rejections"
FEEDBACK = "feedback"
BASE_COLUMNS = ("ts", "version", "request_id", "row", "latency_ms", "prediction", "score")
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


def label_text(value: Any) -> str:
    """The text a class label is stored and compared as: ``1``, ``1.0`` and ``True`` differ
    only in type, so integral numbers are written as integers and booleans as true/false."""
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        number = float(value)
        if math.isfinite(number) and number.is_integer():
            return str(int(number))
        return repr(number)
    return str(value)


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


TS_TYPE = pa.timestamp("us", tz="UTC")  # of every time column the log writes
FNV_OFFSET = np.uint64(0xCBF29CE484222325)
FNV_PRIME = np.uint64(0x100000001B3)
KEY_SEPARATOR = 0x1F
FEW_ROWS = 16


def row_keys(request_ids: Sequence[str] | pa.Array, rows: Sequence[str] | pa.Array) -> np.ndarray:
    """The 64-bit join key of each (request_id, row): FNV-1a (64-bit) of the UTF-8 bytes of
    ``request_id + "\x1f" + row``, as a signed integer.

    Stable across versions, processes and machines (predictions and feedback written years
    apart must meet); joining on one integer instead of two strings makes KPI queries several
    times faster. Two different rows share a key with a chance of about n² / 2⁶⁴. Computed a
    byte position at a time over all rows at once (the writer hashes every logged row): pass
    Arrow string arrays when you have them, to skip a conversion.
    """
    ids, row_texts = _strings(request_ids), _strings(rows)
    if len(ids) != len(row_texts):
        raise ValueError(f"{len(ids)} request ids but {len(row_texts)} rows")
    digest = np.full(len(ids), FNV_OFFSET, dtype=np.uint64)
    with np.errstate(over="ignore"):  # the multiplication is modulo 2**64 by definition
        digest = _fnv_feed(digest, ids)
        digest = (digest ^ np.uint64(KEY_SEPARATOR)) * FNV_PRIME
        digest = _fnv_feed(digest, row_texts)
    return digest.view(np.int64)


def _strings(values: Sequence[str] | pa.Array) -> pa.StringArray:
    array = values if isinstance(values, pa.Array) else pa.array(values, pa.string())
    if not pa.types.is_string(array.type):
        array = array.cast(pa.string())
    if array.null_count:
        raise ValueError("request ids and rows of the log are never null")
    return array


def _fnv_feed(digest: np.ndarray, texts: pa.StringArray) -> np.ndarray:
    """Each row's FNV-1a state after the bytes of its text, a byte position at a time over
    all rows of one length at once (memory: the texts' own bytes, whatever their lengths)."""
    count = len(texts)
    _, offsets_buffer, data_buffer = texts.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int32)[texts.offset : texts.offset + count + 1]
    lengths = np.diff(offsets)
    if count == 0 or data_buffer is None or not lengths.any():
        return digest
    data = np.frombuffer(data_buffer, dtype=np.uint8)
    width = int(lengths[0])
    if bool((lengths == width).all()):  # the usual case (generated ids): one reshape
        matrix = data[offsets[0] : offsets[0] + count * width].reshape(count, width)
        return _fnv_columns(digest, matrix)
    order = np.argsort(lengths, kind="stable")
    for rows in np.split(order, np.flatnonzero(np.diff(lengths[order])) + 1):
        width = int(lengths[rows[0]])
        if not width:
            continue
        if len(rows) < FEW_ROWS:  # a few odd lengths (a long id): byte loops beat array calls
            for row in rows.tolist():
                text = data[offsets[row] : offsets[row + 1]].tobytes()
                digest[row] = _fnv_bytes(int(digest[row]), text)
            continue
        matrix = data[offsets[rows][:, None] + np.arange(width)]
        digest[rows] = _fnv_columns(digest[rows], matrix)
    return digest


def _fnv_bytes(state: int, text: bytes) -> int:
    prime, mask = int(FNV_PRIME), (1 << 64) - 1
    for byte in text:
        state = ((state ^ byte) * prime) & mask
    return state


def _fnv_columns(digest: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    for j in range(matrix.shape[1]):
        digest = (digest ^ matrix[:, j]) * FNV_PRIME
    return digest


def day_of(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


def days_between(start: datetime, end: datetime) -> set[str]:
    """The day folder names a window [start, end) touches."""
    first, last = start.astimezone(UTC).date(), end.astimezone(UTC).date()
    out: set[str] = set()
    current = first
    while current <= last:
        out.add(current.isoformat())
        current += timedelta(days=1)
    return out


def parse_partition(name: str, key: str) -> str | None:
    prefix = f"{key}="
    return name[len(prefix) :] if name.startswith(prefix) else None


def parse_day(name: str) -> date | None:
    value = parse_partition(name, "day")
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None
