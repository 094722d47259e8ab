"""Reading request bodies: request ids, content types, the size limit (on a real Starlette
Request fed by an ASGI receive), JSON documents and CSV read by the signature's kinds."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.requests import Request
from starlette.types import Message

from ferryman.core.signature import ColumnSpec, Signature
from ferryman.errors import RequestError
from ferryman.http.bodies import (
    MAX_REQUEST_ID,
    is_json_type,
    media_type,
    parse_json,
    read_body,
    records_from_csv,
    records_from_json,
    request_id,
    unsupported_type,
)
from ferryman.http.errors import HttpError

SIGNATURE = Signature(
    (
        ColumnSpec("size", "float", "float64"),
        ColumnSpec("rooms", "integer", "int64"),
        ColumnSpec("new", "boolean", "bool"),
        ColumnSpec("code", "string", "object"),
        ColumnSpec("color", "string", "object", categories=("blue", "red")),
    )
)


class Feed:
    """An ASGI receive callable that hands out ``chunks`` and counts the calls."""

    def __init__(self, chunks: Sequence[bytes]) -> None:
        self.chunks = list(chunks)
        self.calls = 0

    async def __call__(self) -> Message:
        self.calls += 1
        if not self.chunks:
            return {"type": "http.disconnect"}
        chunk = self.chunks.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(self.chunks)}


def make_request(
    headers: Mapping[str, str | bytes] | None = None, chunks: Sequence[bytes] = (b"",)
) -> tuple[Request, Feed]:
    raw = [
        (
            name.lower().encode("latin-1"),
            value if isinstance(value, bytes) else value.encode("latin-1"),
        )
        for name, value in (headers or {}).items()
    ]
    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/models/m/predict",
        "raw_path": b"/models/m/predict",
        "query_string": b"",
        "root_path": "",
        "headers": raw,
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
    }
    feed = Feed(chunks)
    return Request(scope, feed), feed


def read(request: Request, limit: int) -> bytes:
    return asyncio.run(read_body(request, limit))


# -- request ids ----------------------------------------------------------------------------


def test_a_request_without_an_id_gets_a_fresh_one() -> None:
    first = request_id(make_request()[0])
    second = request_id(make_request()[0])
    assert len(first) == 32
    assert int(first, 16) >= 0
    assert first != second


@pytest.mark.parametrize("given_id", ["order-42", "a", "x" * MAX_REQUEST_ID, "with space ok"])
def test_a_sane_caller_id_is_kept(given_id: str) -> None:
    assert request_id(make_request({"x-request-id": given_id})[0]) == given_id


@pytest.mark.parametrize(
    "given_id",
    ["x" * (MAX_REQUEST_ID + 1), b"caf\xe9", b"tab\there", b"bell\x07", b"\x7f", ""],
)
def test_an_odd_caller_id_is_replaced(given_id: str | bytes) -> None:
    made = request_id(make_request({"x-request-id": given_id})[0])
    assert len(made) == 32
    assert made != given_id


# -- content types --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "kind"),
    [
        (None, None),
        ("application/json", "application/json"),
        ("Application/JSON; charset=UTF-8", "application/json"),
        ("  text/csv ;header=present", "text/csv"),
        ("", ""),
    ],
)
def test_media_type(header: str | None, kind: str | None) -> None:
    headers = {"content-type": header} if header is not None else {}
    assert media_type(make_request(headers)[0]) == kind


@pytest.mark.parametrize(
    ("kind", "is_json"),
    [
        (None, True),
        ("application/json", True),
        ("text/json", True),
        ("application/vnd.api+json", True),
        ("application/problem+json", True),
        ("text/csv", False),
        ("text/plain", False),
        ("application/json-seq", False),
        ("", False),
    ],
)
def test_is_json_type(kind: str | None, is_json: bool) -> None:
    assert is_json_type(kind) is is_json


def test_unsupported_type_is_415_naming_what_is_accepted() -> None:
    error = unsupported_type("text/plain", ("application/json", "text/csv"))
    assert isinstance(error, HttpError)
    assert (error.status, error.kind) == (415, "unsupported_media_type")
    assert "'text/plain'" in str(error)
    assert "application/json, text/csv" in str(error)


def test_a_form_body_is_told_the_header_curl_needs() -> None:
    error = unsupported_type("application/x-www-form-urlencoded", ("application/json",))
    assert "send one of: application/json" in str(error)
    assert "curl -d sends a form: add -H 'Content-Type: application/json'" in str(error)


# -- the size limit -------------------------------------------------------------------------


def test_read_body_joins_the_chunks() -> None:
    request, _ = make_request({"content-length": "11"}, [b"hello", b" ", b"world"])
    assert read(request, 100) == b"hello world"


def test_a_body_exactly_at_the_limit_is_read() -> None:
    request, _ = make_request({"content-length": "10"}, [b"x" * 10])
    assert read(request, 10) == b"x" * 10
    request, _ = make_request({}, [b"x" * 4, b"x" * 6])
    assert read(request, 10) == b"x" * 10


def test_a_declared_length_over_the_limit_is_413_before_reading() -> None:
    request, feed = make_request({"content-length": "11"}, [b"x" * 11])
    with pytest.raises(HttpError) as raised:
        read(request, 10)
    assert (raised.value.status, raised.value.kind) == (413, "too_large")
    assert "10 bytes" in str(raised.value)
    assert "--max-body-size" in str(raised.value)
    assert feed.calls == 0


def test_a_streamed_body_over_the_limit_is_413_as_soon_as_it_passes() -> None:
    request, feed = make_request({}, [b"x" * 6, b"x" * 6, b"x" * 6, b"x" * 6])
    with pytest.raises(HttpError) as raised:
        read(request, 10)
    assert raised.value.status == 413
    assert feed.calls == 2


@pytest.mark.parametrize("declared", ["abc", "-1", "1.5", "", "0x10"])
def test_a_malformed_content_length_is_400(declared: str) -> None:
    request, _ = make_request({"content-length": declared}, [b"{}"])
    with pytest.raises(HttpError) as raised:
        read(request, 100)
    assert (raised.value.status, raised.value.kind) == (400, "bad_request")


@pytest.mark.parametrize("declared", [b"\xb2", b"1\xb3", b"\xb9\xb9"])
def test_a_content_length_of_superscript_digits_is_400_not_a_crash(declared: bytes) -> None:
    """Header values are Latin-1; '²' passes str.isdigit() but int('²') raises ValueError,
    which the server turns into a 500."""
    request, _ = make_request({"content-length": declared}, [b"{}"])
    with pytest.raises(HttpError) as raised:
        read(request, 100)
    assert raised.value.status == 400


# -- JSON -----------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [b"", b"  \n\t", b"{", b"[1,", b"NaN", b"\xff", b"{'a': 1}"])
def test_unreadable_json_is_a_request_error(body: bytes) -> None:
    with pytest.raises(RequestError):
        parse_json(body)


def test_parse_json_reads_documents() -> None:
    assert parse_json(b' {"records": [{"a": 1.5, "b": null}]} ') == {
        "records": [{"a": 1.5, "b": None}]
    }
    assert parse_json(b"[]") == []


@pytest.mark.parametrize("literal", [-(2**63) - 1, 2**64])
def test_integers_beyond_64_bits_are_not_silently_rounded(literal: int) -> None:
    """orjson reads integers outside [-2**63, 2**64) as floats: -2**63 - 1 becomes -2**63
    (and then passes the int64 range check of an integer column)."""
    try:
        value = parse_json(str(literal).encode())
    except RequestError:
        return  # refusing them is fine too
    assert value == literal
    assert type(value) is int


def test_records_from_json_accepts_the_three_forms() -> None:
    rows = [{"a": 1}, {"a": 2}]
    assert records_from_json({"records": rows}) == rows
    assert records_from_json(rows) == rows
    assert records_from_json({"a": 1}) == [{"a": 1}]
    assert records_from_json({"records": []}) == []
    assert records_from_json([]) == []
    assert records_from_json({"instances": rows}, key="instances") == rows


def test_records_with_other_keys_are_one_record() -> None:
    document = {"records": [{"a": 1}], "extra": 2}
    assert records_from_json(document) == [document]


@pytest.mark.parametrize(
    ("document", "says"),
    [
        ({"records": 5}, '"records" must be a list'),
        ({"records": {"a": 1}}, '"records" must be a list'),
        (5, "single object"),
        ("text", "single object"),
        (None, "single object"),
        ([{"a": 1}, 2], "row 1 is a number"),
        ([[1, 2]], "row 0 is a list"),
        ({"records": [{"a": 1}, None]}, "row 1 is null"),
    ],
)
def test_records_from_json_refuses_other_shapes(document: Any, says: str) -> None:
    with pytest.raises(RequestError, match=says):
        records_from_json(document)


# -- CSV ------------------------------------------------------------------------------------


def test_csv_with_a_header_is_read_by_the_signature_kinds() -> None:
    body = b"size,rooms,new,code,color\n1.5,3,true,007,red\n2,4,0,x,blue\n"
    assert records_from_csv(body, SIGNATURE) == [
        {"size": 1.5, "rooms": 3, "new": True, "code": "007", "color": "red"},
        {"size": 2, "rooms": 4, "new": False, "code": "x", "color": "blue"},
    ]


def test_csv_without_a_header_is_in_signature_order() -> None:
    body = "\ufeff1e3,-2,FALSE,hello world,red\r\n\r\n,,,,\r\n".encode()
    assert records_from_csv(body, SIGNATURE) == [
        {"size": 1000.0, "rooms": -2, "new": False, "code": "hello world", "color": "red"},
        {"size": None, "rooms": None, "new": None, "code": None, "color": None},
    ]


def test_csv_keeps_what_is_not_its_kind_for_the_signature_check_to_name() -> None:
    body = b"big,1.5,maybe,12,green\n"
    assert records_from_csv(body, SIGNATURE) == [
        {"size": "big", "rooms": 1.5, "new": "maybe", "code": "12", "color": "green"}
    ]


def test_a_header_with_spaces_is_still_a_header() -> None:
    body = b"size, rooms ,new,code,color\n1,2,1,a,red\n"
    assert records_from_csv(body, SIGNATURE) == [
        {"size": 1, "rooms": 2, "new": True, "code": "a", "color": "red"}
    ]


def test_quoted_csv_fields() -> None:
    body = b'1,2,true,"a, b ""c""",red\n'
    assert records_from_csv(body, SIGNATURE)[0]["code"] == 'a, b "c"'


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"1,2,true\n", "CSV row 0 has 3 values; the model takes 5"),
        (b"size,rooms,new,code,color\n1,2,true,a,red,extra\n", "CSV row 0 has 6 values"),
        (b"\xff\xfe1,2\n", "not UTF-8"),
    ],
)
def test_bad_csv_is_a_request_error(body: bytes, says: str) -> None:
    with pytest.raises(RequestError, match=says):
        records_from_csv(body, SIGNATURE)


def test_empty_csv_is_no_rows() -> None:
    assert records_from_csv(b"", SIGNATURE) == []
    assert records_from_csv(b"size,rooms,new,code,color\n", SIGNATURE) == []
    assert records_from_csv(b"", None) == []


def test_csv_without_a_signature_takes_its_header_as_names() -> None:
    assert records_from_csv(b"a,b\n1,x\n2,y\n", None) == [
        {"a": "1", "b": "x"},
        {"a": "2", "b": "y"},
    ]


@settings(max_examples=150, deadline=None)
@given(body=st.binary(max_size=300))
def test_any_bytes_are_records_or_a_request_error(body: bytes) -> None:
    try:
        rows = records_from_csv(body, SIGNATURE)
    except RequestError:
        return
    assert all(list(row) == SIGNATURE.names for row in rows)
