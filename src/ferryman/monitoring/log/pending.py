"""Batches waiting for the log's writer: one plain tuple each, made columns by the writer.

``PredictionLog.record_batch`` runs on the request path (a server's event loop), where every
touch of memory counts several times what it costs in a loop of its own. The server hands it
one :class:`~ferryman.core.predictions.PredictionBatch` per model call (its micro-batch: all
the requests' rows stacked as the model saw them), and the log keeps that batch's fields as
one plain tuple (``BATCH_FIELDS`` order) in one list, under one lock, and nothing more. A
plain tuple of text, numbers, tuples of those and NumPy arrays is untracked by the garbage
collector's first young pass (a subclass of tuple is not), so thousands of waiting batches
never reach its older generations. So the request path reads the tuple by position (the
``*_AT`` constants), and the writer thread, when it sorts the batches by table layout
(``PendingRows``), reads each as a :class:`PendingBatch`, by name, and turns them into
columns (``arrow``).
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import operator
from collections.abc import Callable, Hashable, Sequence
from typing import Any, NamedTuple

import numpy as np

from ferryman.core.predictions import PredictionBatch

SECONDS_PER_DAY = 86400
# ``PredictionBatch``'s fields in order, and ``batch_fields(batch)``: them as a plain tuple
BATCH_FIELDS = tuple(f.name for f in dataclasses.fields(PredictionBatch))
batch_fields: Callable[[PredictionBatch], tuple[Any, ...]] = operator.attrgetter(*BATCH_FIELDS)
Batch = tuple[Any, ...]  # a PredictionBatch's fields, in BATCH_FIELDS order
# positions in a batch's fields that the request path reads
(INPUTS_AT, PREDICTIONS_AT, PROBABILITIES_AT, REQUEST_IDS_AT, LATENCIES_AT, SOURCES_AT,
 SIZES_AT, ROW_IDS_AT) = (
    BATCH_FIELDS.index(name)
    for name in ("inputs", "predictions", "probabilities", "request_ids", "latencies_ms",
                 "sources", "sizes", "row_ids")
)  # fmt: skip


class PendingBatch(NamedTuple):
    """A waiting batch's fields read by name: ``PredictionBatch``'s, in the same order."""

    model: str
    version: int
    at: float
    columns: tuple[str, ...]
    inputs: Any
    predictions: Any
    probabilities: Any
    classes: tuple[Any, ...] | None
    request_ids: tuple[str, ...]
    latencies_ms: tuple[float, ...]
    sources: tuple[str, ...]
    sizes: tuple[int, ...]
    row_ids: tuple[Any, ...] | None


# a queued tuple as a PendingBatch: one C call, no Python frame, for every batch of a flush
as_pending: Callable[[Batch], PendingBatch] = functools.partial(tuple.__new__, PendingBatch)


def layout_key(batch: PendingBatch) -> Hashable:
    """Batches with the same key share one table layout and partition (but for the day):
    model, version, columns, classes, presence of probabilities and kind of inputs.

    ``columns`` and ``classes`` count by identity: a server passes the same tuples for
    every batch of a version, and a waiting batch keeps them alive, so an id is never
    reused meanwhile. Equal tuples that are different objects only make two tables.
    """
    return (
        batch.model,
        batch.version,
        id(batch.columns),
        id(batch.classes),
        batch.probabilities is None,
        type(batch.inputs),
    )


class PendingRows:
    """The batches of one layout key, in arrival order (``chunks``: their fields)."""

    __slots__ = ("chunks", "key")

    def __init__(self, key: Hashable, chunks: list[PendingBatch]) -> None:
        """``chunks``: fields of batches with layout ``key`` (at least one)."""
        self.key = key
        self.chunks = chunks

    @classmethod
    def group(cls, batches: Sequence[Batch]) -> list[PendingRows]:
        """``batches`` (fields, at least one) by layout key, each in arrival order."""
        by_key: dict[Hashable, list[PendingBatch]] = {}
        for fields in batches:
            batch = as_pending(fields)
            by_key.setdefault(layout_key(batch), []).append(batch)
        return [cls(key, group) for key, group in by_key.items()]

    @property
    def model(self) -> str:
        return self.chunks[0].model

    @property
    def version(self) -> int:
        return self.chunks[0].version

    @property
    def first_at(self) -> float:
        return self.chunks[0].at

    def __len__(self) -> int:
        """Rows."""
        return sum(len(chunk.predictions) for chunk in self.chunks)

    def field(self, name: str) -> list[Any]:
        """One field of every batch (``PendingBatch``'s name), in order."""
        return list(map(operator.attrgetter(name), self.chunks))

    def per_request(self, name: str) -> list[Any]:
        """A per-request field (``request_ids``, ``latencies_ms``, ``sources``, ``sizes``) of
        every batch's requests, flattened in order."""
        return list(itertools.chain.from_iterable(self.field(name)))

    def take(self, index: Sequence[int]) -> PendingRows:
        """The batches at ``index`` (in that order, at least one), as a buffer of their own."""
        return PendingRows(self.key, [self.chunks[i] for i in index])

    def by_day(self) -> list[PendingRows]:
        """One buffer per UTC day of the batches' times (almost always just this one)."""
        days = np.floor_divide(np.asarray(self.field("at"), dtype=np.float64), SECONDS_PER_DAY)
        if days.min() == days.max():
            return [self]
        return [self.take(np.flatnonzero(days == day).tolist()) for day in np.unique(days)]

    def put_before(self, later: PendingRows) -> None:
        """Append ``later``'s batches after this buffer's (a failed write goes back first)."""
        self.chunks.extend(later.chunks)


PER_REQUEST_AT = (REQUEST_IDS_AT, LATENCIES_AT, SOURCES_AT)


def check_batch(fields: Batch) -> int:
    """The batch's rows, or ValueError naming the part that disagrees: the per-request
    fields one entry per request, the sizes adding up to the predictions, the inputs and
    probabilities as many rows, and each request's row ids (when given) as many as its rows.
    Only ``len()`` calls: a batch that passes converts whole or not at all."""
    sizes = fields[SIZES_AT]
    requests = len(sizes)
    for at in PER_REQUEST_AT:
        if len(fields[at]) != requests:
            raise ValueError(
                f"{BATCH_FIELDS[at]} has {len(fields[at])} entries for {requests} requests"
            )
    rows = len(fields[PREDICTIONS_AT])
    if sum(sizes) != rows:
        raise ValueError(
            f"the requests' sizes add up to {sum(sizes)} rows, the batch has {rows} predictions"
        )
    for at in (INPUTS_AT, PROBABILITIES_AT):
        if fields[at] is not None and len(fields[at]) != rows:
            raise ValueError(
                f"{BATCH_FIELDS[at]} has {len(fields[at])} rows for {rows} predictions"
            )
    row_ids = fields[ROW_IDS_AT]
    if row_ids is not None:
        if len(row_ids) != requests:
            raise ValueError(f"row_ids has {len(row_ids)} entries for {requests} requests")
        for i, (ids, size) in enumerate(zip(row_ids, sizes, strict=True)):
            if ids is not None and len(ids) != size:
                raise ValueError(f"request {i} has {len(ids)} row ids for its {size} rows")
    return rows


def requests_of(fields: Batch, kept: Sequence[bool]) -> Batch:
    """The batch's fields for the ``kept`` requests only (their rows sliced to match)."""
    sizes = fields[SIZES_AT]
    take = np.flatnonzero(np.repeat(np.array(kept, dtype=bool), np.array(sizes, dtype=np.int64)))
    out = list(fields)
    for at in (*PER_REQUEST_AT, SIZES_AT, ROW_IDS_AT):
        if fields[at] is not None:
            out[at] = tuple(v for v, keep in zip(fields[at], kept, strict=True) if keep)
    inputs = fields[INPUTS_AT]
    out[INPUTS_AT] = inputs.iloc[take] if hasattr(inputs, "iloc") else np.asarray(inputs)[take]
    out[PREDICTIONS_AT] = np.asarray(fields[PREDICTIONS_AT])[take]
    if fields[PROBABILITIES_AT] is not None:
        out[PROBABILITIES_AT] = np.asarray(fields[PROBABILITIES_AT])[take]
    return tuple(out)
