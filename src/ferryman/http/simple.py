"""The simple JSON API: ``POST /models/{ref}/predict`` and friends, for people who curl."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ferryman.core.refs import ModelRef
from ferryman.http.access import caller_of
from ferryman.http.bodies import (
    CSV_TYPES,
    decode,
    is_json_type,
    media_type,
    parse_json,
    records_from_csv,
    records_from_json,
    unsupported_type,
)
from ferryman.http.errors import HttpError, json_response
from ferryman.http.server_state import Exchange, ServerState, state_of
from ferryman.serving.codec import ModelInput
from ferryman.serving.dataplane import Answer, Records
from ferryman.serving.served import ServedVersion

ACCEPTED = ("application/json", "text/csv")


async def predict(request: Request) -> Response:
    server = state_of(request)

    async def answer(exchange: Exchange) -> Response:
        ref = server.ref(request.path_params["ref"])
        result = await server.plane.predict(ref, read_records, exchange)
        exchange.took(result)
        return json_response(prediction_body(result, exchange), 200, exchange.headers)

    return await server.handle(request, "predict", answer)


async def read_records(
    served: ServedVersion,
    exchange: Exchange,
    json_records: Callable[[Any], Records] = records_from_json,
) -> ModelInput:
    """The simple API's reader: a JSON or CSV body of records (shared with SageMaker, which
    reads more JSON shapes: ``json_records``), checked by the version's codec (a large body
    off the event loop)."""
    kind = media_type(exchange.request)
    if not (is_json_type(kind) or kind in CSV_TYPES):
        raise unsupported_type(kind or "", ACCEPTED)
    body = await exchange.body()

    def records() -> Records:
        if is_json_type(kind):
            return json_records(parse_json(body))
        return records_from_csv(body, served.loaded.signature)

    return await decode(body, lambda: served.codec.encode(records()))


def prediction_body(result: Answer, exchange: Exchange) -> dict[str, Any]:
    served = result.served
    body: dict[str, Any] = {
        "model": served.name,
        "version": served.number,
        "request_id": exchange.request_id,
        "predictions": plain(result.labels),
    }
    classes = served.classes
    if result.proba is not None and classes is not None:
        body["classes"] = list(classes)
        body["probabilities"] = result.proba.tolist()
    return body


def plain(values: np.ndarray) -> list[Any]:
    """JSON-ready values; NaN and infinity (a regressor's odd answer) become null."""
    out = values.tolist()
    if values.dtype.kind == "f" and not np.isfinite(values).all():
        return [v if np.isfinite(v) else None for v in out]
    return (
        [v.item() if isinstance(v, np.generic) else v for v in out]
        if values.dtype == object
        else out
    )


async def list_models(request: Request) -> Response:
    """The served models; one that cannot be loaded with its alias's version and the reason."""
    pool = state_of(request).pool
    alias = pool.settings.alias
    caller = caller_of(request)
    models = [describe(served, alias) for served in pool.current().values()]
    models += [
        {"name": f.name, "version": f.version, "alias": alias, "unavailable": f.reason}
        for f in pool.unavailable.values()
    ]
    if caller is not None:  # a scoped token lists only the models it may see
        models = [m for m in models if caller.sees(str(m["name"]))]
    return json_response({"models": sorted(models, key=lambda m: str(m["name"]))})


async def show_model(request: Request) -> Response:
    server = state_of(request)

    async def answer(exchange: Exchange) -> Response:
        text = request.path_params["ref"]
        if text.endswith("/predict"):
            raise HttpError(
                405, f"GET is not allowed on {request.url.path!r}; use POST", "method_not_allowed"
            )
        ref = server.ref(text)
        runner = await server.pool.runner(ref)
        exchange.answered_by(runner.served)
        return json_response(describe(runner.served, _alias_of(server, ref)), 200, exchange.headers)

    return await server.handle(request, "metadata", answer)


def _alias_of(server: ServerState, ref: ModelRef) -> str | None:
    """The alias that led to this version: the one asked for, none for a numbered version."""
    if ref.version is not None:
        return None
    return ref.alias or server.pool.settings.alias


def describe(served: ServedVersion, alias: str | None) -> dict[str, Any]:
    version = served.version
    signature = served.loaded.signature
    return {
        "name": served.name,
        "version": served.number,
        "alias": alias,
        "flavor": version.flavor,
        "output": version.output.to_dict(),
        "signature": signature.to_dict() if signature is not None else None,
        "metrics": version.metrics,
        "artifact_sha256": version.artifact_sha256,
        "created_at": version.created_at.isoformat(),
    }


routes = [
    Route("/models", list_models, methods=["GET"]),
    Route("/models/{ref:path}/predict", predict, methods=["POST"]),
    Route("/models/{ref:path}", show_model, methods=["GET"]),
]
