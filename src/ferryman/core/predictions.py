"""What serving hands to monitoring: one record per answered request, scored chunk, or
micro-batch of requests answered by one model call.

Serving emits :class:`PredictionRecord` and :class:`PredictionBatch` objects to a
:class:`PredictionSink`; monitoring implements the sink. Neither side imports the other; the
server's composition (``ferryman.server``) and the CLI give serving the sink. A request names
itself to the log through a :class:`RequestTag`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

# the longest request id a request may name (X-Request-Id, V2's "id", feedback's request_id)
MAX_REQUEST_ID = 128


class RequestTag(Protocol):
    """What the prediction log keeps of a request besides its rows: the id its rows are
    logged under, the id its answer carries (a refused request is counted under it), when it
    arrived (``time.perf_counter()``; NaN when unknown) and the endpoint that took it."""

    @property
    def logged_id(self) -> str: ...

    @property
    def request_id(self) -> str: ...

    @property
    def started(self) -> float: ...

    @property
    def endpoint(self) -> str: ...


@dataclass(slots=True)
class PredictionRecord:
    """The inputs and answers of one request, as the model saw and gave them.

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


@dataclass(slots=True)
class PredictionBatch:
    """Requests one model call answered together (a server's micro-batch), as one record.

    ``inputs``, ``predictions`` and ``probabilities`` are as in :class:`PredictionRecord` but
    hold every request's rows, stacked in request order: request ``i`` owns the next
    ``sizes[i]`` rows. The per-request tuples (``request_ids``, ``latencies_ms``, ``sources``,
    ``sizes`` and, when given, ``row_ids``) have one entry per request; ``at`` is when the call
    answered, the same for all of them.
    """

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
    row_ids: tuple[Any, ...] | None = None

    @property
    def rows(self) -> int:
        return len(self.predictions)

    @classmethod
    def of(cls, record: PredictionRecord) -> PredictionBatch:
        """``record`` as a batch of one request."""
        return cls(
            record.model,
            record.version,
            record.at,
            record.columns,
            record.inputs,
            record.predictions,
            record.probabilities,
            record.classes,
            (record.request_id,),
            (record.latency_ms,),
            (record.source,),
            (record.rows,),
            None if record.row_ids is None else (record.row_ids,),
        )


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

    def record_batch(self, batch: PredictionBatch) -> None:
        """The requests of one model call at once (what a server's micro-batcher answered
        together): one call per batch instead of one per request."""
        ...

    def reject(self, record: RejectionRecord) -> None: ...


@runtime_checkable
class DurableSink(PredictionSink, Protocol):
    """A sink that can say when what it was given is on disk: ``sync`` blocks (call it off
    the event loop) until every batch recorded before the call is safely stored.
    ``is_durable`` False: ``sync`` has nothing to wait for and is not called."""

    is_durable: bool

    def sync(self) -> None: ...


class NullSink:
    """A sink that keeps nothing (monitoring off)."""

    def record(self, record: PredictionRecord) -> None:
        return None

    def record_batch(self, batch: PredictionBatch) -> None:
        return None

    def reject(self, record: RejectionRecord) -> None:
        return None
