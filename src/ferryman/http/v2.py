"""Open Inference Protocol (V2, the KServe / Triton / MLServer REST protocol).

Follows kserve/open-inference-protocol ``inference_rest.md``: health, server and model
metadata, inference, each also under ``/versions/{version}``. Errors are ``{"error": "..."}``.
The body is read as JSON unless ``Inference-Header-Content-Length`` says a binary part follows
(Triton's binary tensor extension, supported both ways).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np
import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ferryman._version import __version__
from ferryman.core.names import check_name
from ferryman.core.refs import ModelRef, parse_version_number
from ferryman.errors import InvalidInputError, ModelUnavailableError, RequestError
from ferryman.http.access import caller_of
from ferryman.http.bodies import MAX_REQUEST_ID, decode, parse_json
from ferryman.http.errors import json_response
from ferryman.http.server_state import Exchange, state_of
from ferryman.http.v2_tensors import (
    Tensor,
    column_datatype,
    output_tensor,
    read_inputs,
    values_datatype,
)
from ferryman.serving.codec import ModelInput, records_from_columns
from ferryman.serving.dataplane import Answer
from ferryman.serving.served import ServedVersion

HEADER_LENGTH = "inference-header-content-length"
EXTENSIONS = ["binary_tensor_data"]
NUMERIC = {"FP16", "FP32", "FP64", "INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16",
           "UINT32", "UINT64"}  # fmt: skip


def _ref(request: Request) -> ModelRef:
    name = request.path_params["name"]
    version = request.path_params.get("version")
    if version is None:
        return ModelRef(check_name(name), alias=state_of(request).pool.settings.alias)
    return ModelRef(check_name(name), version=parse_version_number(version, f"{name}/{version}"))


async def _json_answer(
    request: Request, endpoint: str, body: Callable[[Exchange], Awaitable[dict[str, Any]]]
) -> Response:
    """A JSON answer about a model, in the shared frame (ids, metrics, V2 error shape)."""
    server = state_of(request)

    async def answer(exchange: Exchange) -> Response:
        return json_response(await body(exchange), 200, exchange.headers)

    return await server.handle(request, endpoint, answer, v2=True)


async def live(request: Request) -> Response:
    return json_response({"live": True})


async def ready(request: Request) -> Response:
    if state_of(request).pool.ready:
        return json_response({"ready": True})
    return json_response({"error": "the server is still loading its models"}, 503)


async def server_metadata(request: Request) -> Response:
    return json_response({"name": "ferryman", "version": __version__, "extensions": EXTENSIONS})


async def model_list(request: Request) -> Response:
    pool = state_of(request).pool
    names = [*pool.names, *pool.unavailable]
    caller = caller_of(request)
    if caller is not None:  # a scoped token lists only the models it may see
        names = [name for name in names if caller.sees(name)]
    return json_response({"models": sorted(names)})


async def model_ready(request: Request) -> Response:
    """200 ``{"name", "ready": true}``; a model that cannot be loaded: 503 with ``"ready":
    false`` and the reason as ``error``."""
    server = state_of(request)

    async def answer(exchange: Exchange) -> Response:
        try:
            runner = await server.pool.runner(_ref(request))
        except ModelUnavailableError as exc:
            body = {"name": exc.name, "ready": False, "error": str(exc)}
            return json_response(body, 503, exchange.headers)
        exchange.answered_by(runner.served)
        body = {"name": runner.served.name, "ready": runner.served.warmed}
        return json_response(body, 200, exchange.headers)

    return await server.handle(request, "v2_ready", answer, v2=True)


async def model_metadata(request: Request) -> Response:
    server = state_of(request)

    async def body(exchange: Exchange) -> dict[str, Any]:
        runner = await server.pool.runner(_ref(request))
        exchange.answered_by(runner.served)
        return metadata(runner.served)

    return await _json_answer(request, "v2_metadata", body)


def metadata(served: ServedVersion) -> dict[str, Any]:
    signature = served.loaded.signature
    inputs = [
        {"name": c.name, "datatype": column_datatype(c), "shape": [-1]}
        # what the column does with unknown categories and unseen nulls, where they can arise
        | ({"parameters": dict(tolerance)} if (tolerance := c.tolerance()) else {})
        for c in (signature.columns if signature else ())
    ]
    classes = served.classes
    label_type = "FP64"
    if classes is not None:
        label_type = values_datatype(list(classes))
    outputs = [{"name": "predict", "datatype": label_type, "shape": [-1]}]
    if classes is not None:
        outputs.append({"name": "predict_proba", "datatype": "FP64", "shape": [-1, len(classes)]})
    return {
        "name": served.name,
        "versions": [str(served.number)],
        "platform": served.version.flavor,
        "inputs": inputs,
        "outputs": outputs,
    }


async def infer(request: Request) -> Response:
    server = state_of(request)

    async def answer(exchange: Exchange) -> Response:
        wanted: dict[str, bool] = {}

        async def read(served: ServedVersion, exchange: Exchange) -> ModelInput:
            body = await exchange.body()
            return await decode(body, lambda: check(served, body))

        def check(served: ServedVersion, body: bytes) -> ModelInput:
            document, binary = _split(request, body)
            if not isinstance(document, dict):
                raise RequestError('the inference request must be a JSON object with "inputs"')
            given_id = document.get("id")
            if given_id is not None and (
                not isinstance(given_id, str) or len(given_id) > MAX_REQUEST_ID
            ):
                raise RequestError(f'"id" must be text of at most {MAX_REQUEST_ID} characters')
            wanted.update(_wanted_outputs(document, served))
            item = _model_input(served, read_inputs(document, binary))
            if given_id is not None:
                exchange.logged_id = given_id  # the answer's id too
            return item

        result = await server.plane.predict(_ref(request), read, exchange)
        exchange.took(result)
        return _response(result, exchange.logged_id, wanted, exchange)

    return await server.handle(request, "v2_infer", answer, v2=True)


def _split(request: Request, body: bytes) -> tuple[Any, bytes | None]:
    header = request.headers.get(HEADER_LENGTH)
    if header is None:
        return parse_json(body), None
    if not (header.isascii() and header.isdigit()) or int(header) > len(body):
        raise RequestError(
            f"{HEADER_LENGTH} is {header!r}; it must be the length of the JSON part "
            f"(the body has {len(body)} bytes)"
        )
    size = int(header)
    return parse_json(body[:size]), body[size:]


def _wanted_outputs(document: dict[str, Any], served: ServedVersion) -> dict[str, bool]:
    """Output name -> send as binary. All outputs when the request names none."""
    available = ["predict"] + (["predict_proba"] if served.classes is not None else [])
    params = document.get("parameters")
    binary_default = bool(params.get("binary_data_output")) if isinstance(params, dict) else False
    requested = document.get("outputs")
    if requested is None:
        return dict.fromkeys(available, binary_default)
    if not isinstance(requested, list):
        raise RequestError('"outputs" must be a list of {"name": ...} objects')
    wanted: dict[str, bool] = {}
    for item in requested:
        name = item.get("name") if isinstance(item, dict) else None
        if name not in available:
            raise RequestError(f"unknown output {name!r}; this model has {available}")
        out_params = item.get("parameters")
        binary = binary_default
        if isinstance(out_params, dict) and "binary_data" in out_params:
            binary = bool(out_params["binary_data"])
        wanted[name] = binary
    return wanted


def _model_input(served: ServedVersion, tensors: list[Tensor]) -> ModelInput:
    columns = list(served.codec.columns)
    names = [t.name for t in tensors]
    if (
        len(tensors) == 1
        and (tensors[0].name not in columns or len(columns) == 1)
        and (
            len(tensors[0].shape) == 2
            and (tensors[0].name not in columns or tensors[0].shape[1] != 1)
        )
    ):
        return _from_matrix(served, tensors[0], columns)
    unknown = [n for n in names if n not in columns]
    if unknown:
        raise InvalidInputError(
            f"unknown input(s) {unknown}: send one input per column named {columns}, or one "
            f"2-D input of shape [rows, {len(columns)}] in that column order"
        )
    rows = {t.shape[0] for t in tensors}
    if len(rows) > 1:
        raise RequestError(f"inputs disagree on the number of rows: {sorted(rows)}")
    for tensor in tensors:
        if len(tensor.shape) > 2 or (len(tensor.shape) == 2 and tensor.shape[1] != 1):
            raise RequestError(
                f"input {tensor.name!r} has shape {list(tensor.shape)}; a column is [rows] "
                "or [rows, 1]"
            )
    columns_data = {t.name: list(t.values) for t in tensors}
    return served.codec.encode(records_from_columns(columns_data))


def _from_matrix(served: ServedVersion, tensor: Tensor, columns: list[str]) -> ModelInput:
    rows, width = tensor.shape
    if width != len(columns):
        raise InvalidInputError(
            f"input {tensor.name!r} has {width} columns; the model takes {len(columns)} "
            f"({', '.join(columns)})"
        )
    if tensor.datatype in NUMERIC and served.codec.fast:
        matrix = np.asarray(tensor.values, dtype=np.float64).reshape(rows, width)
        return served.codec.encode_array(matrix)
    values = list(tensor.values)
    records = [
        dict(zip(columns, values[i * width : (i + 1) * width], strict=True)) for i in range(rows)
    ]
    return served.codec.encode(records)


def _response(
    result: Answer, response_id: str, wanted: dict[str, bool], exchange: Exchange
) -> Response:
    served = result.served
    rows = len(result.labels)
    produced = {"predict": result.labels, "predict_proba": result.proba}
    outputs: list[dict[str, Any]] = []
    parts: list[bytes] = []
    for name, binary in wanted.items():
        values = produced[name]
        if values is None:
            continue
        tensor, raw = output_tensor(name, np.asarray(values), rows, binary)
        outputs.append(tensor)
        parts.append(raw)
    body = {
        "model_name": served.name,
        "model_version": str(served.number),
        "id": response_id,
        "outputs": outputs,
    }
    header = orjson.dumps(body)
    if not any(parts):
        return Response(header, 200, exchange.headers, media_type="application/json")
    headers = {**exchange.headers, HEADER_LENGTH: str(len(header))}
    return Response(header + b"".join(parts), 200, headers, media_type="application/octet-stream")


routes = [
    Route("/v2", server_metadata, methods=["GET"]),
    Route("/v2/health/live", live, methods=["GET"]),
    Route("/v2/health/ready", ready, methods=["GET"]),
    Route("/v2/models", model_list, methods=["GET"]),
    Route("/v2/models/{name}", model_metadata, methods=["GET"]),
    Route("/v2/models/{name}/ready", model_ready, methods=["GET"]),
    Route("/v2/models/{name}/infer", infer, methods=["POST"]),
    Route("/v2/models/{name}/versions/{version}", model_metadata, methods=["GET"]),
    Route("/v2/models/{name}/versions/{version}/ready", model_ready, methods=["GET"]),
    Route("/v2/models/{name}/versions/{version}/infer", infer, methods=["POST"]),
]
