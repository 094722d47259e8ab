"""Monitoring routes: ground-truth feedback in, the latest results and alerts out.

``POST /models/{name}/feedback`` takes one ``{request_id, label}`` (or ``value``) object, a
list of them, or ``{"feedback": [...]}``; each record is accepted or refused on its own.
``GET /models/{name}/monitoring`` answers the latest drift, quality and performance results and
the alerts firing now.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ferryman.core.names import check_name
from ferryman.errors import RequestError
from ferryman.http.bodies import decode, is_json_type, media_type, parse_json, unsupported_type
from ferryman.http.errors import HttpError, json_response
from ferryman.http.server_state import Exchange, state_of
from ferryman.monitoring.schedule import LOG_OUTCOMES, Watch

if TYPE_CHECKING:
    from ferryman.monitoring.monitor import Monitor

MAX_FEEDBACK_ITEMS = 100_000


def _monitor(request: Request) -> Monitor:
    watch: Watch = request.app.state.watch
    if not watch.enabled:
        raise HttpError(
            503, "monitoring is turned off on this server ([ferryman.monitoring] enabled)", "off"
        )
    return watch.monitor


async def feedback(request: Request) -> Response:
    server = state_of(request)

    async def answer(exchange: Exchange) -> Response:
        monitor = _monitor(request)
        name = check_name(request.path_params["name"])
        kind = media_type(request)
        if kind and not is_json_type(kind):
            raise unsupported_type(kind, ("application/json",))
        raw = await exchange.body()
        items = await decode(raw, lambda: _items(parse_json(raw)))
        await asyncio.to_thread(monitor.registry.get_model, name)  # unknown model: 404
        watch: Watch = request.app.state.watch
        if watch.log is not None:
            # predictions answered moments ago may still wait for the writer: write them, so
            # that their request ids are not reported as unknown
            await asyncio.to_thread(watch.log.flush)
        result = await asyncio.to_thread(monitor.add_feedback, name, items)
        body = {"model": name, "request_id": exchange.request_id, **result.to_dict()}
        if result.accepted:
            return json_response(body, 200, exchange.headers)
        first = result.rejected[0] if result.rejected else None
        reason = f"record {first.index}: {first.reason}" if first else "nothing to store"
        body = {
            "error": f"no feedback record was accepted ({reason})",
            "kind": "invalid_input",
            **body,
        }
        return json_response(body, 422, exchange.headers)

    return await server.handle(request, "feedback", answer, registered=True)


def _items(document: Any) -> list[dict[str, Any]]:
    if isinstance(document, dict) and "feedback" in document:
        document = document["feedback"]
    if isinstance(document, dict):
        document = [document]
    if not isinstance(document, list):
        raise RequestError(
            'feedback must be an object {"request_id": ..., "label": ...}, a list of them, '
            'or {"feedback": [...]}'
        )
    if not document:
        raise RequestError("the feedback list is empty")
    if len(document) > MAX_FEEDBACK_ITEMS:
        raise RequestError(
            f"{len(document)} feedback records in one request; send at most "
            f"{MAX_FEEDBACK_ITEMS} (or upload a file with `ferryman feedback`)"
        )
    return document


async def summary(request: Request) -> Response:
    server = state_of(request)

    async def answer(exchange: Exchange) -> Response:
        monitor = _monitor(request)
        name = check_name(request.path_params["name"])
        watch: Watch = request.app.state.watch
        stats = watch.log.stats if watch.log is not None else None

        def read() -> dict[str, Any]:
            monitor.registry.get_model(name)
            results = {
                kind: monitor.results.latest(name, kind)
                for kind in ("drift", "quality", "performance", "root_cause")
            }
            firing = monitor.alerts.firing(name)
            return {
                "model": name,
                # this worker's prediction log since it started: dropped rows are never silent
                "prediction_log": None
                if stats is None
                else {outcome: getattr(stats, outcome) for outcome in LOG_OUTCOMES},
                # this worker's feedback naming unknown request ids, left out past the limit
                "feedback_unknown_not_stored": monitor.feedback.unknown_not_stored.get(name, 0),
                "results": results,
                "alerts_firing": [
                    {
                        "id": e.id,
                        "rule": e.rule,
                        "severity": e.severity,
                        "subject": e.subject,
                        "value": e.value,
                        "threshold": e.threshold,
                        "message": e.message,
                        "since": e.first_seen.isoformat(),
                    }
                    for e in firing
                ],
            }

        return json_response(await asyncio.to_thread(read), 200, exchange.headers)

    return await server.handle(request, "monitoring", answer, registered=True)


routes = [
    Route("/models/{name}/feedback", feedback, methods=["POST"]),
    Route("/models/{name}/monitoring", summary, methods=["GET"]),
]
