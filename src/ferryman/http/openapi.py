"""The OpenAPI document of the simple API and SageMaker routes, and its interactive page.

The page is Swagger UI from the ``swagger-ui-bundle`` package, served by this server itself:
it works with no network. Request examples are built from the served models' signatures.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

from ferryman._version import __version__
from ferryman.http.errors import json_response
from ferryman.http.server_state import ServerState
from ferryman.serving.served import ServedVersion


class ProblemModel(BaseModel):
    row: int | None = Field(description="0-based row of the request, null for a whole column")
    column: str | None
    kind: str = Field(description="missing_column, unknown_column, wrong_type, null, ...")
    message: str


class ErrorModel(BaseModel):
    """Every error of the simple API has this shape."""

    error: str = Field(description="What went wrong and what to do about it")
    kind: str = Field(description="invalid_input, bad_request, not_found, too_large, ...")
    request_id: str
    problems: list[ProblemModel] | None = Field(
        None, description="Each problem of the input (status 422 only)"
    )


class PredictRequest(BaseModel):
    """Records to predict. A single record object (no ``records`` key) is accepted too."""

    records: list[dict[str, Any]]


class PredictResponse(BaseModel):
    model: str
    version: int = Field(description="The version that answered (also the X-Model-Version header)")
    request_id: str = Field(description="Also the X-Request-Id header; the caller's is kept")
    predictions: list[Any] = Field(description="One per record: class label or number")
    classes: list[Any] | None = Field(None, description="Classifiers: the class order")
    probabilities: list[list[float]] | None = Field(
        None, description="Classifiers: one list per record, in `classes` order"
    )


def _schemas() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for model in (ErrorModel, PredictRequest, PredictResponse):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        out.update(schema.pop("$defs", {}))
        out[model.__name__] = schema
    return out


def _example(served: list[ServedVersion]) -> dict[str, Any] | None:
    for item in served:
        signature = item.loaded.signature
        if signature is None:
            continue
        record = {}
        for column in signature.columns:
            if column.categories:
                record[column.name] = column.categories[0]
            elif column.kind in ("float", "integer"):
                low = column.minimum if column.minimum is not None else 0
                high = column.maximum if column.maximum is not None else low
                value = (low + high) / 2
                record[column.name] = round(value) if column.kind == "integer" else value
            elif column.kind == "boolean":
                record[column.name] = False
            else:
                record[column.name] = ""
        return {"records": [record]}
    return None


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorModel"}}},
    }


def document(server: ServerState) -> dict[str, Any]:
    served = list(server.pool.current().values())
    names = [s.name for s in served]
    schema: dict[str, Any] = {"type": "string"}
    if names:
        schema["example"] = names[0]
    ref_param = {
        "name": "ref",
        "in": "path",
        "required": True,
        "description": "`name` (the served alias), `name@alias` or `name/3` (URL-encode `/` "
        "as %2F if your client needs to)",
        "schema": schema,
    }
    request_body: dict[str, Any] = {"schema": {"$ref": "#/components/schemas/PredictRequest"}}
    example = _example(served)
    if example is not None:
        request_body["example"] = example
    errors = {
        "400": _error("Malformed JSON or request"),
        "404": _error("Unknown model or version"),
        "413": _error("Body over the size limit"),
        "415": _error("Content type other than JSON or CSV"),
        "422": _error("Input does not match the model's signature (see problems)"),
        "500": _error("The model failed (with a request id)"),
        "503": _error("Still loading, overloaded, or the model cannot be loaded (the reason)"),
    }
    predict_ok = {
        "description": "Predictions",
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/PredictResponse"}}
        },
    }
    predict = {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": request_body,
                "text/csv": {"schema": {"type": "string"}},
            },
        },
        "responses": {"200": predict_ok, **errors},
    }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "ferryman model server",
            "version": __version__,
            "description": "The simple JSON API. The Open Inference Protocol (V2) is served "
            "under /v2 and SageMaker's contract at /ping and /invocations.",
        },
        "paths": {
            "/models": {
                "get": {
                    "summary": "Served models",
                    "responses": {
                        "200": {
                            "description": "Served models and their versions; one that "
                            "cannot be loaded has `unavailable` (the reason) instead of details"
                        }
                    },
                }
            },
            "/models/{ref}": {
                "get": {
                    "summary": "A served model's version, signature and metrics",
                    "parameters": [ref_param],
                    "responses": {"200": {"description": "The version"}, "404": errors["404"]},
                }
            },
            "/models/{ref}/predict": {
                "post": {"summary": "Predict records", "parameters": [ref_param], **predict}
            },
            "/invocations": {
                "post": {"summary": "SageMaker: predict with the default model", **predict}
            },
            "/ping": {
                "get": {
                    "summary": "SageMaker health: 200 with an empty body when ready",
                    "responses": {
                        "200": {"description": "Ready"},
                        "503": {"description": "Not ready"},
                    },
                }
            },
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics",
                    "responses": {"200": {"description": "Prometheus text format"}},
                }
            },
            **_alias_paths(),
        },
        "components": {"schemas": _schemas()},
    }


def _alias_paths() -> dict[str, Any]:
    """The operators' alias routes (docs/serving.md#alias-routes)."""
    params = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in ("name", "alias")
    ]
    moved = {"description": "The move: model, alias, kind, from_version, to_version, actor, at"}
    refused = {
        "400": _error('A body that is not {"version": N}, or a bad name'),
        "401": _error("No token, or a bad one"),
        "403": _error("The token's role is below operator"),
        "404": _error("Unknown model, version or alias"),
        "409": _error("Nothing to roll back to"),
    }
    body = {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {"version": {"type": "integer", "minimum": 1}},
                    "required": ["version"],
                }
            }
        },
    }
    return {
        "/models/{name}/aliases/{alias}": {
            "put": {
                "summary": "Point an alias at a version (operator)",
                "parameters": params,
                "requestBody": body,
                "responses": {"200": moved, **refused},
            },
            "delete": {
                "summary": "Remove an alias (operator)",
                "parameters": params,
                "responses": {"200": moved, **refused},
            },
        },
        "/models/{name}/aliases/{alias}/rollback": {
            "post": {
                "summary": "Move an alias back one move (operator)",
                "parameters": params,
                "responses": {"200": moved, **refused},
            }
        },
    }


async def openapi_json(request: Request) -> Response:
    return json_response(document(request.app.state.ferryman))


PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>ferryman model server</title>
<link rel="stylesheet" href="/docs/static/swagger-ui.css"></head>
<body><div id="ui"></div>
<script src="/docs/static/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#ui"});</script>
</body></html>"""


async def docs_page(request: Request) -> Response:
    return HTMLResponse(PAGE)


routes = [
    Route("/openapi.json", openapi_json, methods=["GET"]),
    Route("/docs", docs_page, methods=["GET"]),
    Mount("/docs/static", StaticFiles(directory=str(swagger_ui_path)), name="docs-static"),
]
