"""What every route shares: the data plane over the model pool, metrics, limits, and the
predict-request frame (request id, version headers, timing, error mapping) that all protocols
go through."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from ferryman.access import Caller
from ferryman.core.names import check_name
from ferryman.core.refs import ModelRef
from ferryman.errors import ModelNotFoundError, ModelUnavailableError, PredictionError
from ferryman.http.access import caller_of
from ferryman.http.bodies import CLIENT_CLOSED, check_charset, read_body, request_id
from ferryman.http.errors import error_response, status_of, v2_error_response
from ferryman.http.metrics import ServerMetrics
from ferryman.registry import is_model_failure
from ferryman.serving.dataplane import Answer, DataPlane
from ferryman.serving.pool import not_served
from ferryman.serving.served import ServedVersion

log = logging.getLogger("ferryman.http")

DEFAULT_MAX_BODY = 10 * 1024 * 1024
REF_CACHE_SIZE = 1024


@dataclass(frozen=True, slots=True)
class HttpSettings:
    max_body_size: int = DEFAULT_MAX_BODY
    sagemaker_model: str | None = None


class Exchange:
    """One prediction request in flight: its id, the version answering, its headers. It is
    the request's tag in the prediction log (``core.predictions.RequestTag``)."""

    __slots__ = (
        "accepted",
        "body_limit",
        "endpoint",
        "headers",
        "logged_id",
        "model",
        "number",
        "request",
        "request_id",
        "rows",
        "started",
        "version",
    )

    def __init__(self, request: Request, endpoint: str, body_limit: int = DEFAULT_MAX_BODY) -> None:
        self.started = time.perf_counter()
        self.request = request
        self.endpoint = endpoint
        self.body_limit = body_limit
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

    async def body(self) -> bytes:
        """The request's whole body, or 413 once it passes the server's limit (415 when its
        Content-Type names a charset other than UTF-8)."""
        check_charset(self.request)
        return await read_body(self.request, self.body_limit)

    def took(self, answer: Answer) -> None:
        """The answered rows: their count, and the values let through by policy."""
        self.rows = answer.rows
        self.accepted = answer.accepted

    def answered_by(self, served: ServedVersion) -> None:
        self.model = served.name
        self.number = served.number
        self.version = str(self.number)
        self.headers["x-model-version"] = self.version


Handler = Callable[[Exchange], Awaitable[Response]]


def state_of(request: Request) -> ServerState:
    """The server's state, for a route."""
    state: ServerState = request.app.state.ferryman
    return state


class ServerState:
    def __init__(
        self, plane: DataPlane, metrics: ServerMetrics, settings: HttpSettings | None = None
    ) -> None:
        self.plane = plane
        self.pool = plane.pool
        self.metrics = metrics
        self.settings = settings or HttpSettings()
        self._refs: dict[str, ModelRef] = {}

    def ref(self, text: str) -> ModelRef:
        """``text`` parsed as a model reference (parsed once, then remembered)."""
        ref = self._refs.get(text)
        if ref is None:
            ref = ModelRef.parse(text, default_alias=self.pool.settings.alias)
            if len(self._refs) >= REF_CACHE_SIZE:
                self._refs.clear()
            self._refs[text] = ref
        return ref

    def visible(self, caller: Caller | None, name: str, registered: bool = False) -> None:
        """Raise the very 404 a missing model gets when a scoped token may not see ``name``
        (or, served models, when it is not served: the pool's answer would list the others).
        ``registered``: the route looks models up in the registry, not among the served."""
        if caller is None or not caller.scopes:
            return
        pool = self.pool
        if registered:
            if not caller.sees(name):
                raise ModelNotFoundError(
                    f"no model named {name!r}; list them with `ferryman models list`"
                )
            return
        served = {*pool.names, *pool.unavailable}
        if not caller.sees(name) or (pool.ready and name not in served):
            raise not_served(name, [n for n in served if caller.sees(n)])

    async def handle(
        self,
        request: Request,
        endpoint: str,
        handler: Handler,
        v2: bool = False,
        registered: bool = False,
    ) -> Response:
        """Run ``handler`` inside the shared frame: every answer, good or bad, carries the
        request id (and the version once known), is timed and counted; errors become the
        protocol's JSON error with the table's status, never a traceback. A model named in
        the path that the caller's token may not see is answered as a missing one
        (``registered``: as the registry answers it)."""
        exchange = Exchange(request, endpoint, self.settings.max_body_size)
        model_failed = False
        try:
            caller = caller_of(request)
            if caller is not None and caller.scopes:
                name = self._path_model(request)
                if name is not None:  # else the route checks (SageMaker's default model)
                    self.visible(caller, name, registered)
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

    def _path_model(self, request: Request) -> str | None:
        params = request.path_params
        if "name" in params:
            return check_name(params["name"])  # a bad name: the 400 the route would answer
        if "ref" in params:
            return self.ref(params["ref"].removesuffix("/predict")).name
        return None

    def _failure(self, exc: Exception, exchange: Exchange, v2: bool) -> Response:
        status, kind = status_of(exc)
        if is_model_failure(exc):
            kind = "model_failed"  # the model's fault, though the caller gets a 422
        if isinstance(exc, ModelUnavailableError):  # a served model: its name is a fair label
            exchange.model, exchange.version = exc.name, str(exc.version)
        if status == CLIENT_CLOSED:  # nobody is left to answer: a quiet line, a 499 counted
            log.debug("request %s to %s: %s", exchange.request_id, exchange.endpoint, exc)
        elif status == 500 and not isinstance(exc, PredictionError):
            log.error(
                "request %s to %s failed", exchange.request_id, exchange.endpoint, exc_info=exc
            )
        elif isinstance(exc, PredictionError):
            log.error("request %s: %s", exchange.request_id, exc, exc_info=exc.__cause__ or exc)
        self.metrics.error(exchange.model or "-", exchange.version or "-", exchange.endpoint, kind)
        if v2:
            return v2_error_response(exc, exchange.request_id, exchange.headers)
        return error_response(exc, exchange.request_id, exchange.headers)
