"""Running the app under uvicorn: one process, or several workers sharing the port."""

from __future__ import annotations

import copy
import importlib.util
import os
import shutil
import tempfile
from typing import Any

import uvicorn
from starlette.applications import Starlette
from uvicorn.config import LOGGING_CONFIG

from ferryman.http.app import OPTIONS_ENV, ServeOptions, create_app
from ferryman.http.metrics import MULTIPROC_ENV
from ferryman.registry import Registry

FACTORY = "ferryman.http.app:app_from_environment"


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


def http_parser() -> str:
    return "httptools" if importlib.util.find_spec("httptools") is not None else "h11"


def run(
    options: ServeOptions,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    log_level: str = "info",
    access_log: bool = False,
    registry: Registry | None = None,
) -> None:
    """Serve until interrupted (SIGINT / SIGTERM finish the requests in flight first).

    One worker serves in this process (over ``registry`` when given); several are separate
    processes that each build the app from the options passed in the environment.
    """
    os.environ[OPTIONS_ENV] = options.to_json()
    app: Starlette | str = FACTORY
    if workers == 1 and registry is not None:
        app = create_app(registry, options)
    metrics_dir = None
    if workers > 1 and not os.environ.get(MULTIPROC_ENV):
        metrics_dir = tempfile.mkdtemp(prefix="ferryman-metrics-")
        os.environ[MULTIPROC_ENV] = metrics_dir
    try:
        uvicorn.run(
            app,
            factory=isinstance(app, str),
            host=host,
            port=port,
            workers=workers,
            loop=event_loop(),
            http=http_parser(),
            log_level=log_level,
            log_config=log_config(log_level),
            access_log=access_log,
            timeout_graceful_shutdown=30,
            server_header=False,
        )
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)
            os.environ.pop(MULTIPROC_ENV, None)
