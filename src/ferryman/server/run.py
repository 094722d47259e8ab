"""Running the app under uvicorn: one process, or several workers sharing the port."""

from __future__ import annotations

import contextlib
import copy
import errno
import importlib.util
import ipaddress
import logging
import os
import shutil
import socket
import tempfile
from collections.abc import Callable
from typing import Any

import uvicorn
from starlette.applications import Starlette
from uvicorn.config import LOGGING_CONFIG, STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

from ferryman.access import TokenBook
from ferryman.config import Settings
from ferryman.errors import ConfigError, FerrymanError
from ferryman.flavors.trust import SERVER_ADVICE
from ferryman.http.access import check_open_routes
from ferryman.http.metrics import MULTIPROC_ENV
from ferryman.registry import Registry
from ferryman.server.app import OPTIONS_ENV, Lifecycle, ServeOptions, create_app

FACTORY = "ferryman.server.app:app_from_environment"
log = logging.getLogger("ferryman.http")


def log_config(level: str) -> dict[str, Any]:
    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["ferryman"] = {
        "handlers": ["default"],
        "level": level.upper(),
        "propagate": False,
    }
    return config


def event_loop() -> str:
    """uvloop where it is installed: faster, and it sets TCP_NODELAY on every worker's sockets
    (plain asyncio with several workers leaves keep-alive answers waiting ~40 ms)."""
    return "uvloop" if importlib.util.find_spec("uvloop") is not None else "asyncio"


BACKLOG = 2048  # uvicorn's default


def listen(host: str, port: int) -> socket.socket:
    """The server's socket, listening now: a busy port is refused before any model loads.

    Listening (not only binding) matters: two sockets with SO_REUSEADDR may both bind one
    port, and only the first to listen would get it.
    """
    host = host.removeprefix("[").removesuffix("]")  # "[::1]" as in a URL
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(BACKLOG)
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {_why(exc)}") from None
    sock.set_inheritable(True)  # worker processes serve on it too
    return sock


def _why(exc: OSError) -> str:
    reason = exc.strerror or str(exc)
    if isinstance(exc, socket.gaierror) or exc.errno == errno.EADDRNOTAVAIL:
        return f"{reason}; give --host an address of this machine, e.g. 127.0.0.1 or 0.0.0.0"
    if exc.errno == errno.EADDRINUSE:
        return f"{reason}; stop what uses that port or pick another with --port"
    if exc.errno == errno.EACCES:
        return f"{reason}; ports below 1024 need privileges: pick another with --port"
    return reason


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this machine only (127.0.0.0/8, ::1, localhost)."""
    host = host.removeprefix("[").removesuffix("]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_access(host: str, registry: Registry, no_auth: bool) -> str | None:
    """Refuse to serve an address other machines reach with no access control; else what
    to say about access control at start (None: nothing worth saying). Any token on record,
    even a revoked one, keeps the server asking for tokens (see ``TokenVerifier``)."""
    auth = registry.settings.auth
    check_open_routes(auth.open_routes)
    if no_auth:
        if auth.required:
            raise ConfigError(
                "--no-auth contradicts the setting auth.required = true; drop one of them"
            )
        return f"access control is off (--no-auth): every route answers whoever reaches {host}"
    if auth.required or is_loopback(host) or TokenBook(registry).list():
        return None
    raise ConfigError(
        f"refusing to serve on {host} with no access control: no API token exists, so anyone "
        "who reaches this address could predict and move aliases. Create a token with "
        "`ferryman tokens create NAME --role predictor` (clients send it as "
        '"Authorization: Bearer TOKEN"), or pass --no-auth to serve without tokens'
    )


def address(sock: socket.socket) -> str:
    """The URL the socket serves (its real port, even when asked for port 0)."""
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


Ready = Callable[[list[str]], None]  # told the served models that could not be loaded


class _Server(uvicorn.Server):
    """uvicorn's server, loading the models before its own start-up (so that a FerrymanError
    ends it as ``failure``, without uvicorn's traceback), and telling ``on_ready`` once the
    models are loaded and it listens."""

    def __init__(
        self, config: uvicorn.Config, lifecycle: Lifecycle, on_ready: Ready | None
    ) -> None:
        super().__init__(config)
        self.lifecycle = lifecycle
        self.on_ready = on_ready
        self.failure: FerrymanError | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await self.lifecycle.start()
        except Exception as exc:
            if isinstance(exc, FerrymanError):
                self.failure = exc  # the caller says it in one line
            else:
                log.error("the server could not start", exc_info=exc)
            self.should_exit = True
            await self.lifecycle.stop()
            return
        await super().startup(sockets)
        if self.started and not self.should_exit and self.on_ready is not None:
            self.on_ready(list(self.lifecycle.pool.unavailable))


def run(
    options: ServeOptions,
    sock: socket.socket,
    *,
    workers: int = 1,
    log_level: str = "info",
    access_log: bool = False,
    registry: Registry | None = None,
    on_ready: Ready | None = None,
) -> bool:
    """Serve on ``sock`` until interrupted (SIGINT / SIGTERM finish the requests in flight).

    One worker serves in this process (over ``registry``); several are separate processes
    that each build the app from the options passed in the environment. Returns whether the
    server started (False: its start-up failed and was logged). In one process, a start-up
    that fails with a FerrymanError (a model named in ``options.models`` that cannot be
    loaded) raises it, and nothing else is logged about it.
    """
    os.environ[OPTIONS_ENV] = options.to_json()
    app: Starlette | str = FACTORY
    if workers == 1:
        if registry is None:
            registry = Registry(Settings.load(**options.settings), trust_advice=SERVER_ADVICE)
        app = create_app(registry, options)
    metrics_dir = None
    if workers > 1 and not os.environ.get(MULTIPROC_ENV):
        metrics_dir = tempfile.mkdtemp(prefix="ferryman-metrics-")
        os.environ[MULTIPROC_ENV] = metrics_dir
    limits = options.connection_limits()
    config = uvicorn.Config(
        app,
        factory=isinstance(app, str),
        workers=workers,
        loop=event_loop(),
        # httptools, with read deadlines and a connection cap: a partial of the protocol class
        # (uvicorn only calls it), and a keep-alive timeout in seconds (a float: call_later's)
        http=limits.protocol(),  # type: ignore[arg-type]
        timeout_keep_alive=limits.keep_alive_timeout,  # type: ignore[arg-type]
        log_level=log_level,
        log_config=log_config(log_level),
        access_log=access_log,
        timeout_graceful_shutdown=30,
        server_header=False,
    )
    try:
        if workers > 1:
            # each worker loads the models itself and logs when it is ready: the parent only
            # knows that the port is taken and the workers are starting
            if on_ready is not None:
                on_ready([])
            supervisor = Multiprocess(config, sockets=[sock])
            supervisor.run()  # ends at once when a worker's start-up fails
            return not any(p.exitcode == STARTUP_FAILURE for p in supervisor.processes)
        assert isinstance(app, Starlette)
        config.load_app()
        server = _Server(config, app.state.lifecycle, on_ready)
        with contextlib.suppress(KeyboardInterrupt):
            try:
                server.run(sockets=[sock])
            except SystemExit:  # uvicorn's way out when start-up failed (logged above)
                return False
        if server.failure is not None:
            raise server.failure
        return server.started
    finally:
        sock.close()
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)
            os.environ.pop(MULTIPROC_ENV, None)
