"""What serving hands the prediction sink: each model call as one batch of its requests, and
each refused request.

The server's runners call :meth:`CallRecorder.record_call` once per model call with the tags
of the requests it answered; the data plane calls :meth:`CallRecorder.reject` for a request
its checks refused. With monitoring off (a :class:`NullSink`) nothing is built.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable, Sequence

from ferryman.core.predictions import (
    DurableSink,
    NullSink,
    PredictionBatch,
    PredictionSink,
    RejectionRecord,
    RequestTag,
)
from ferryman.serving.served import ModelCall, ServedVersion

# told of every model call once it has answered: the version, the call (its stacked input and
# whole output) and the tags its requests were predicted with, in order
AnswerObserver = Callable[[ServedVersion, ModelCall, Sequence[RequestTag]], None]


class Untagged:
    """The tag of a request predicted without one: an id of its own, no latency (NaN, stored
    as null), no endpoint."""

    __slots__ = ("logged_id",)
    endpoint = "unknown"
    started = math.nan

    def __init__(self) -> None:
        self.logged_id = f"untagged-{uuid.uuid4().hex}"

    @property
    def request_id(self) -> str:
        return self.logged_id


class CallRecorder:
    """Hands what a version answered (or refused) to ``sink``; the sink never blocks."""

    def __init__(self, sink: PredictionSink) -> None:
        self.sink = sink
        self.is_null = isinstance(sink, NullSink)  # monitoring off: build nothing
        # a durable sink: the answers of a call wait until its rows are on disk
        self.barrier: Callable[[], None] | None = (
            sink.sync if isinstance(sink, DurableSink) and sink.is_durable else None
        )

    @property
    def observer(self) -> AnswerObserver | None:
        """What a runner calls with every answered model call (None when nothing is kept)."""
        return None if self.is_null else self.record_call

    def record_call(
        self, served: ServedVersion, call: ModelCall, tags: Sequence[RequestTag]
    ) -> None:
        """The requests one model call answered, as one batch. ``tags``: theirs, in order."""
        finished = time.perf_counter()
        item = call.input
        self.sink.record_batch(
            PredictionBatch(
                served.name,
                served.number,
                time.time(),
                served.codec.columns,
                item.rows if item.rows is not None else item.frame,
                call.output.labels,
                call.output.proba,
                served.classes,
                tuple([t.logged_id for t in tags]),
                tuple([(finished - t.started) * 1000.0 for t in tags]),
                tuple([t.endpoint for t in tags]),
                call.sizes,
            )
        )

    def reject(self, served: ServedVersion, exc: Exception, tag: RequestTag) -> None:
        """A request of ``served`` refused by its checks (``exc``): data quality counts them,
        each problem as (row, column, kind)."""
        if self.is_null:
            return
        found = getattr(exc, "problems", None) or []
        problems = tuple(
            (getattr(p, "row", None), getattr(p, "column", None), str(getattr(p, "kind", "")))
            for p in found
        )
        self.sink.reject(
            RejectionRecord(
                model=served.name,
                version=served.number,
                request_id=tag.request_id,
                at=time.time(),
                source=tag.endpoint,
                problems=problems or ((None, None, "malformed"),),
            )
        )
