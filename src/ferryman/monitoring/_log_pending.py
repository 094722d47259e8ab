"""Rows waiting for the log's writer, kept as columns per table layout.

``PredictionLog.record`` runs on the request path. Keeping each request's record object until
the next flush would hold thousands of garbage-collected objects alive at once and set off
collections the server would not otherwise run; appending the record's fields to a few
long lists costs less and leaves the record itself to be freed at once. The writer then turns
each buffer into a table without a pass over per-request objects.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np

from ferryman.core.predictions import PredictionRecord

SECONDS_PER_DAY = 86400
# the per-record lists of a buffer, in the order ``add`` fills them
PER_RECORD = ("request_ids", "ats", "latencies", "sources", "inputs", "predictions",
              "probabilities", "row_ids", "sizes")  # fmt: skip


def layout_key(record: PredictionRecord) -> Hashable:
    """Records with the same key share one table layout and partition (but for the day).

    ``columns`` and ``classes`` count by identity: a server passes the same tuples for
    every request of a version, and a buffer keeps them alive, so an id is never reused
    while its buffer exists. Equal tuples that are different objects only make two buffers.
    """
    return (
        record.model,
        record.version,
        id(record.columns),
        id(record.classes),
        record.probabilities is None,
        type(record.inputs),
    )


class PendingRows:
    """The records of one layout key, as columns, in arrival order."""

    __slots__ = (
        "ats",
        "classes",
        "columns",
        "inputs",
        "key",
        "latencies",
        "model",
        "predictions",
        "probabilities",
        "request_ids",
        "row_ids",
        "rows",
        "sizes",
        "sources",
        "version",
    )

    def __init__(self, key: Hashable, first: PredictionRecord) -> None:
        self.key = key
        self.model = first.model
        self.version = first.version
        self.columns = first.columns
        self.classes = first.classes
        self.request_ids: list[str] = []
        self.ats: list[float] = []
        self.latencies: list[float] = []
        self.sources: list[str] = []
        self.inputs: list[Any] = []
        self.predictions: list[Any] = []
        self.probabilities: list[Any] = []
        self.row_ids: list[Any] = []
        self.sizes: list[int] = []
        self.rows = 0

    def add(self, record: PredictionRecord, rows: int) -> None:
        self.request_ids.append(record.request_id)
        self.ats.append(record.at)
        self.latencies.append(record.latency_ms)
        self.sources.append(record.source)
        self.inputs.append(record.inputs)
        self.predictions.append(record.predictions)
        self.probabilities.append(record.probabilities)
        self.row_ids.append(record.row_ids)
        self.sizes.append(rows)
        self.rows += rows

    def __len__(self) -> int:
        return len(self.sizes)

    @property
    def has_probabilities(self) -> bool:
        return bool(self.probabilities) and self.probabilities[0] is not None

    def take(self, index: Sequence[int]) -> PendingRows:
        """The records at ``index`` (in that order, at least one), as a buffer of their own."""
        out = PendingRows(self.key, self._record(index[0]))
        for name in PER_RECORD:
            values = getattr(self, name)
            setattr(out, name, [values[i] for i in index])
        out.rows = sum(out.sizes)
        return out

    def by_day(self) -> list[PendingRows]:
        """One buffer per UTC day of the records' times (almost always just this one)."""
        days = np.floor_divide(np.asarray(self.ats, dtype=np.float64), SECONDS_PER_DAY)
        if days.min() == days.max():
            return [self]
        return [self.take(np.flatnonzero(days == day).tolist()) for day in np.unique(days)]

    def put_before(self, later: PendingRows) -> None:
        """Append ``later``'s records after this buffer's (a failed write goes back first)."""
        for name in PER_RECORD:
            getattr(self, name).extend(getattr(later, name))
        self.rows += later.rows

    def _record(self, i: int) -> PredictionRecord:
        return PredictionRecord(
            model=self.model,
            version=self.version,
            request_id=self.request_ids[i],
            at=self.ats[i],
            latency_ms=self.latencies[i],
            source=self.sources[i],
            columns=self.columns,
            inputs=self.inputs[i],
            predictions=self.predictions[i],
            probabilities=self.probabilities[i],
            classes=self.classes,
            row_ids=self.row_ids[i],
        )
