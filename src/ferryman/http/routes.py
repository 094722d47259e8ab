"""The ASGI app's routes: every protocol's, /metrics, and the answers for unknown routes and
unhandled errors. ``ferryman.server`` builds what they run over and hands it in."""

from __future__ import annotations

import logging

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Lifespan

from ferryman.http import aliases, monitoring, openapi, sagemaker, simple, v2
from ferryman.http.access import Gate, guard
from ferryman.http.errors import json_response
from ferryman.http.server_state import ServerState
from ferryman.monitoring.schedule import Watch

log = logging.getLogger("ferryman.http")


def asgi_app(
    state: ServerState, watch: Watch, lifespan: Lifespan[Starlette], gate: Gate
) -> Starlette:
    """The app answering every route over ``state``, with ``watch``'s monitoring, each route
    behind ``gate`` as the role table says (a route without a row stops the build)."""
    metrics = state.metrics

    async def metrics_page(request: Request) -> Response:
        watch.export_log_stats()
        return Response(metrics.render(), media_type=metrics.content_type)

    routes = [
        *monitoring.routes,
        *aliases.routes,
        *simple.routes,
        *v2.routes,
        *sagemaker.routes,
        *openapi.routes,
        Route("/metrics", metrics_page, methods=["GET"]),
    ]
    app = Starlette(
        routes=guard(routes, gate),
        lifespan=lifespan,
        exception_handlers={HTTPException: _http_error, Exception: _internal_error},
    )
    app.state.ferryman = state
    app.state.watch = watch
    app.state.gate = gate
    return app


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        message = f"no route {request.url.path!r}; see /docs for the API"
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path!r}"
    else:
        message = str(exc.detail)
    return json_response({"error": message}, exc.status_code, dict(exc.headers or {}))


async def _internal_error(request: Request, exc: Exception) -> Response:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return json_response({"error": "internal error; the server log has the details"}, 500)
