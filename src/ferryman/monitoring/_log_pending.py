"""Requests waiting for the log's writer: one plain tuple each, made columns by the writer.

``PredictionLog.record_fields`` runs on the request path (a server's event loop), where every
touch of memory counts several times what it costs in a loop of its own. So it keeps the
tuple of the request's fields the server built (``RECORD_FIELDS`` order) in one list, under
one lock, and nothing more. A tuple of text, numbers and NumPy arrays is untracked by the
garbage collector's first young pass, so thousands of waiting requests never reach its older
generations (a record object per request would: they set off collections the server does not
otherwise run). Sorting the requests by table layout and turning them into columns
(``PendingRows``) is the writer thread's work.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np

from ferryman.core.predictions import RECORD_FIELDS

SECONDS_PER_DAY = 86400
# positions in a request's fields
MODEL_AT, VERSION_AT, COLUMNS_AT, INPUTS_AT, PREDICTIONS_AT, PROBABILITIES_AT, CLASSES_AT = (
    RECORD_FIELDS.index(name)
    for name in ("model", "version", "columns", "inputs", "predictions", "probabilities", "classes")
)
# the per-request lists of a buffer, filled from the fields of the same name
PER_REQUEST = {"request_ids": "request_id", "ats": "at", "latencies": "latency_ms",
               "sources": "source", "inputs": "inputs", "predictions": "predictions",
               "probabilities": "probabilities", "row_ids": "row_ids"}  # fmt: skip


def layout_key(fields: tuple[Any, ...]) -> Hashable:
    """Requests with the same key share one table layout and partition (but for the day):
    model, version, columns, classes, presence of probabilities and kind of inputs.

    ``columns`` and ``classes`` count by identity: a server passes the same tuples for
    every request of a version, and a waiting request keeps them alive, so an id is never
    reused meanwhile. Equal tuples that are different objects only make two tables.
    """
    return (
        fields[MODEL_AT],
        fields[VERSION_AT],
        id(fields[COLUMNS_AT]),
        id(fields[CLASSES_AT]),
        fields[PROBABILITIES_AT] is None,
        type(fields[INPUTS_AT]),
    )


class PendingRows:
    """The requests of one layout key, as columns, in arrival order."""

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
        "sizes",
        "sources",
        "version",
    )

    def __init__(self, key: Hashable, requests: Sequence[tuple[Any, ...]]) -> None:
        """``requests``: fields of requests with layout ``key`` (at least one)."""
        self._fill(key, list(zip(*requests, strict=True)))

    def _fill(self, key: Hashable, by_field: Sequence[Sequence[Any]]) -> None:
        self.key = key
        self.model: str = by_field[MODEL_AT][0]
        self.version: int = by_field[VERSION_AT][0]
        self.columns: tuple[str, ...] = by_field[COLUMNS_AT][0]
        self.classes: tuple[Any, ...] | None = by_field[CLASSES_AT][0]
        self.request_ids: list[str]
        self.ats: list[float]
        self.latencies: list[float]
        self.sources: list[str]
        self.inputs: list[Any]
        self.predictions: list[Any]
        self.probabilities: list[Any]
        self.row_ids: list[Any]
        for name, field in PER_REQUEST.items():
            setattr(self, name, list(by_field[RECORD_FIELDS.index(field)]))
        self.sizes: list[int] = list(map(len, self.predictions))

    @classmethod
    def group(cls, requests: Sequence[tuple[Any, ...]]) -> list[PendingRows]:
        """``requests`` (fields, at least one) by layout key, each in arrival order."""
        by_field = list(zip(*requests, strict=True))
        if _one_layout(by_field):  # the usual case, checked column by column in C loops
            out = cls.__new__(cls)
            out._fill(layout_key(requests[0]), by_field)
            return [out]
        by_key: dict[Hashable, list[tuple[Any, ...]]] = {}
        for request in requests:
            by_key.setdefault(layout_key(request), []).append(request)
        return [cls(key, group) for key, group in by_key.items()]

    def __len__(self) -> int:
        return len(self.sizes)

    @property
    def has_probabilities(self) -> bool:
        return bool(self.probabilities) and self.probabilities[0] is not None

    def take(self, index: Sequence[int]) -> PendingRows:
        """The requests at ``index`` (in that order, at least one), as a buffer of their own."""
        out = PendingRows.__new__(PendingRows)
        for name in ("key", "model", "version", "columns", "classes"):
            setattr(out, name, getattr(self, name))
        for name in (*PER_REQUEST, "sizes"):
            values = getattr(self, name)
            setattr(out, name, [values[i] for i in index])
        return out

    def by_day(self) -> list[PendingRows]:
        """One buffer per UTC day of the requests' times (almost always just this one)."""
        days = np.floor_divide(np.asarray(self.ats, dtype=np.float64), SECONDS_PER_DAY)
        if days.min() == days.max():
            return [self]
        return [self.take(np.flatnonzero(days == day).tolist()) for day in np.unique(days)]

    def put_before(self, later: PendingRows) -> None:
        """Append ``later``'s requests after this buffer's (a failed write goes back first)."""
        for name in (*PER_REQUEST, "sizes"):
            getattr(self, name).extend(getattr(later, name))

    def fields(self, i: int) -> tuple[Any, ...]:
        """The ``i``-th request's fields, in ``RECORD_FIELDS`` order."""
        shared = {
            "model": self.model,
            "version": self.version,
            "columns": self.columns,
            "classes": self.classes,
        }
        per_request = {field: getattr(self, name)[i] for name, field in PER_REQUEST.items()}
        return tuple({**shared, **per_request}[name] for name in RECORD_FIELDS)


def _one_layout(by_field: Sequence[Sequence[Any]]) -> bool:
    """Whether every request (fields transposed) has the same ``layout_key``."""
    probabilities = by_field[PROBABILITIES_AT]
    nones = sum(map(operator.is_, probabilities, itertools.repeat(None)))  # no == on arrays
    return (
        len(set(by_field[MODEL_AT])) == 1
        and len(set(by_field[VERSION_AT])) == 1
        and len(set(map(id, by_field[COLUMNS_AT]))) == 1
        and len(set(map(id, by_field[CLASSES_AT]))) == 1
        and nones in (0, len(probabilities))
        and len(set(map(type, by_field[INPUTS_AT]))) == 1
    )
