"""The OpenAPI description of every route the server answers: one row per route and method.

``OPERATIONS`` is the table; ``paths`` turns it into the document's ``paths``. Each row
names every status its route can return, with the body each one has. A route added to the
app without a row here fails ``tests/unit/http/test_openapi.py``.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from ferryman.config import DEFAULT_OPEN_ROUTES

JSON = "application/json"
ERROR = "#/components/schemas/Error"
V2_ERROR = "#/components/schemas/V2Error"


@dataclass(frozen=True, slots=True)
class Operation:
    """One route and method: what it takes and every status it answers."""

    path: str
    method: str
    summary: str
    tag: str
    params: tuple[str, ...] = ()  # path parameters, described in PARAMETERS
    body: dict[str, Any] | None = None  # the requestBody
    responses: dict[str, dict[str, Any]] = field(default_factory=dict)


def json_body(schema: str | dict[str, Any], description: str) -> dict[str, Any]:
    ref = {"$ref": f"#/components/schemas/{schema}"} if isinstance(schema, str) else schema
    return {"description": description, "content": {JSON: {"schema": ref}}}


def _errors(ref: str, statuses: dict[str, str]) -> dict[str, dict[str, Any]]:
    return {
        status: {"description": text, "content": {JSON: {"schema": {"$ref": ref}}}}
        for status, text in statuses.items()
    }


def errors(*statuses: str) -> dict[str, dict[str, Any]]:
    """The simple API's error answers for ``statuses``."""
    return _errors(ERROR, {s: ERROR_TEXT[s] for s in statuses})


def v2_errors(*statuses: str) -> dict[str, dict[str, Any]]:
    """The Open Inference Protocol's error answers (``{"error": ...}``) for ``statuses``."""
    return _errors(V2_ERROR, {s: ERROR_TEXT[s] for s in statuses})


ERROR_TEXT = {
    "400": "Malformed request: bad JSON or body shape, a bad model name or reference, or "
    "(V2) input that breaks the model's signature",
    "401": "No token, or a bad, revoked or expired one (when tokens are on; see "
    "WWW-Authenticate and docs/security.md)",
    "403": "The token's role is too low for this route",
    "404": "Unknown model or version (or one outside the token's scopes)",
    "405": "GET on a predict URL (use POST)",
    "413": "Body over the size limit (--max-body-size)",
    "409": "Nothing to roll back to",
    "415": "A Content-Type the route does not read, or a charset other than UTF-8",
    "422": "Input does not match the model's signature (see problems and more_problems), or "
    "the model fails on it",
    "429": "Too many refused tokens from this address: wait Retry-After seconds",
    "500": "The server or the model failed (with a request id; the server log has details)",
    "501": "A feature of the protocol this server does not support (BF16 tensors)",
    "503": "Still loading, overloaded, the model cannot be loaded (the reason), or "
    "monitoring is off",
}
TEXT = {"schema": {"type": "string"}}
EMPTY = {"description": "No body"}

PARAMETERS: dict[str, dict[str, Any]] = {
    "ref": {
        "name": "ref",
        "in": "path",
        "required": True,
        "description": "`name` (the served alias), `name@alias` or `name/3` (URL-encode `/` "
        "as %2F if your client needs to)",
        "schema": {"type": "string", "minLength": 1},
    },
    "name": {
        "name": "name",
        "in": "path",
        "required": True,
        "description": "A model name",
        "schema": {"type": "string", "minLength": 1},
    },
    "version": {
        "name": "version",
        "in": "path",
        "required": True,
        "description": "A version number",
        "schema": {"type": "string", "minLength": 1},
    },
    "alias": {
        "name": "alias",
        "in": "path",
        "required": True,
        "description": "An alias name (production, staging, ...)",
        "schema": {"type": "string", "minLength": 1},
    },
    "path": {
        "name": "path",
        "in": "path",
        "required": True,
        "description": "A file of the page's assets",
        "schema": {"type": "string", "minLength": 1},
    },
}

