"""The exception -> HTTP status table and the JSON error bodies of every protocol."""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
import pytest

from ferryman.errors import (
    AliasNotFoundError,
    ArtifactError,
    ConfigError,
    FlavorError,
    InvalidInputError,
    InvalidNameError,
    InvalidReferenceError,
    ModelFileError,
    ModelNotFoundError,
    NotAClassifierError,
    NotFoundError,
    OverloadedError,
    PredictionError,
    RequestError,
    StoreError,
    UnavailableError,
    UnsupportedError,
    VersionNotFoundError,
)
from ferryman.http.errors import (
    HttpError,
    error_body,
    error_response,
    json_response,
    message_of,
    status_of,
    v2_error_response,
    v2_status_of,
)
from ferryman.schema import Problem

RID = "rid-123"


def body_of(response: Any) -> Any:
    return orjson.loads(response.body)


@pytest.mark.parametrize(
    ("exc", "status", "kind"),
    [
        (InvalidInputError("bad rows"), 422, "invalid_input"),
        (NotAClassifierError("no proba"), 422, "invalid_input"),
        (RequestError("not JSON"), 400, "bad_request"),
        (InvalidReferenceError("bad ref"), 400, "bad_reference"),
        (NotFoundError("gone"), 404, "not_found"),
        (ModelNotFoundError("no model"), 404, "not_found"),
        (VersionNotFoundError("no version"), 404, "not_found"),
        (AliasNotFoundError("no alias"), 404, "not_found"),
        (UnavailableError("loading"), 503, "unavailable"),
        (OverloadedError("queue full"), 503, "unavailable"),
        (UnsupportedError("BF16"), 501, "unsupported"),
        (PredictionError("model raised"), 500, "prediction_failed"),
        (InvalidNameError("bad name"), 400, "bad_request"),
        (HttpError(413, "too big", "too_large"), 413, "too_large"),
        (HttpError(415, "odd type", "unsupported_media_type"), 415, "unsupported_media_type"),
        (ValueError("a bug"), 500, "internal"),
        (KeyError("a bug"), 500, "internal"),
        (RuntimeError("a bug"), 500, "internal"),
    ],
)
def test_status_table(exc: Exception, status: int, kind: str) -> None:
    assert status_of(exc) == (status, kind)


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (InvalidInputError("bad rows"), 400),
        (NotAClassifierError("no proba"), 400),
        (RequestError("not JSON"), 400),
        (InvalidReferenceError("bad ref"), 400),
        (ModelNotFoundError("no model"), 404),
        (VersionNotFoundError("no version"), 404),
        (OverloadedError("queue full"), 503),
        (UnsupportedError("BF16"), 501),
        (PredictionError("model raised"), 500),
        (HttpError(413, "too big", "too_large"), 413),
        (ValueError("a bug"), 500),
    ],
)
def test_v2_uses_400_for_every_fault_in_the_request(exc: Exception, status: int) -> None:
    assert v2_status_of(exc) == status


@pytest.mark.parametrize(
    "exc",
    [
        StoreError("database is locked"),
        ArtifactError("artifact ab12 does not match its hash"),
        ModelFileError("model file is corrupt"),
        FlavorError("xgboost is not installed"),
        ConfigError("FERRYMAN_HOME is not writable"),
    ],
)
def test_server_side_failures_are_not_blamed_on_the_request(exc: Exception) -> None:
    """Loading a version on first use (``/models/m/7/predict``) can fail on the server's side:
    a missing or corrupt artifact, a locked database, a flavor library not installed. The
    fallback for FerrymanError answers those 400 "bad_request", telling the caller to fix a
    request that was fine."""
    status, kind = status_of(exc)
    assert status >= 500, (status, kind)
    assert v2_status_of(exc) >= 500


def test_internal_errors_hide_their_text_and_name_the_request() -> None:
    message = message_of(RuntimeError("password=hunter2 in /secret/path"), RID)
    assert "hunter2" not in message
    assert "/secret" not in message
    assert RID in message
    body = error_body(KeyError("column"), RID)
    assert body == {
        "error": message_of(KeyError("column"), RID),
        "kind": "internal",
        "request_id": RID,
    }


