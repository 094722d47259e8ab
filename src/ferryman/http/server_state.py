"""What every route shares: the model pool, metrics, limits, and the predict-request frame
(request id, version headers, timing, error mapping) that all protocols go through."""

from __future__ import annotations

import logging
import math
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ferryman.core.predictions import NullSink, PredictionBatch, PredictionSink, RejectionRecord
from ferryman.core.refs import ModelRef
from ferryman.errors import (
    InvalidInputError,
    ModelUnavailableError,
    PredictionError,
    RequestError,
)
from ferryman.http.bodies import request_id
from ferryman.http.errors import error_response, status_of, v2_error_response
from ferryman.http.metrics import ServerMetrics
from ferryman.registry import is_model_failure
from ferryman.serving.batching import AnswerObserver, Runner
from ferryman.serving.codec import ModelInput
from ferryman.serving.pool import ModelPool
from ferryman.serving.served import ModelCall, ServedVersion

log = logging.getLogger("ferryman.http")

DEFAULT_MAX_BODY = 10 * 1024 * 1024
REF_CACHE_SIZE = 1024


@dataclass(frozen=True, slots=True)
class HttpSettings:
    max_body_size: int = DEFAULT_MAX_BODY
    sagemaker_model: str | None = None


class Exchange:
    """One prediction request in flight: its id, the version answering, its headers."""

    __slots__ = (
        "accepted",
        "endpoint",
        "headers",
        "logged_id",
        "model",
        "number",
        "request_id",
        "rows",
        "started",
        "version",
    )

    def __init__(self, request: Request, endpoint: str) -> None:
        self.started = time.perf_counter()
        self.endpoint = endpoint
        self.request_id = request_id(request)
        self.logged_id = self.request_id  # the id the prediction log keeps (V2: the body's)
        self.headers = {"x-request-id": self.request_id}
        # set only once a served model answers: names from request paths never become metric
        # labels, so junk URLs cannot grow the metrics without bound
        self.model = ""
        self.version = ""
        self.number = 0
        self.rows = 0
        self.accepted: Mapping[tuple[str, str], int] | None = None

    def took(self, item: ModelInput) -> None:
        """The request's checked rows: their count, and the values let through by policy."""
        self.rows = item.count
        self.accepted = item.accepted

    def answered_by(self, runner: Runner) -> None:
        self.model = runner.served.name
        self.number = runner.served.number
        self.version = str(self.number)
        self.headers["x-model-version"] = self.version


Handler = Callable[[Exchange], Awaitable[Response]]


class _Untagged:
    """Stands in for the exchange of a request predicted without one: an id of its own, no
    latency (NaN, stored as null)."""

    __slots__ = ("logged_id",)
    endpoint = "unknown"
    started = math.nan

    def __init__(self) -> None:
        self.logged_id = f"untagged-{uuid.uuid4().hex}"


def _request_fields(
    tags: Sequence[Any], finished: float
) -> tuple[tuple[str, ...], tuple[float, ...], tuple[str, ...]]:
    """The ids, latencies (ms, to ``finished``) and endpoints of the exchanges ``tags``."""
    return (
        tuple([e.logged_id for e in tags]),
        tuple([(finished - e.started) * 1000.0 for e in tags]),
        tuple([e.endpoint for e in tags]),
    )


class ServerState:
    def __init__(
        self,
        pool: ModelPool,
        metrics: ServerMetrics,
        settings: HttpSettings | None = None,
        sink: PredictionSink | None = None,
    ) -> None:
        self.pool = pool
        self.metrics = metrics
        self.settings = settings or HttpSettings()
        self.sink: PredictionSink = sink or NullSink()
        self._sink_is_null = isinstance(self.sink, NullSink)  # monitoring off: build nothing
        self._refs: dict[str, ModelRef] = {}

    @property
    def answer_observer(self) -> AnswerObserver | None:
        """What the model pool's runners call with every answered model call (None when
        monitoring is off: nothing is built then)."""
        return None if self._sink_is_null else self.log_call

    def log_call(self, served: ServedVersion, call: ModelCall, tags: Sequence[object]) -> None:
        """Hand the requests one model call answered to the prediction sink, as one batch
        (the sink never blocks). ``tags``: the call's requests' exchanges, in order."""
        finished = time.perf_counter()
        try:
            ids, latencies, endpoints = _request_fields(tags, finished)
        except AttributeError:  # predicted without its exchange: logged, without an id
            known = [t if isinstance(t, Exchange) else _Untagged() for t in tags]
            ids, latencies, endpoints = _request_fields(known, finished)
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
                ids,
                latencies,
                endpoints,
                call.sizes,
            )
        )

    def ref(self, text: str) -> ModelRef:
        """``text`` parsed as a model reference (parsed once, then remembered)."""
        ref = self._refs.get(text)
        if ref is None:
            ref = ModelRef.parse(text, default_alias=self.pool.settings.alias)
            if len(self._refs) >= REF_CACHE_SIZE:
                self._refs.clear()
            self._refs[text] = ref
        return ref

    async def handle(
        self, request: Request, endpoint: str, handler: Handler, v2: bool = False
    ) -> Response:
        """Run ``handler`` inside the shared frame: every answer, good or bad, carries the
        request id (and the version once known), is timed and counted; errors become the
        protocol's JSON error with the table's status, never a traceback."""
        exchange = Exchange(request, endpoint)
        model_failed = False
        try:
            response = await handler(exchange)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a JSON answer
            response = self._failure(exc, exchange, v2)
            model_failed = is_model_failure(exc)
        self.metrics.observe(
            exchange.model or "-",
            exchange.version or "-",
            endpoint,
            response.status_code,
            time.perf_counter() - exchange.started,
            exchange.rows if response.status_code == 200 else 0,
            model_failed,
        )
        if exchange.accepted and response.status_code == 200:
            self.metrics.accepted(exchange.model, exchange.accepted)
        return response

    def _failure(self, exc: Exception, exchange: Exchange, v2: bool) -> Response:
        status, kind = status_of(exc)
        if is_model_failure(exc):
            kind = "model_failed"  # the model's fault, though the caller gets a 422
        if isinstance(exc, ModelUnavailableError):  # a served model: its name is a fair label
            exchange.model, exchange.version = exc.name, str(exc.version)
        if isinstance(exc, InvalidInputError | RequestError) and exchange.model:
            self._reject(exc, exchange)
        if status == 500 and not isinstance(exc, PredictionError):
            log.error(
                "request %s to %s failed", exchange.request_id, exchange.endpoint, exc_info=exc
            )
        elif isinstance(exc, PredictionError):
            log.error("request %s: %s", exchange.request_id, exc, exc_info=exc.__cause__ or exc)
        self.metrics.error(exchange.model or "-", exchange.version or "-", exchange.endpoint, kind)
        if v2:
            return v2_error_response(exc, exchange.request_id, exchange.headers)
        return error_response(exc, exchange.request_id, exchange.headers)

    def _reject(self, exc: Exception, exchange: Exchange) -> None:
        """A refused request of a served model goes to the sink: data quality counts them."""
        found = getattr(exc, "problems", None) or []
        problems = tuple(
            (getattr(p, "row", None), getattr(p, "column", None), str(getattr(p, "kind", "")))
            for p in found
        )
        self.sink.reject(
            RejectionRecord(
                model=exchange.model,
                version=exchange.number,
                request_id=exchange.request_id,
                at=time.time(),
                source=exchange.endpoint,
                problems=problems or ((None, None, "malformed"),),
            )
        )