PREDICT_BODY = {
    "required": True,
    "content": {
        JSON: {"schema": {"$ref": "#/components/schemas/PredictRequest"}},
        "text/csv": TEXT,
    },
}
PREDICTED = json_body("PredictResponse", "Predictions")
FEEDBACK_BODY = {
    "required": True,
    "content": {JSON: {"schema": {"$ref": "#/components/schemas/FeedbackRequest"}}},
}
INFER_BODY = {
    "required": True,
    "content": {
        JSON: {"schema": {"$ref": "#/components/schemas/InferRequest"}},
        "application/octet-stream": {
            "schema": {"type": "string", "format": "binary"},
            "description": "Triton's binary tensor extension: JSON, then the tensors' bytes "
            "(Inference-Header-Content-Length gives the JSON part's length)",
        },
    },
}
INFERRED = {
    "description": "Outputs (application/octet-stream when an output is sent binary)",
    "content": {
        JSON: {"schema": {"$ref": "#/components/schemas/InferResponse"}},
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
    },
}
ALIAS_BODY = {
    "required": True,
    "content": {
        JSON: {
            "schema": {
                "type": "object",
                "properties": {"version": {"type": "integer", "minimum": 1}},
                "required": ["version"],
            }
        }
    },
}
ALIAS_MOVED = json_body(
    {"type": "object"}, "The move: model, alias, kind, from_version, to_version, actor, at"
)
ALIAS_REFUSED = errors("400", "404", "409", "415", "500")
MODEL_INFO = json_body("ModelInfo", "The version, its signature and metrics")
V2_METADATA = json_body("V2ModelMetadata", "The model's inputs and outputs")
V2_READY = {
    "200": json_body("V2ModelReady", "Whether the model is warmed up"),
    "503": json_body("V2ModelReady", "The model cannot be loaded (ready false, the reason)"),
}


def _v2_model(suffix: str, versions: bool) -> list[Operation]:
    """The three V2 model routes under ``/v2/models/{name}`` (or ``.../versions/{version}``)."""
    base = "/v2/models/{name}" + ("/versions/{version}" if versions else "")
    params = ("name", "version") if versions else ("name",)
    where = f" {suffix}" if suffix else ""
    return [
        Operation(
            base,
            "get",
            f"V2: model metadata{where}",
            "v2",
            params,
            responses={"200": V2_METADATA, **v2_errors("400", "404", "500", "503")},
        ),
        Operation(
            f"{base}/ready",
            "get",
            f"V2: model ready{where}",
            "v2",
            params,
            responses={**v2_errors("400", "404", "500"), **V2_READY},
        ),
        Operation(
            f"{base}/infer",
            "post",
            f"V2: inference{where}",
            "v2",
            params,
            INFER_BODY,
            {"200": INFERRED, **v2_errors("400", "404", "413", "415", "500", "501", "503")},
        ),
    ]


OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "/models",
        "get",
        "Served models",
        "simple",
        responses={
            "200": json_body(
                "ModelList",
                "Served models; one that cannot be loaded "
                "has `unavailable` (the reason) instead of details",
            )
        },
    ),
    Operation(
        "/models/{ref}",
        "get",
        "A served model's version, signature and metrics",
        "simple",
        ("ref",),
        responses={"200": MODEL_INFO, **errors("400", "404", "405", "500", "503")},
    ),
    Operation(
        "/models/{ref}/predict",
        "post",
        "Predict records",
        "simple",
        ("ref",),
        PREDICT_BODY,
        {"200": PREDICTED, **errors("400", "404", "413", "415", "422", "500", "503")},
    ),
    Operation(
        "/models/{name}/feedback",
        "post",
        "Ground truth (label) or business value for logged predictions",
        "monitoring",
        ("name",),
        FEEDBACK_BODY,
        {
            "200": json_body("FeedbackResponse", "What was stored, refused or left out"),
            "422": json_body("FeedbackRefused", "No record was accepted (each one's reason)"),
            **errors("400", "404", "413", "415", "500", "503"),
        },
    ),
    Operation(
        "/models/{name}/monitoring",
        "get",
        "The latest drift, quality and performance results and the alerts firing",
        "monitoring",
        ("name",),
        responses={
            "200": json_body("MonitoringSummary", "The latest results"),
            **errors("400", "404", "500", "503"),
        },
    ),
    Operation(
        "/models/{name}/aliases/{alias}",
        "put",
        "Point an alias at a version (operator role)",
        "registry",
        ("name", "alias"),
        ALIAS_BODY,
        {"200": ALIAS_MOVED, **ALIAS_REFUSED, **errors("413")},
    ),
    Operation(
        "/models/{name}/aliases/{alias}",
        "delete",
        "Remove an alias (operator role)",
        "registry",
        ("name", "alias"),
        responses={"200": ALIAS_MOVED, **ALIAS_REFUSED},
    ),
    Operation(
        "/models/{name}/aliases/{alias}/rollback",
        "post",
        "Move an alias back to the version it pointed at before (operator role)",
        "registry",
        ("name", "alias"),
        responses={"200": ALIAS_MOVED, **ALIAS_REFUSED},
    ),
    Operation(
        "/v2",
        "get",
        "V2: server metadata",
        "v2",
        responses={"200": json_body("V2ServerMetadata", "Name, version, extensions")},
    ),
    Operation(
        "/v2/health/live",
        "get",
        "V2: the server is up",
        "v2",
        responses={"200": json_body({"type": "object"}, "Live")},
    ),
    Operation(
        "/v2/health/ready",
        "get",
        "V2: every model is loaded",
        "v2",
        responses={
            "200": json_body({"type": "object"}, "Ready"),
            **v2_errors("503"),
        },
    ),
    Operation(
        "/v2/models",
        "get",
        "V2: the served model names",
        "v2",
        responses={"200": json_body("V2ModelList", "Model names")},
    ),
    *_v2_model("", versions=False),
    *_v2_model("(a version)", versions=True),
    Operation(
        "/ping",
        "get",
        "SageMaker health: 200 with an empty body when ready",
        "sagemaker",
        responses={"200": EMPTY, "503": EMPTY},
    ),
    Operation(
        "/invocations",
        "post",
        "SageMaker: predict with the default model",
        "sagemaker",
        body={
            "required": True,
            "content": {
                JSON: {"schema": {"$ref": "#/components/schemas/InvocationsRequest"}},
                "text/csv": TEXT,
            },
        },
        responses={
            "200": {
                "description": "Predictions (CSV when Accept asks for text/csv)",
                "content": {**PREDICTED["content"], "text/csv": TEXT},
            },
            **errors("400", "404", "413", "415", "422", "500", "503"),
        },
    ),
    Operation(
        "/execution-parameters",
        "get",
        "SageMaker batch transform: the server's execution parameters",
        "sagemaker",
        responses={"200": json_body({"type": "object"}, "MaxPayloadInMB and the like")},
    ),
    Operation(
        "/metrics",
        "get",
        "Prometheus metrics",
        "server",
        responses={
            "200": {"description": "Prometheus text format", "content": {"text/plain": TEXT}}
        },
    ),
    Operation(
        "/openapi.json",
        "get",
        "This document",
        "server",
        responses={"200": json_body({"type": "object"}, "OpenAPI 3.0 document")},
    ),
    Operation(
        "/docs",
        "get",
        "This document as an interactive page (Swagger UI, served locally)",
        "server",
        responses={"200": {"description": "HTML page", "content": {"text/html": TEXT}}},
    ),
    Operation(
        "/docs/static/{path}",
        "get",
        "The interactive page's scripts and styles",
        "server",
        ("path",),
        responses={"200": {"description": "The file"}, **errors("404")},
    ),
)


SECURITY_SCHEMES = {"bearerAuth": {"type": "http", "scheme": "bearer"}}


def _guarded(op: Operation, open_routes: Collection[str]) -> dict[str, dict[str, Any]]:
    """What a route needing a token may answer besides its own statuses: 401, 403, 429."""
    if op.path.removesuffix("/{path}") in open_routes:  # "/docs/static/{path}": the mount's
        return {}
    add = v2_errors if op.tag == "v2" else errors
    return add("401", "403", "429")


def paths(
    predict_example: dict[str, Any] | None,
    model_name: str | None,
    open_routes: Collection[str] = DEFAULT_OPEN_ROUTES,
) -> dict[str, Any]:
    """The document's ``paths``: every row of ``OPERATIONS``, with an example request body
    and model name from the served models when there are any. Routes that need a token when
    tokens are on (all but ``open_routes``) name the bearer scheme and the answers 401, 403,
    429."""
    out: dict[str, Any] = {}
    for op in OPERATIONS:
        params = []
        for name in op.params:
            param = dict(PARAMETERS[name])
            if model_name is not None and name in ("ref", "name"):
                param["schema"] = {**param["schema"], "example": model_name}
            params.append(param)
        item: dict[str, Any] = {"summary": op.summary, "tags": [op.tag]}
        if params:
            item["parameters"] = params
        if op.body is not None:
            body = op.body
            if predict_example is not None and op.body is PREDICT_BODY:
                content = {**body["content"], JSON: {**body["content"][JSON]}}
                content[JSON]["example"] = predict_example
                body = {**body, "content": content}
            item["requestBody"] = body
        guarded = _guarded(op, open_routes)
        if guarded:
            item["security"] = [{"bearerAuth": []}]
        item["responses"] = {**op.responses, **guarded}
        out.setdefault(op.path, {})[op.method] = item
    return out
