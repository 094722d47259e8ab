"""The one table from exception to HTTP status, and the JSON error bodies.

Simple API and SageMaker: ``{"error": message, "kind": ..., "request_id": ...}`` plus
``problems`` (each with row and column) for input that breaks the signature; status 422 for
such input. Open Inference Protocol (V2): the protocol's ``{"error": message}``, with 400 for
anything wrong with the request (the protocol's own rule) and the same other statuses.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from ferryman.errors import (
    AliasError,
    AuthenticationError,
    ConfigError,
    FerrymanError,
    FlavorError,
    InvalidInputError,
    InvalidReferenceError,
    ModelUnavailableError,
    NotAClassifierError,
    NotFoundError,
    PermissionDeniedError,
    PredictionError,
    RequestError,
    StoreError,
    UnavailableError,
    UnsupportedError,
)


class HttpError(FerrymanError):
    """An error whose status the HTTP layer decides itself (413, 415, 405, ...)."""

    def __init__(self, status: int, message: str, kind: str) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind


_TABLE: tuple[tuple[type[Exception], int, str], ...] = (
    (AuthenticationError, 401, "unauthorized"),
    (PermissionDeniedError, 403, "forbidden"),
    (InvalidInputError, 422, "invalid_input"),
    (NotAClassifierError, 422, "invalid_input"),
    (RequestError, 400, "bad_request"),
    (InvalidReferenceError, 400, "bad_reference"),
    (NotFoundError, 404, "not_found"),
    (AliasError, 409, "conflict"),
    (ModelUnavailableError, 503, "model_unavailable"),
    (UnavailableError, 503, "unavailable"),
    (UnsupportedError, 501, "unsupported"),
    (PredictionError, 500, "prediction_failed"),
    # the server's own storage or model files failing is not the caller's fault
    (StoreError, 500, "internal"),
    (FlavorError, 500, "internal"),
    (ConfigError, 500, "internal"),
)


def status_of(exc: Exception) -> tuple[int, str]:
    """HTTP status and error kind for ``exc`` (simple API rules)."""
    if isinstance(exc, HttpError):
        return exc.status, exc.kind
    for kind, status, name in _TABLE:
        if isinstance(exc, kind):
            return status, name
    if isinstance(exc, FerrymanError):
        return 400, "bad_request"
    return 500, "internal"


def v2_status_of(exc: Exception) -> int:
    """The status V2 uses: 400 for every fault in the request, else as the simple API."""
    status, _ = status_of(exc)
    return 400 if status == 422 else status


def message_of(exc: Exception, request_id: str) -> str:
    status, _ = status_of(exc)
    if status == 500 and not isinstance(exc, PredictionError):
        return f"internal error (request id {request_id}); the server log has the details"
    text = str(exc)
    if status == 500:
        text = f"{text} (request id {request_id})"
    return text


def error_body(exc: Exception, request_id: str) -> dict[str, Any]:
    _, kind = status_of(exc)
    body: dict[str, Any] = {
        "error": message_of(exc, request_id),
        "kind": kind,
        "request_id": request_id,
    }
    if isinstance(exc, InvalidInputError) and exc.problems:
        body["problems"] = [_problem(p) for p in exc.problems]
        if exc.more:  # problems past the first MAX_PROBLEMS: counted, not listed
            body["more_problems"] = exc.more
    return body


def _problem(problem: object) -> Any:
    to_dict = getattr(problem, "to_dict", None)
    return to_dict() if callable(to_dict) else {"message": str(problem)}


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY),
        status_code=status,
        headers=headers,
        media_type="application/json",
    )


def error_response(exc: Exception, request_id: str, headers: dict[str, str]) -> Response:
    status, _ = status_of(exc)
    return json_response(error_body(exc, request_id), status, headers)


def v2_error_response(exc: Exception, request_id: str, headers: dict[str, str]) -> Response:
    return json_response({"error": message_of(exc, request_id)}, v2_status_of(exc), headers)
