"""Alias moves over HTTP, for operators: point an alias at a version, remove it, roll it back.

``PUT /models/{name}/aliases/{alias}`` with ``{"version": N}``, ``DELETE`` on the same path,
and ``POST /models/{name}/aliases/{alias}/rollback``. Each answers the move as JSON and keeps
it in the model's history with the caller's token as its actor (``token:NAME``; without
tokens, ``http:anonymous``). The served pool follows the move by its own polling.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ferryman.core.records import AliasMove
from ferryman.errors import RequestError
from ferryman.http.access import caller_of
from ferryman.http.bodies import is_json_type, media_type, parse_json, unsupported_type
from ferryman.http.errors import json_response
from ferryman.http.server_state import Exchange, state_of
from ferryman.registry import Registry

ANONYMOUS = "http:anonymous"  # the actor of a move while the server checks no tokens


def actor_of(request: Request) -> str:
    """The audit actor of an HTTP change: the token's name, or ``http:anonymous``."""
    caller = caller_of(request)
    return f"token:{caller.name}" if caller is not None else ANONYMOUS


def move_body(move: AliasMove, exchange: Exchange) -> dict[str, Any]:
    return {
        "model": move.model,
        "alias": move.alias,
        "kind": move.kind,
        "from_version": move.from_version,
        "to_version": move.to_version,
        "actor": move.actor,
        "at": move.at.isoformat(),
        "request_id": exchange.request_id,
    }


async def _moved(request: Request, endpoint: str, read: Callable[[Exchange], Any]) -> Response:
    server = state_of(request)
    registry = server.pool.registry
    actor = actor_of(request)

    async def answer(exchange: Exchange) -> Response:
        call = await read(exchange)
        move = await asyncio.to_thread(call, registry, actor)
        return json_response(move_body(move, exchange), 200, exchange.headers)

    return await server.handle(request, endpoint, answer, registered=True)


async def set_alias(request: Request) -> Response:
    name, alias = request.path_params["name"], request.path_params["alias"]

    async def read(exchange: Exchange) -> Callable[[Registry, str], AliasMove]:
        kind = media_type(request)
        if not is_json_type(kind):
            raise unsupported_type(kind or "", ("application/json",))
        document = parse_json(await exchange.body())
        version = document.get("version") if isinstance(document, dict) else None
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise RequestError(
                'the body must be {"version": N}, N the version number (1 or more) the alias '
                f"is to point at; got {_shown(document)}"
            )
        return lambda registry, actor: registry.set_alias(name, alias, version, actor=actor)

    return await _moved(request, "alias_set", read)


async def remove_alias(request: Request) -> Response:
    name, alias = request.path_params["name"], request.path_params["alias"]

    async def read(exchange: Exchange) -> Callable[[Registry, str], AliasMove]:
        return lambda registry, actor: registry.remove_alias(name, alias, actor=actor)

    return await _moved(request, "alias_remove", read)


async def rollback(request: Request) -> Response:
    name, alias = request.path_params["name"], request.path_params["alias"]

    async def read(exchange: Exchange) -> Callable[[Registry, str], AliasMove]:
        return lambda registry, actor: registry.rollback(name, alias, actor=actor)

    return await _moved(request, "alias_rollback", read)


def _shown(document: Any) -> str:
    text = repr(document)
    return text if len(text) <= 60 else text[:57] + "..."


routes = [
    Route("/models/{name}/aliases/{alias}", set_alias, methods=["PUT"]),
    Route("/models/{name}/aliases/{alias}", remove_alias, methods=["DELETE"]),
    Route("/models/{name}/aliases/{alias}/rollback", rollback, methods=["POST"]),
]