def test_prediction_errors_keep_their_text_and_add_the_request_id() -> None:
    message = message_of(PredictionError("model m/1 failed to predict: shapes differ"), RID)
    assert "shapes differ" in message
    assert f"(request id {RID})" in message


@pytest.mark.parametrize(
    "exc",
    [RequestError("the body is not JSON"), ModelNotFoundError("model 'x' is not served"),
     HttpError(413, "over the limit", "too_large"), UnsupportedError("BF16 is not supported")],
)  # fmt: skip
def test_client_errors_say_what_went_wrong(exc: Exception) -> None:
    assert message_of(exc, RID) == str(exc)


def test_error_body_shape_for_signature_problems() -> None:
    problems = [
        Problem(None, "b", "unknown_column", "unknown column 'b'"),
        Problem(2, "a", "wrong_type", "row 2, column 'a': expected float, got str 'x'"),
    ]
    body = error_body(InvalidInputError("2 problems", problems), RID)
    assert set(body) == {"error", "kind", "request_id", "problems"}
    assert body["kind"] == "invalid_input"
    assert body["request_id"] == RID
    assert body["error"] == "2 problems"
    assert body["problems"] == [
        {"row": None, "column": "b", "kind": "unknown_column", "message": "unknown column 'b'"},
        {
            "row": 2,
            "column": "a",
            "kind": "wrong_type",
            "message": "row 2, column 'a': expected float, got str 'x'",
        },
    ]


def test_error_body_without_problems_has_no_problems_key() -> None:
    assert set(error_body(InvalidInputError("bad"), RID)) == {"error", "kind", "request_id"}
    assert set(error_body(RequestError("bad"), RID)) == {"error", "kind", "request_id"}


def test_a_problem_without_to_dict_becomes_a_message() -> None:
    body = error_body(InvalidInputError("bad", ["plain text problem"]), RID)
    assert body["problems"] == [{"message": "plain text problem"}]


def test_json_response_serialises_numpy_and_sets_headers() -> None:
    response = json_response(
        {"a": np.arange(3), "b": np.float64(0.5), "c": [np.int64(2)]}, 201, {"x-one": "1"}
    )
    assert response.status_code == 201
    assert response.media_type == "application/json"
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-one"] == "1"
    assert body_of(response) == {"a": [0, 1, 2], "b": 0.5, "c": [2]}


def test_error_response_uses_the_table_and_keeps_headers() -> None:
    headers = {"x-request-id": RID, "x-model-version": "3"}
    response = error_response(VersionNotFoundError("no version 9"), RID, headers)
    assert response.status_code == 404
    assert response.headers["x-model-version"] == "3"
    assert body_of(response) == {"error": "no version 9", "kind": "not_found", "request_id": RID}

    internal = error_response(ZeroDivisionError("boom"), RID, {})
    assert internal.status_code == 500
    assert body_of(internal)["kind"] == "internal"
    assert "boom" not in body_of(internal)["error"]


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (InvalidInputError("bad", [Problem(0, "a", "null", "null")]), 400),
        (RequestError("bad"), 400),
        (ModelNotFoundError("no model"), 404),
        (PredictionError("failed"), 500),
        (ValueError("bug"), 500),
        (OverloadedError("busy"), 503),
    ],
)
def test_v2_error_response_is_only_an_error(exc: Exception, status: int) -> None:
    response = v2_error_response(exc, RID, {"x-request-id": RID})
    assert response.status_code == status
    assert response.headers["x-request-id"] == RID
    body = body_of(response)
    assert set(body) == {"error"}
    assert isinstance(body["error"], str)
    if status == 500:
        assert RID in body["error"]


def test_http_error_is_a_ferryman_error_with_status_and_kind() -> None:
    exc = HttpError(405, "GET is not allowed", "method_not_allowed")
    assert (exc.status, exc.kind, str(exc)) == (405, "method_not_allowed", "GET is not allowed")
    assert error_body(exc, RID) == {
        "error": "GET is not allowed",
        "kind": "method_not_allowed",
        "request_id": RID,
    }
