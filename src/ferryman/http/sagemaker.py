"""SageMaker's hosting contract: ``GET /ping`` and ``POST /invocations`` for the default model.

The default model is ``--sagemaker-model`` or, when the server serves exactly one, that one.
Invocations take JSON (records, one record, or ``{"instances": [...]}`` with rows as objects or
as lists in signature order) or CSV (with or without a header row), and answer JSON, or CSV
when the caller's Accept asks for ``text/csv``.
"""

from __future__ import annotations

import csv
import io
from functools import partial
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ferryman.access import Caller
from ferryman.core.refs import ModelRef
from ferryman.errors import ModelNotFoundError, RequestError, UnavailableError
from ferryman.http.access import caller_of
from ferryman.http.bodies import records_from_json
from ferryman.http.errors import json_response
from ferryman.http.server_state import Exchange, ServerState, state_of
from ferryman.http.simple import plain, prediction_body, read_records
from ferryman.serving.codec import ModelInput
from ferryman.serving.dataplane import Answer
from ferryman.serving.served import ServedVersion


def default_model(server: ServerState, caller: Caller | None = None) -> str:
    """The model ``/invocations`` answers for. A token scoped to some models is told only the
    names it may see: a default outside its scopes is a 404 that does not name it."""
    names = sorted([*server.pool.names, *server.pool.unavailable])
    chosen = server.settings.sagemaker_model
    if chosen is None and len(names) == 1:
        chosen = names[0]
    scoped = caller if caller is not None and caller.scopes else None
    visible = ", ".join(n for n in names if scoped is None or scoped.sees(n)) or "none"
    if chosen is not None:
        if scoped is not None and not scoped.sees(chosen):
            raise ModelNotFoundError(
                "/invocations answers for the server's default model, which this token may "
                f"not use; models it may use: {visible} (POST /models/NAME/predict)"
            )
        return chosen
    if not server.pool.ready:
        raise UnavailableError("the server is still loading its models; retry shortly")
    served = (
        f"{len(names)} are served ({visible})"
        if scoped is None
        else f"the server serves several (this token may use: {visible})"
    )
    raise ModelNotFoundError(
        f"/invocations needs one default model but {served}; start the server with "
        "--sagemaker-model NAME"
    )


async def ping(request: Request) -> Response:
    """200 when the default model is ready; without one (several models served and no
    ``--sagemaker-model``), 200 when the server is: a health check, not an invocation."""
    server = state_of(request)
    pool = server.pool
    if server.settings.sagemaker_model is None and len(pool.names) + len(pool.unavailable) != 1:
        return Response(b"", 200 if pool.ready else 503)
    try:
        pool.served(default_model(server))
    except (ModelNotFoundError, UnavailableError):
        return Response(b"", 503)
    return Response(b"", 200)


async def invocations(request: Request) -> Response:
    server = state_of(request)

    async def answer(exchange: Exchange) -> Response:
        caller = caller_of(request)
        name = default_model(server, caller)  # a scoped token: told only its models' names
        server.visible(caller, name)
        exchange.model = name
        ref = ModelRef(name, alias=server.pool.settings.alias)
        result = await server.plane.predict(ref, _read_records, exchange)
        exchange.took(result)
        if "text/csv" in request.headers.get("accept", ""):
            return Response(_csv(result), 200, exchange.headers, media_type="text/csv")
        return json_response(prediction_body(result, exchange), 200, exchange.headers)

    return await server.handle(request, "invocations", answer)


async def _read_records(served: ServedVersion, exchange: Exchange) -> ModelInput:
    """SageMaker's reader: the simple API's bodies, and rows as ``{"instances": [...]}``."""
    return await read_records(served, exchange, partial(_json_records, served=served))


def _json_records(document: Any, served: ServedVersion) -> list[Any]:
    if isinstance(document, dict) and set(document) == {"instances"}:
        instances = document["instances"]
        if not isinstance(instances, list):
            raise RequestError('"instances" must be a list of rows')
        signature = served.loaded.signature
        columns = signature.names if signature is not None else []
        rows: list[Any] = []
        for i, row in enumerate(instances):
            if isinstance(row, list):
                if len(row) != len(columns):
                    raise RequestError(
                        f"instance {i} has {len(row)} values; the model takes {len(columns)} "
                        f"({', '.join(columns)})"
                    )
                rows.append(dict(zip(columns, row, strict=True)))
            else:
                rows.append(row)
        return records_from_json({"records": rows})
    return records_from_json(document)


def _csv(result: Answer) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    labels = plain(result.labels)
    if result.proba is None:
        writer.writerows([label] for label in labels)
    else:
        for label, proba in zip(labels, result.proba.tolist(), strict=True):
            writer.writerow([label, *proba])
    return out.getvalue().encode()


async def execution_parameters(request: Request) -> Response:
    server = state_of(request)
    return json_response(
        {
            "MaxConcurrentTransforms": 4,
            "BatchStrategy": "MULTI_RECORD",
            "MaxPayloadInMB": max(1, server.settings.max_body_size // (1024 * 1024)),
        }
    )


routes = [
    Route("/ping", ping, methods=["GET"]),
    Route("/invocations", invocations, methods=["POST"]),
    Route("/execution-parameters", execution_parameters, methods=["GET"]),
]
