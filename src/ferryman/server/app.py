"""The server, composed: the model pool, the prediction sink, the monitoring schedule and the
ASGI app, each built whole with what it needs.

``create_app`` builds it for a registry and options; ``app_from_environment`` is the factory
uvicorn's workers call (``ferryman serve`` passes the options in ``FERRYMAN_SERVE_OPTIONS``).
What runs beside the routes (the model pool, monitoring) starts with the app's lifespan, or
earlier through ``app.state.lifecycle`` when the caller wants start-up errors itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import json
import logging
import os
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

import pyarrow
from starlette.applications import Starlette
from uvicorn.config import STARTUP_FAILURE

from ferryman.access import TokenBook
from ferryman.config import Settings
from ferryman.errors import ConfigError, FerrymanError
from ferryman.flavors.trust import SERVER_ADVICE
from ferryman.http.access import AuthMode, FailureLimiter, Gate
from ferryman.http.metrics import ServerMetrics
from ferryman.http.routes import asgi_app
from ferryman.http.server_state import DEFAULT_MAX_BODY, HttpSettings, ServerState
from ferryman.monitoring.schedule import Watch
from ferryman.registry import Registry
from ferryman.server import connections
from ferryman.server.connections import ConnectionLimits
from ferryman.serving.batching import BatchSettings
from ferryman.serving.dataplane import DataPlane
from ferryman.serving.pool import ModelPool, PoolEvents, PoolSettings

log = logging.getLogger("ferryman.http")  # the name its lines have always had
OPTIONS_ENV = "FERRYMAN_SERVE_OPTIONS"


@dataclass(frozen=True)
class ServeOptions:
    """Everything ``ferryman serve`` decides, in a form that survives a trip through JSON."""

    models: tuple[str, ...] | None = None
    alias: str = "production"
    poll_interval: float = 1.0
    batching: bool = True
    max_batch: int = 64
    max_wait_ms: float = 0.5
    max_queue: int = 4096
    max_body_size: int = DEFAULT_MAX_BODY
    sagemaker_model: str | None = None
    no_auth: bool = False  # ``--no-auth``: check no tokens at all
    # served on a loopback address: only then may the last token's deletion open the routes
    loopback: bool = True
    header_timeout: float = connections.HEADER_TIMEOUT
    body_timeout: float = connections.BODY_TIMEOUT
    keep_alive_timeout: float = connections.KEEP_ALIVE_TIMEOUT
    max_connections: int = connections.MAX_CONNECTIONS
    settings: dict[str, Any] = field(default_factory=dict)

    def connection_limits(self) -> ConnectionLimits:
        return ConnectionLimits(
            header_timeout=self.header_timeout,
            body_timeout=self.body_timeout,
            keep_alive_timeout=self.keep_alive_timeout,
            max_connections=self.max_connections,
        )

    def pool_settings(self) -> PoolSettings:
        return PoolSettings(
            alias=self.alias,
            models=self.models,
            poll_interval=self.poll_interval,
            batching=BatchSettings(
                enabled=self.batching,
                max_batch=self.max_batch,
                max_wait=self.max_wait_ms / 1000,
                max_queue=self.max_queue,
            ),
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self), default=str)

    @classmethod
    def from_json(cls, text: str) -> ServeOptions:
        data = json.loads(text)
        if data.get("models") is not None:
            data["models"] = tuple(data["models"])
        return cls(**data)


class Lifecycle:
    """Starts and stops what the server runs beside its routes: the model pool (loading and
    warming every model), monitoring, and the token refresh that keeps the gate's tokens
    current. ``start`` runs once, whoever calls it first."""

    def __init__(
        self,
        pool: ModelPool,
        metrics: ServerMetrics,
        watch: Watch,
        gate: Gate,
        refresh_seconds: float = 1.0,
    ) -> None:
        self.pool = pool
        self.metrics = metrics
        self.watch = watch
        self.gate = gate
        self.refresh_seconds = refresh_seconds
        self.started = False
        self._refresh: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self.started:
            return
        self.started = True
        verifier = self.gate.verifier
        if verifier is not None:
            await asyncio.to_thread(verifier.refresh)  # before the first request is read
            self._refresh = asyncio.create_task(self._refresh_tokens())
            if self.gate.active:
                log.info("access control is on: every route but the open ones needs a token")
        pool = self.pool
        started = time.perf_counter()
        gc.disable()  # loading imports libraries: no garbage worth collecting; on again below
        try:
            await pool.start()
        finally:
            gc.enable()
        for name, served in pool.current().items():
            self.metrics.serves(name, served.number)
        settle_memory()
        unavailable = pool.unavailable
        log.info(
            "ready: %d model(s) loaded and warmed in %.2fs%s",
            len(pool.names),
            time.perf_counter() - started,
            f"; {len(unavailable)} could not be loaded ({', '.join(unavailable)})"
            if unavailable
            else "",
        )
        self.watch.start(pool)

    async def stop(self) -> None:
        if self._refresh is not None:
            self._refresh.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresh
            self._refresh = None
        await self.pool.stop()
        await self.watch.stop()

    async def _refresh_tokens(self) -> None:
        """Re-read the tokens every interval, off the request path: a new or revoked token
        reaches every worker within it. A refresh that fails, however, keeps the last tokens
        and the loop going; each kind of failure is logged once until a refresh succeeds."""
        verifier = self.gate.verifier
        assert verifier is not None
        said: set[type[Exception]] = set()  # the kinds of failure logged since the last success
        while True:
            await asyncio.sleep(self.refresh_seconds)
            try:
                await asyncio.to_thread(verifier.refresh)
            except Exception as exc:
                if type(exc) not in said:
                    said.add(type(exc))
                    log.warning(
                        "cannot re-read the API tokens (keeping the last ones): %s",
                        exc,
                        exc_info=None if isinstance(exc, FerrymanError) else exc,
                    )
            else:
                if said:
                    log.info("the API tokens are read again")
                said.clear()


def create_app(
    registry: Registry, options: ServeOptions | None = None, *, is_worker: bool = False
) -> Starlette:
    """The server for ``registry``; models load (and warm) when the app starts up.

    ``is_worker``: one of several processes under uvicorn's supervisor, which a start-up
    failure ends with one line and uvicorn's start-up failure exit code.
    """
    options = options or ServeOptions()
    # Arrow's own allocator keeps freed memory; the system one gives it back (see settle_memory)
    pyarrow.set_memory_pool(pyarrow.system_memory_pool())
    metrics = ServerMetrics()
    # the schedule keeps the prediction log: the sink of what the pool's versions answer
    watch = Watch(registry, metrics)
    events = PoolEvents(
        loaded=metrics.loaded,
        swapped=metrics.swapped,
        batch=metrics.batch,
        failed=metrics.failed,
        dropped=metrics.dropped,
    )
    pool = ModelPool(registry, options.pool_settings(), events, watch.sink)
    state = ServerState(
        DataPlane(pool),
        metrics,
        HttpSettings(max_body_size=options.max_body_size, sagemaker_model=options.sagemaker_model),
    )
    auth = registry.settings.auth
    mode: AuthMode = auth_mode(options, auth.required)
    gate = Gate(
        None if mode == "off" else TokenBook(registry).verifier(),
        mode,
        auth.open_routes,
        FailureLimiter.of(auth),
        metrics.refused,
    )
    lifecycle = Lifecycle(pool, metrics, watch, gate, auth.refresh_seconds)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            await lifecycle.start()  # in one process, done already by the server (run.py)
        except FerrymanError as exc:
            if not is_worker:
                raise
            # one line, then the exit code uvicorn's supervisor stops for (raised through
            # Starlette, a user's mistake would be logged with its traceback)
            log.error("error: %s", exc)
            logging.shutdown()
            os._exit(STARTUP_FAILURE)
        try:
            yield
        finally:
            await lifecycle.stop()

    app = asgi_app(state, watch, lifespan, gate)
    app.state.lifecycle = lifecycle
    return app


def auth_mode(options: ServeOptions, required: bool) -> AuthMode:
    """``off`` with ``--no-auth``; ``on`` when the setting requires tokens or other machines
    reach the server (deleting its last token must not open it); else ``auto``: tokens are
    needed while one is on record."""
    if options.no_auth:
        return "off"
    return "on" if required or not options.loopback else "auto"


def settle_memory() -> None:
    """After loading: move what is loaded out of the garbage collector's way, so a full
    collection never pauses a request to walk the libraries' objects, and hand freed heap
    pages back to the system. No collection first: it would cost ~0.1 s of start-up (or a
    pause under load if deferred) to free the little garbage importing leaves."""
    gc.freeze()
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6").malloc_trim(0)


def app_from_environment() -> Starlette:
    """uvicorn's factory in each worker: options from FERRYMAN_SERVE_OPTIONS."""
    raw = os.environ.get(OPTIONS_ENV)
    if not raw:
        raise ConfigError(f"{OPTIONS_ENV} is not set; start the server with `ferryman serve`")
    options = ServeOptions.from_json(raw)
    registry = Registry(Settings.load(**options.settings), trust_advice=SERVER_ADVICE)
    return create_app(registry, options, is_worker=True)
