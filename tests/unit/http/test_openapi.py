"""The OpenAPI document describes every route the app answers, with every status."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount, Route

from ferryman.config import Settings
from ferryman.http.openapi import document
from ferryman.http.openapi_paths import OPERATIONS
from ferryman.registry import Registry
from ferryman.server.app import create_app


@pytest.fixture
def app(registry: Registry) -> Starlette:
    return create_app(registry)


def app_operations(app: Starlette) -> set[tuple[str, str]]:
    """(path, method) of every route of ``app``, as OpenAPI writes paths (HEAD is GET's)."""
    out: set[tuple[str, str]] = set()
    for route in app.routes:
        if isinstance(route, Mount):
            out.add((f"{route.path}/{{path}}", "get"))
        elif isinstance(route, Route):
            path = route.path.replace(":path", "")
            out |= {(path, m.lower()) for m in route.methods or () if m != "HEAD"}
    return out


def test_every_route_of_the_app_is_in_the_document(app: Starlette) -> None:
    spec = document(app.state.ferryman)
    documented = {(p, m) for p, item in spec["paths"].items() for m in item}
    answered = app_operations(app)
    assert len(answered) >= 22
    assert sorted(answered - documented) == []
    assert sorted(documented - answered) == []


def test_every_operation_names_its_error_statuses(app: Starlette) -> None:
    spec = document(app.state.ferryman)
    predict = spec["paths"]["/models/{ref}/predict"]["post"]["responses"]
    assert {"200", "400", "404", "413", "415", "422", "500", "503"} <= set(predict)
    infer = spec["paths"]["/v2/models/{name}/infer"]["post"]["responses"]
    assert {"200", "400", "404", "413", "415", "500", "501", "503"} <= set(infer)
    assert "400" in spec["paths"]["/models/{ref}"]["get"]["responses"]  # a bad reference
    for op in OPERATIONS:
        assert "200" in op.responses, op.path
        if op.params and not op.path.startswith("/docs"):
            assert {"400", "404"} <= set(op.responses), op.path


def test_every_reference_resolves_and_the_document_is_json(app: Starlette) -> None:
    spec = document(app.state.ferryman)
    text = json.dumps(spec)
    refs = set(re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', text))
    assert refs
    assert refs <= set(spec["components"]["schemas"])
    assert spec["openapi"] == "3.0.3"


def served_document(app: Starlette) -> dict[str, Any]:
    async def get() -> dict[str, Any]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            answer = await client.get("/openapi.json")
            assert answer.status_code == 200
            document: dict[str, Any] = answer.json()
            return document

    return asyncio.run(get())


def test_the_document_marks_the_configured_open_routes_as_open(home: Path) -> None:
    settings = Settings.load(
        home=home,
        actor="tester",
        record_git=False,
        auth={"open_routes": ["/ping", "/openapi.json"]},
    )
    registry = Registry(settings)
    try:
        spec = served_document(create_app(registry))
    finally:
        registry.close()
    paths = spec["paths"]
    assert "401" not in paths["/openapi.json"]["get"]["responses"]
    assert "security" not in paths["/openapi.json"]["get"]
    assert "401" not in paths["/ping"]["get"]["responses"]
    for closed in ("/metrics", "/v2/health/live", "/docs"):  # open by default, not here
        assert {"401", "403", "429"} <= set(paths[closed]["get"]["responses"]), closed
        assert paths[closed]["get"]["security"] == [{"bearerAuth": []}]


def test_the_default_open_routes_and_the_docs_files_need_no_token(app: Starlette) -> None:
    paths = served_document(app)["paths"]
    for path in ("/metrics", "/ping", "/v2/health/live", "/docs", "/docs/static/{path}"):
        assert "401" not in paths[path]["get"]["responses"], path
    assert "401" in paths["/openapi.json"]["get"]["responses"]
