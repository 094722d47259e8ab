"""The OpenAPI document of every route the server answers, and its interactive page.

The routes and their statuses are the table in ``openapi_paths``; the bodies' schemas are
here. The page is Swagger UI from the ``swagger-ui-bundle`` package, served by this server
itself: it works with no network. Request examples are built from the served models'
signatures.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

from ferryman._version import __version__
from ferryman.access import Caller
from ferryman.config import DEFAULT_OPEN_ROUTES
from ferryman.http.access import Gate, caller_of
from ferryman.http.errors import json_response
from ferryman.http.openapi_paths import SECURITY_SCHEMES, paths
from ferryman.http.server_state import ServerState, state_of
from ferryman.serving.served import ServedVersion

OBJECT: dict[str, Any] = {"type": "object"}
TEXT: dict[str, Any] = {"type": "string"}
INTEGER: dict[str, Any] = {"type": "integer"}
ANY_LIST: dict[str, Any] = {"type": "array", "items": {}}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "nullable": True}


def _object(required: list[str], **properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": properties}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


SCHEMAS: dict[str, dict[str, Any]] = {
    "Problem": _object(
        ["row", "column", "kind", "message"],
        row=_nullable({**INTEGER, "description": "0-based row, null for a whole column"}),
        column=_nullable(TEXT),
        kind={**TEXT, "description": "missing_column, unknown_column, wrong_type, null, ..."},
        message=TEXT,
    ),
    "Error": {
        **_object(
            ["error"],
            error={**TEXT, "description": "What went wrong and what to do about it"},
            kind={**TEXT, "description": "invalid_input, bad_request, not_found, too_large, ..."},
            request_id=TEXT,
            problems={
                "type": "array",
                "items": _ref("Problem"),
                "description": "422: the input's problems (the first 100)",
            },
            more_problems={**INTEGER, "description": "422: problems past those listed"},
        ),
        "description": "Every error of the simple API, SageMaker and monitoring routes (the "
        "router's own 404 and 405 carry only `error`).",
    },
    "V2Error": _object(["error"], error=TEXT),
    "PredictRequest": {
        **_object(["records"], records={"type": "array", "items": OBJECT}),
        "description": "Records to predict. A single record object (no `records` key) and a "
        "bare list of records are accepted too.",
    },
    "InvocationsRequest": {
        "description": 'As PredictRequest, or `{"instances": [...]}` with rows as objects or '
        "as lists in signature order",
        "oneOf": [_ref("PredictRequest"), _object(["instances"], instances=ANY_LIST)],
    },
    "PredictResponse": _object(
        ["model", "version", "request_id", "predictions"],
        model=TEXT,
        version={**INTEGER, "description": "The version that answered (X-Model-Version)"},
        request_id={**TEXT, "description": "Also the X-Request-Id header; the caller's is kept"},
        predictions={**ANY_LIST, "description": "One per record: class label or number"},
        classes={**ANY_LIST, "description": "Classifiers: the class order"},
        probabilities={
            "type": "array",
            "items": {"type": "array", "items": _nullable({"type": "number"})},
            "description": "Classifiers: one list per record, in `classes` order",
        },
    ),
    "ModelList": _object(["models"], models={"type": "array", "items": OBJECT}),
    "ModelInfo": _object(
        ["name", "version", "flavor"],
        name=TEXT,
        version=INTEGER,
        alias=_nullable(TEXT),
        flavor=TEXT,
        output=OBJECT,
        signature=_nullable(OBJECT),
        metrics=_nullable(OBJECT),
        artifact_sha256=_nullable(TEXT),
        created_at=TEXT,
    ),
    "FeedbackItem": _object(
        ["request_id"],
        request_id={"oneOf": [{**TEXT, "maxLength": 128}, INTEGER]},
        row={"oneOf": [{**INTEGER, "minimum": 0, "maximum": 99_999_999}, TEXT]},
        label={"description": "The true class or number"},
        value={"type": "number", "description": "A business value"},
        at={"description": "When the truth became known: ISO time or epoch seconds"},
    ),
    "FeedbackRequest": {
        "oneOf": [
            _ref("FeedbackItem"),
            {"type": "array", "items": _ref("FeedbackItem")},
            _object(["feedback"], feedback={"type": "array", "items": _ref("FeedbackItem")}),
        ]
    },
    "FeedbackResponse": _object(
        ["model", "accepted", "rejected", "unknown_ids"],
        model=TEXT,
        request_id=TEXT,
        accepted=INTEGER,
        rejected={"type": "array", "items": OBJECT},
        unknown_ids={**INTEGER, "description": "Request ids the log does not know"},
        unknown_sample={"type": "array", "items": TEXT},
        duplicates=INTEGER,
        unknown_not_stored={
            **INTEGER,
            "description": "Items naming unknown ids left out (monitoring.feedback_unknown_limit)",
        },
    ),
    "FeedbackRefused": {"allOf": [_ref("Error"), _ref("FeedbackResponse")]},
    "MonitoringSummary": _object(["model"], model=TEXT, results=OBJECT),
    "V2ServerMetadata": _object(
        ["name", "version", "extensions"],
        name=TEXT,
        version=TEXT,
        extensions={"type": "array", "items": TEXT},
    ),
    "V2ModelList": _object(["models"], models={"type": "array", "items": TEXT}),
    "V2ModelMetadata": _object(
        ["name", "versions", "platform", "inputs", "outputs"],
        name=TEXT,
        versions={"type": "array", "items": TEXT},
        platform=TEXT,
        inputs={"type": "array", "items": OBJECT},
        outputs={"type": "array", "items": OBJECT},
    ),
    "V2ModelReady": _object(["name", "ready"], name=TEXT, ready={"type": "boolean"}, error=TEXT),
    "V2Tensor": _object(
        ["name", "shape", "datatype"],
        name=TEXT,
        shape={"type": "array", "items": {**INTEGER, "minimum": 0}},
        datatype={
            **TEXT,
            "enum": [
                "BOOL",
                "UINT8",
                "UINT16",
                "UINT32",
                "UINT64",
                "INT8",
                "INT16",
                "INT32",
                "INT64",
                "FP16",
                "FP32",
                "FP64",
                "BYTES",
            ],
        },
        data=ANY_LIST,
        parameters=OBJECT,
    ),
    "InferRequest": _object(
        ["inputs"],
        id={**TEXT, "maxLength": 128},
        parameters=OBJECT,
        inputs={"type": "array", "items": _ref("V2Tensor"), "minItems": 1},
        outputs={"type": "array", "items": OBJECT},
    ),
    "InferResponse": _object(
        ["model_name", "model_version", "id", "outputs"],
        model_name=TEXT,
        model_version=TEXT,
        id=TEXT,
        outputs={"type": "array", "items": OBJECT},
    ),
}


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


def document(
    server: ServerState,
    caller: Caller | None = None,
    open_routes: Collection[str] = DEFAULT_OPEN_ROUTES,
) -> dict[str, Any]:
    """The OpenAPI 3.0 document: every route, every status it answers, the bodies. Its
    examples come from a model ``caller`` may see; the routes in ``open_routes`` need no
    token."""
    served = [
        item for item in server.pool.current().values() if caller is None or caller.sees(item.name)
    ]
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "ferryman model server",
            "version": __version__,
            "description": "The simple JSON API, the Open Inference Protocol (V2) under /v2, "
            "SageMaker's contract at /ping and /invocations, feedback and monitoring.",
        },
        "paths": paths(_example(served), served[0].name if served else None, open_routes),
        "components": {"schemas": SCHEMAS, "securitySchemes": SECURITY_SCHEMES},
    }


async def openapi_json(request: Request) -> Response:
    gate: Gate = request.app.state.gate
    return json_response(document(state_of(request), caller_of(request), gate.open_routes))


# The page fetches its document itself: when tokens are on, /openapi.json needs a viewer
# token, so a 401 or 403 shows a token field; the token is kept in the tab's sessionStorage
# and sent (by Swagger UI's requestInterceptor) with the document and every "Try it out".
PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>ferryman model server</title>
<link rel="stylesheet" href="/docs/static/swagger-ui.css"></head>
<body>
<form id="token" hidden style="font-family: sans-serif; margin: 1em">
<label>This server asks for an API token (a viewer's or higher) to show its API:
<input id="secret" type="password" autocomplete="off" placeholder="fm_..." size="50"></label>
<button>Show</button> <span id="said"></span></form>
<div id="ui"></div>
<script src="/docs/static/swagger-ui-bundle.js"></script>
<script>
const KEY = "ferryman-token";
function authorization() {
  const token = sessionStorage.getItem(KEY);
  return token ? {Authorization: "Bearer " + token} : {};
}
async function show() {
  const form = document.getElementById("token");
  const answer = await fetch("/openapi.json", {headers: authorization()});
  if (answer.status === 401 || answer.status === 403 || answer.status === 429) {
    const tried = sessionStorage.getItem(KEY) !== null;
    document.getElementById("said").textContent = tried
      ? "refused (" + answer.status + "): " + (await answer.json()).error : "";
    form.hidden = false;
    return;
  }
  form.hidden = true;
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#ui",
    requestInterceptor: (request) => {
      Object.assign(request.headers, authorization());
      return request;
    },
  });
}
document.getElementById("token").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem(KEY, document.getElementById("secret").value.trim());
  show();
});
show();
</script>
</body></html>"""


async def docs_page(request: Request) -> Response:
    return HTMLResponse(PAGE)


routes = [
    Route("/openapi.json", openapi_json, methods=["GET"]),
    Route("/docs", docs_page, methods=["GET"]),
    Mount("/docs/static", StaticFiles(directory=str(swagger_ui_path)), name="docs-static"),
]
