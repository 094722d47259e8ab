"""Reading request bodies: size limit, content types, JSON, CSV, request ids."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import orjson
from starlette.requests import ClientDisconnect, Request

from ferryman.core.predictions import MAX_REQUEST_ID
from ferryman.core.signature import Signature
from ferryman.errors import RequestError
from ferryman.http.errors import HttpError

JSON_TYPES = ("application/json", "text/json")
# an integer literal of 19 digits or more (not part of a decimal or exponent)
_BIG_INTEGER = re.compile(rb"(?<![\d.eE+-])-?\d{19,}(?![\d.eE])")
# every digit as "0": a run of 19 digits is then found by a plain byte search, ~50 times
# faster than the regular expression, which only runs when such a run exists
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_DIGIT_RUN = b"0" * 19
CSV_TYPES = ("text/csv", "application/csv")
# bodies from this size on are parsed and checked in a worker thread, off the event loop
LARGE_BODY = 64 * 1024
T = TypeVar("T")
UTF8_CHARSETS = frozenset({"utf-8", "utf8", "us-ascii", "ascii"})
CLIENT_CLOSED = 499  # the status common proxies log for a client that hung up


def request_id(request: Request) -> str:
    """The caller's ``X-Request-Id`` when it is sane (printable ASCII, at most 128 characters),
    else a new one."""
    given = request.headers.get("x-request-id")
    if given and len(given) <= MAX_REQUEST_ID and given.isascii() and given.isprintable():
        return given
    return uuid.uuid4().hex


def media_type(request: Request) -> str | None:
    raw = request.headers.get("content-type")
    if raw is None:
        return None
    return raw.split(";", 1)[0].strip().lower()


def check_charset(request: Request) -> None:
    """415 when the Content-Type names a charset other than UTF-8 (or its subset ASCII):
    every body is read as UTF-8, and reading another charset as UTF-8 would change its text."""
    raw = request.headers.get("content-type")
    if raw is None or ";" not in raw:
        return
    for param in raw.split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() != "charset":
            continue
        charset = value.strip().strip('"').strip().lower()
        if charset not in UTF8_CHARSETS:
            raise HttpError(
                415,
                f"unsupported charset {charset!r} in Content-Type; bodies are read as UTF-8: "
                "send charset=utf-8 (or no charset)",
                "unsupported_media_type",
            )


def is_json_type(kind: str | None) -> bool:
    return (
        kind is None
        or kind in JSON_TYPES
        or (kind.startswith("application/") and kind.endswith("+json"))
    )


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, or 413 as soon as it is known to pass ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not (declared.isascii() and declared.isdigit()):
            raise HttpError(400, f"bad Content-Length header {declared!r}", "bad_request")
        if int(declared) > limit:
            raise _too_large(int(declared), limit)
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _too_large(size, limit)
            chunks.append(chunk)
    except ClientDisconnect:
        # the caller's doing, not the server's: counted apart (499), never a 500
        raise HttpError(
            CLIENT_CLOSED,
            f"the client closed the connection after {size} bytes of the body",
            "client_closed",
        ) from None
    return b"".join(chunks)


async def decode(body: bytes, work: Callable[[], T]) -> T:
    """``work()``, which reads and checks ``body``: on the event loop for a small body (no
    thread hop on the fast path), in a worker thread for a large one, so that a big or hostile
    body never holds up the server's other requests (health checks included)."""
    if len(body) < LARGE_BODY:
        return work()
    return await asyncio.to_thread(work)


def _too_large(size: int, limit: int) -> HttpError:
    return HttpError(
        413,
        f"request body of {size} bytes or more is over the limit of {limit} bytes; send fewer "
        "rows per request or raise --max-body-size",
        "too_large",
    )


def parse_json(body: bytes) -> Any:
    if not body.strip():
        raise RequestError("the request body is empty; send a JSON document")
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise RequestError(f"the request body is not valid JSON: {exc}") from exc
    if _DIGIT_RUN in body.translate(_DIGITS_AS_ZERO) and _BIG_INTEGER.search(body):
        # orjson reads integers past 64 bits as floats, rounding them; the standard parser
        # keeps them exact, so the signature check can refuse them by their real value
        document = json.loads(body)
    return document


FORM_TYPE = "application/x-www-form-urlencoded"


def unsupported_type(kind: str, accepted: Sequence[str]) -> HttpError:
    """415 naming the types this route accepts (and the header curl -d needs)."""
    message = f"unsupported Content-Type {kind!r}; send one of: {', '.join(accepted)}"
    if kind == FORM_TYPE:
        # what ``curl -d`` sends when no header is given: say how to fix the command
        message += f" (curl -d sends a form: add -H 'Content-Type: {accepted[0]}')"
    return HttpError(415, message, "unsupported_media_type")


def records_from_json(document: Any, key: str = "records") -> list[Mapping[str, Any]]:
    """``{"records": [...]}``, a list of records, or a single record object."""
    if isinstance(document, dict):
        if key in document and len(document) == 1:
            rows = document[key]
            if not isinstance(rows, list):
                raise RequestError(f'"{key}" must be a list of objects, got {_kind(rows)}')
        else:
            rows = [document]
    elif isinstance(document, list):
        rows = document
    else:
        raise RequestError(
            f'the body must be {{"{key}": [{{...}}, ...]}} or a single object, '
            f"got {_kind(document)}"
        )
    bad = [i for i, row in enumerate(rows) if not isinstance(row, dict)]
    if bad:
        raise RequestError(
            f"every record must be a JSON object of column: value; row {bad[0]} is "
            f"{_kind(rows[bad[0]])}"
        )
    return rows


def records_from_csv(body: bytes, signature: Signature | None) -> list[dict[str, Any]]:
    """CSV rows as records. A first row equal to the column names is a header; otherwise the
    values are in signature order. Numbers and booleans are read by the signature's kinds."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RequestError(f"the CSV body is not UTF-8: {exc}") from exc
    try:
        rows = [row for row in csv.reader(io.StringIO(text)) if row]
    except csv.Error as exc:
        raise RequestError(f"the CSV body cannot be read: {exc}") from exc
    if signature is None:
        if not rows:
            return []
        header, rows = rows[0], rows[1:]
        return [dict(zip(header, row, strict=False)) for row in rows]
    names = signature.names
    if rows and [c.strip() for c in rows[0]] == names:
        rows = rows[1:]
    kinds = {c.name: c.kind for c in signature.columns}
    out: list[dict[str, Any]] = []
    for i, row in enumerate(rows):
        if len(row) != len(names):
            raise RequestError(
                f"CSV row {i} has {len(row)} values; the model takes {len(names)} "
                f"({', '.join(names)})"
            )
        out.append(
            {name: _csv_value(value, kinds[name]) for name, value in zip(names, row, strict=True)}
        )
    return out


def _csv_value(text: str, kind: str) -> Any:
    if text == "":
        return None
    if kind in ("float", "integer"):
        try:
            return int(text)
        except ValueError:
            pass
        try:
            return float(text)
        except ValueError:
            return text  # the signature check names it
    if kind == "boolean":
        lowered = text.strip().lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0"):
            return False
    return text


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "text", bool: "a boolean", type(None): "null"}
    return names.get(
        type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__
    )
