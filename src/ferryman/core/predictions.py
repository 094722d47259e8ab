"""What serving hands to monitoring: one record per answered request (or scored chunk).

Serving emits :class:`PredictionRecord` objects to a :class:`PredictionSink`; monitoring
implements the sink. Neither side imports the other; ``http`` (and the CLI) wire them.
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(slots=True)
class PredictionRecord:
    """The inputs and answers of one request, as the model saw and gave them (not frozen:
    one is built per request on the hot path, and a frozen dataclass costs three times more).

    ``inputs`` is either a 2-D NumPy array whose columns are ``columns`` or a pandas DataFrame
    holding (at least) those columns; ``predictions`` has one entry per row; ``probabilities``
    (rows x classes, aligned with ``classes``) is set for classifiers. ``row_ids`` names each row
    (batch scoring's id column); when None, rows are numbered from 0 within the request.
    """

    model: str
    version: int
    request_id: str
    at: float
    latency_ms: float
    source: str
    columns: tuple[str, ...]
    inputs: Any
    predictions: Any
    probabilities: Any = None
    classes: tuple[Any, ...] | None = None
    row_ids: Any = None

    @property
    def rows(self) -> int:
        return len(self.predictions)


# ``PredictionRecord``'s fields in order: ``PredictionSink.record_fields`` takes them as a tuple
RECORD_FIELDS = tuple(f.name for f in dataclasses.fields(PredictionRecord))
# ``fields_of(record)``: the record's fields as a plain tuple, in ``RECORD_FIELDS`` order
fields_of: Callable[[PredictionRecord], tuple[Any, ...]] = operator.attrgetter(*RECORD_FIELDS)


@dataclass(frozen=True, slots=True)
class RejectionRecord:
    """A request refused by the signature checks: each problem as (row, column, kind), where
    kind is the validation's problem kind (missing, unknown, type, null, category, ...)."""

    model: str
    version: int
    request_id: str
    at: float
    source: str
    problems: tuple[tuple[int | None, str | None, str], ...]


class PredictionSink(Protocol):
    """Where answered (and refused) requests go. Both methods return at once: they never
    block the request path (an implementation queues and may drop, counting what it drops)."""

    def record(self, record: PredictionRecord) -> None: ...

    def record_fields(self, fields: tuple[Any, ...]) -> None:
        """The same as ``record(PredictionRecord(*fields))``, for the request path: the
        fields in ``RECORD_FIELDS`` order, as a plain tuple (no object built per request;
        a sink may keep the tuple as it is)."""
        ...

    def reject(self, record: RejectionRecord) -> None: ...


class NullSink:
    """A sink that keeps nothing (monitoring off)."""

    def record(self, record: PredictionRecord) -> None:
        return None

    def record_fields(self, fields: tuple[Any, ...]) -> None:
        return None

    def reject(self, record: RejectionRecord) -> None:
        return None
