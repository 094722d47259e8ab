"""No input of any kind makes a real server answer 500 or show a stack trace.

One ``ferryman serve`` (the breast-cancer classifier on the array path, and ``shop`` with a
text category, an integer and a float on the DataFrame path; SageMaker answered by
``cancer``) takes property-based input on every endpoint: arbitrary bytes, arbitrary JSON,
JSON shaped almost right (records, V2 tensors, binary V2 bodies), odd content types,
headers, paths and methods. Every answer must be below 500, free of "Traceback", and any
answer that is not 2xx must be JSON with an "error" (SageMaker's ``/ping`` excepted, whose
body is always empty).
"""

from __future__ import annotations

import json
import math
import string
import struct
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from ferryman.config import Settings
from ferryman.registry import Registry
from live_server import LiveServer

FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FEWER = settings(FUZZ, max_examples=100)

SHOP_COLUMNS = ["color", "count", "x"]
COLORS = ["red", "green", "blue"]
POSTS = [
    "/models/cancer/predict",
    "/models/shop/predict",
    "/v2/models/cancer/infer",
    "/v2/models/shop/infer",
    "/invocations",
    "/models/shop/feedback",
    "/models/nope/feedback",
]
CONTENT_TYPES = [
    "application/json",
    "application/json; charset=utf-8",
    "APPLICATION/JSON",
    "text/json",
    "application/problem+json",
    "text/csv",
    "text/csv; header=present",
    "application/csv",
    "text/plain",
    "application/octet-stream",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=xyz",
    "application/xml",
    "",
    ";",
    "application/",
]
DATATYPES = [
    "BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64",
    "FP16", "FP32", "FP64", "BYTES", "BF16",
]  # fmt: skip
NUMPY = {
    "BOOL": "?", "UINT8": "<u1", "UINT16": "<u2", "UINT32": "<u4", "UINT64": "<u8",
    "INT8": "<i1", "INT16": "<i2", "INT32": "<i4", "INT64": "<i8", "FP16": "<f2",
    "FP32": "<f4", "FP64": "<f8",
}  # fmt: skip
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]
RIGHT_TYPES = {"color": "BYTES", "count": "INT64", "x": "FP64"}  # cancer's columns: FP64


def right_type(column: str) -> str:
    return RIGHT_TYPES.get(column, "FP64")


# -- the server ---------------------------------------------------------------------------


def shop_frame() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    frame = pd.DataFrame(
        {
            "color": rng.choice(COLORS, 150),
            "count": rng.integers(0, 10, 150),
            "x": rng.normal(size=150),
        }
    )
    frame["target"] = np.where((frame["color"] == "red") ^ (frame["x"] > 0), "yes", "no")
    return frame


@pytest.fixture(scope="module")
def cancer_columns(cancer_frame: pd.DataFrame) -> list[str]:
    return [str(c) for c in cancer_frame.columns if c != "target"]


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, cancer_frame: pd.DataFrame, cancer_model: Pipeline
) -> Iterator[LiveServer]:
    home = tmp_path_factory.mktemp("fuzz") / "store"
    registry = Registry(Settings.load(home=home, actor="tester", record_git=False))
    registry.register(
        cancer_model, "cancer", train_data=cancer_frame, target="target", aliases=["production"]
    )
    shop = shop_frame()
    encode = ColumnTransformer([("color", OneHotEncoder(), ["color"])], remainder="passthrough")
    model = Pipeline([("encode", encode), ("classify", LogisticRegression())])
    model.fit(shop.drop(columns="target"), shop["target"])
    registry.register(model, "shop", train_data=shop, target="target", aliases=["production"])
    registry.close()
    live = LiveServer(home, ("--sagemaker-model", "cancer")).start()
    yield live
    live.stop()


@pytest.fixture(scope="module")
def client(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as session:
        yield session


@pytest.fixture(scope="module")
def cancer_rows(cancer_frame: pd.DataFrame) -> list[dict[str, Any]]:
    features = cancer_frame.drop(columns="target").head(20)
    return [{str(k): float(v) for k, v in r.items()} for r in features.to_dict("records")]


def check(answer: httpx.Response) -> None:
    """The one property: below 500, no traceback, non-2xx answers are JSON errors."""
    request = answer.request
    where = (
        f"{request.method} {request.url.raw_path!r} -> {answer.status_code}: {answer.text[:300]}"
    )
    # 501 is the protocol's answer for a feature it names (BF16 tensors), by design
    assert answer.status_code < 500 or answer.status_code == 501, where
    assert b"Traceback" not in answer.content, where
    if 200 <= answer.status_code < 300 or request.method == "HEAD":
        return
    if answer.status_code in (307, 308):  # Starlette's redirect of a trailing slash
        assert answer.headers["location"].startswith("http://127.0.0.1"), where
        return
    if request.url.path == "/ping" and request.method == "GET":
        assert answer.content == b"", where
        return
    assert answer.headers.get("content-type", "").startswith("application/json"), where
    body = json.loads(answer.content)
    assert isinstance(body, dict), where
    assert isinstance(body.get("error"), str), where


def post(client: httpx.Client, path: str, body: bytes, headers: dict[str, Any]) -> None:
    check(client.post(path, content=body, headers=headers))


# -- strategies ---------------------------------------------------------------------------

visible = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=40
)
# what a header value may hold on the wire (visible ASCII and obs-text, no DEL): anything
# else uvicorn refuses itself, before the app sees it
HEADER_BYTE = st.integers(min_value=0x21, max_value=0x7E) | st.integers(0x80, 0xFF)
# what a number in a header is made of, Latin-1's superscript digits included
NUMBER_BYTE = st.sampled_from(b"0123456789\xb2\xb3\xb9")
content_types = st.one_of(st.none(), st.sampled_from(CONTENT_TYPES), visible)
huge_ints = st.integers(min_value=-(2**80), max_value=2**80)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    huge_ints,
    st.integers(min_value=-5, max_value=300),
    st.floats(),
    st.floats(min_value=-1e6, max_value=1e6),
    st.text(max_size=12),
)
keys = st.one_of(
    st.text(max_size=10),
    st.sampled_from(["records", "instances", "inputs", "outputs", "id", "parameters"]),
    st.sampled_from([*SHOP_COLUMNS, "mean radius", "target", "worst area"]),
)
json_documents = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(keys, inner, max_size=5),
    max_leaves=40,
)


ELEMENTS: dict[str, st.SearchStrategy[Any]] = {
    "BOOL": st.booleans(),
    "BYTES": st.sampled_from(COLORS) | st.sampled_from(["1.5", "", "purple"]) | st.text(max_size=4),
    "BF16": st.floats(min_value=-1e3, max_value=1e3),
    **{t: st.integers(min_value=0, max_value=9) | huge_ints for t in DATATYPES if "INT" in t},
    **{
        t: st.floats(min_value=-1e3, max_value=1e3) | st.integers(-3, 12)
        for t in ("FP16", "FP32", "FP64")
    },
}


def encode(document: Any) -> bytes:
    """JSON text as Python writes it (NaN and Infinity included: the server must refuse
    them, not choke on them)."""
    return json.dumps(document).encode()


@st.composite
def extra_headers(draw: st.DrawFn, kind: str | None = None) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if kind is not None:
        headers["content-type"] = kind
    if draw(st.booleans()):
        headers["x-request-id"] = draw(
            visible | st.lists(HEADER_BYTE, min_size=1, max_size=140).map(bytes)
        )
    if draw(st.booleans()):
        headers["accept"] = draw(st.sampled_from(["text/csv", "application/json", "*/*", "x/y"]))
    if draw(st.booleans()):
        headers["x-amzn-sagemaker-custom-attributes"] = draw(visible)
    return headers


@st.composite
def near_records(draw: st.DrawFn, base: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Real rows, each perhaps missing columns, with odd values or unknown keys."""
    rows = []
    damage = draw(st.sampled_from([0, 0, 1, 3, 10]))  # in 30: how often a cell goes wrong
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        row = dict(draw(st.sampled_from(base)))
        for column in list(row):
            action = "keep"
            if draw(st.integers(0, 29)) < damage:
                action = draw(st.sampled_from(["drop", "change"]))
            if action == "drop":
                del row[column]
            elif action == "change":
                row[column] = draw(
                    st.one_of(
                        scalars,
                        st.sampled_from([*COLORS, "purple", "", "RED"]),
                        st.lists(scalars, max_size=2),
                        st.dictionaries(st.text(max_size=3), scalars, max_size=2),
                    )
                )
        if damage and draw(st.booleans()):
            row[draw(keys)] = draw(scalars)
        rows.append(row)
    return rows


def shop_rows() -> list[dict[str, Any]]:
    return [
        {"color": color, "count": count, "x": x}
        for color in COLORS
        for count, x in ((0, -1.5), (3, 0.25), (9, 2.0))
    ]


@st.composite
def record_bodies(draw: st.DrawFn, base: list[dict[str, Any]]) -> tuple[bytes, str | None]:
    """Records in every accepted form (and CSV), with the content type to send."""
    rows = draw(near_records(base))
    form = draw(st.sampled_from(["records", "list", "single", "instances", "csv", "csv_header"]))
    if form == "records":
        return encode({"records": rows}), draw(st.sampled_from(["application/json", None]))
    if form == "list":
        return encode(rows), "application/json"
    if form == "single":
        return encode(rows[0] if rows else {}), "application/json"
    if form == "instances":
        instances = [list(r.values()) if draw(st.booleans()) else r for r in rows]
        return encode({"instances": instances}), "application/json"
    columns = list(base[0])
    lines = [",".join(columns)] if form == "csv_header" else []
    for row in rows:
        cells = [str(row.get(c, "")) for c in columns]
        if draw(st.booleans()):
            cells = cells[: draw(st.integers(0, len(cells)))]
        lines.append(",".join(cells))
    return "\n".join(lines).encode(), "text/csv"


@st.composite
def coherent_tensor(
    draw: st.DrawFn,
    columns: list[str],
    rows: int | None = None,
    matrix: bool | None = None,
    datatype: str | None = None,
    exact: bool = False,
) -> dict[str, Any]:
    """A tensor that is right, or nearly: real column name, matching shape and data."""
    if rows is None:
        rows = draw(st.integers(min_value=0, max_value=4))
    if datatype is None:
        datatype = draw(st.sampled_from(DATATYPES))
    if matrix is None:
        matrix = draw(st.booleans())
    width = len(columns) if matrix else 1
    shape = [rows, width] if matrix or draw(st.booleans()) else [rows]
    count = rows * width
    data = draw(st.lists(ELEMENTS[datatype], min_size=count, max_size=count))
    if not exact and draw(st.integers(0, 9)) == 0:
        data = [*data, draw(ELEMENTS[datatype])]  # one too many
    name = "features" if matrix else draw(st.sampled_from(columns))
    tensor: dict[str, Any] = {"name": name, "shape": shape, "datatype": datatype, "data": data}
    if draw(st.booleans()):
        tensor["parameters"] = draw(
            st.dictionaries(st.sampled_from(["content_type", "binary_data", "x"]), scalars)
        )
    return tensor


def wild_tensor(columns: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """Anything in a tensor's fields."""
    return st.fixed_dictionaries(
        {},
        optional={
            "name": st.sampled_from([*columns, "features", ""]) | scalars,
            "datatype": st.sampled_from([*DATATYPES, "FLOAT", "fp32"]) | scalars,
            "shape": st.lists(
                st.integers(min_value=-2, max_value=40) | st.sampled_from([2**64, 10**12]),
                max_size=4,
            )
            | json_documents,
            "data": json_documents,
            "parameters": st.dictionaries(
                st.sampled_from(["binary_data_size", "content_type", "binary_data"]) | keys,
                scalars,
                max_size=3,
            )
            | json_documents,
        },
    )


@st.composite
def v2_documents(draw: st.DrawFn, columns: list[str]) -> dict[str, Any]:
    tensor = coherent_tensor(columns) | wild_tensor(columns)
    branch = draw(st.sampled_from(["columns", "columns", "matrix", "any"]))
    if branch == "columns":  # one per column, mostly of the right type: requests reach the model
        rows = draw(st.integers(min_value=0, max_value=3))
        inputs = [
            draw(
                coherent_tensor(
                    [c],
                    rows=rows,
                    matrix=False,
                    datatype=right_type(c) if draw(st.integers(0, 19)) else None,
                    exact=True,
                )
            )
            for c in columns
        ]
    elif branch == "matrix":
        datatype = draw(st.sampled_from(["FP32", "FP64", "INT64", "FP16", "BYTES"]))
        inputs = [draw(coherent_tensor(columns, matrix=True, datatype=datatype))]
    else:
        inputs = draw(st.lists(tensor, max_size=4))
    document: dict[str, Any] = {"inputs": inputs}
    if draw(st.integers(0, 9)) == 0:
        document = draw(st.dictionaries(keys, json_documents, max_size=3))
    if draw(st.booleans()):
        document["id"] = draw(st.text(max_size=8) | scalars)
    if draw(st.booleans()):
        document["parameters"] = draw(
            st.dictionaries(
                st.sampled_from(["binary_data_output", "sequence_id", "content_type"]) | keys,
                scalars,
                max_size=3,
            )
            | json_documents
        )
    if draw(st.booleans()):
        output = st.fixed_dictionaries(
            {"name": st.sampled_from(["predict", "predict_proba", "scores"]) | scalars},
            optional={"parameters": st.dictionaries(keys, scalars, max_size=2) | scalars},
        )
        document["outputs"] = draw(st.lists(output | scalars, max_size=3) | scalars)
    return document


def pack(datatype: str, values: list[Any]) -> bytes:
    if datatype == "BYTES":
        return b"".join(struct.pack("<I", len(v)) + v for v in (str(x).encode() for x in values))
    return np.asarray(values).astype(NUMPY[datatype]).tobytes()


@st.composite
def binary_requests(draw: st.DrawFn, columns: list[str]) -> tuple[bytes, dict[str, str]]:
    """A JSON header naming binary_data_size per input, the raw tensors after it, and an
    Inference-Header-Content-Length that is right, off, or not a number."""
    header_inputs = []
    parts = []
    coherent = draw(st.booleans())  # one input per column, mostly right
    rows = draw(st.integers(min_value=0, max_value=3))
    if coherent:
        names = list(columns)
    else:
        names = draw(st.lists(st.sampled_from([*columns, "features", "zzz"]), max_size=4))
    for name in names:
        if not coherent:
            rows = draw(st.integers(min_value=0, max_value=3))
        careless = not coherent or draw(st.integers(0, 29)) == 0
        datatype = draw(st.sampled_from(DATATYPES)) if careless else right_type(name)
        width = len(columns) if name == "features" else 1
        count = rows * width
        if datatype in NUMPY:
            values = draw(st.lists(st.integers(0, 9), min_size=count, max_size=count))
            raw = pack(datatype, values)
        elif datatype == "BYTES":
            values = draw(
                st.lists(st.sampled_from([*COLORS, "é", "x" * 20]), min_size=count, max_size=count)
            )
            raw = pack(datatype, values)
        else:
            raw = b"\x00\x00" * count
        if careless and draw(st.integers(0, 4)) == 0:
            raw = draw(st.binary(max_size=40))
        size: Any = len(raw)
        if careless and draw(st.integers(0, 5)) == 0:
            size = draw(st.integers(-3, 100) | st.sampled_from([None, "8", 1.5, True, 2**70]))
        shape = [rows, width] if width > 1 or draw(st.booleans()) else [rows]
        header_inputs.append(
            {
                "name": name,
                "shape": shape,
                "datatype": datatype,
                "parameters": {"binary_data_size": size},
            }
        )
        parts.append(raw)
    document: dict[str, Any] = {"inputs": header_inputs}
    if draw(st.booleans()):
        document["parameters"] = {"binary_data_output": draw(st.booleans())}
    if draw(st.booleans()):
        document["outputs"] = [
            {"name": "predict_proba", "parameters": {"binary_data": draw(st.booleans())}}
        ]
    head = encode(document)
    tail = b"".join(parts)
    if draw(st.integers(0, 4)) == 0:
        tail += draw(st.binary(max_size=16))
    length = draw(
        st.one_of(
            st.just(str(len(head))),
            st.just(str(len(head))),
            st.integers(min_value=0, max_value=len(head) + len(tail) + 8).map(str),
            st.sampled_from(["-1", "abc", "1e3", "0x10", "99999999999999999999999"]),
        )
    )
    headers = {"inference-header-content-length": length}
    if draw(st.booleans()):
        headers["content-type"] = draw(
            st.sampled_from(["application/octet-stream", "application/json"])
        )
    return head + tail, headers


PCHARS = string.ascii_letters + string.digits + "-._~!$&'()*+,;=:@"
segments = st.lists(
    st.one_of(
        st.sampled_from(list(PCHARS)),
        st.integers(min_value=0, max_value=255).map(lambda b: f"%{b:02X}"),
        st.sampled_from(["%", "%2F", "%00", "..", "%2E%2E", "/", "cancer", "shop", "1", "@"]),
    ),
    max_size=14,
).map("".join)
paths = st.builds(
    lambda prefix, middle, suffix: prefix + middle + suffix,
    st.sampled_from(
        [
            "/", "/models/", "/models/cancer/", "/v2/", "/v2/models/", "/v2/models/cancer/",
            "/v2/models/cancer/versions/", "/v2/health/", "/docs/", "/docs/static/",
            "/models/shop@", "/invocations/", "/metrics/",
        ]
    ),
    segments,
    st.sampled_from(
        ["", "/predict", "/infer", "/ready", "/versions/1", "/versions/1/infer",
         "/versions/0/ready"]
    ),
)  # fmt: skip
known_paths = st.sampled_from(
    [
        "/models", "/models/cancer", "/models/shop/predict", "/models/cancer/1/predict",
        "/models/cancer@latest/predict", "/models/cancer%2F1/predict", "/v2", "/v2/models",
        "/v2/health/live", "/v2/health/ready", "/v2/models/cancer", "/v2/models/shop/ready",
        "/v2/models/cancer/versions/1/infer", "/v2/models/cancer/versions/99/infer",
        "/invocations", "/ping", "/execution-parameters", "/metrics", "/openapi.json", "/docs",
        "/docs/static/swagger-ui-bundle.js", "/docs/static/../../x", "/models/shop/feedback",
        "/models/shop/monitoring", "/models/nope/monitoring", "/models/a%2Fb/feedback",
    ]
)  # fmt: skip


# -- the properties -----------------------------------------------------------------------


@pytest.mark.parametrize("path", POSTS)
@FUZZ
@given(body=st.binary(max_size=3000), kind=content_types, data=st.data())
def test_any_bytes_with_any_content_type(
    client: httpx.Client, path: str, body: bytes, kind: str | None, data: st.DataObject
) -> None:
    post(client, path, body, data.draw(extra_headers(kind)))


@pytest.mark.parametrize("path", POSTS)
@FUZZ
@given(document=json_documents, kind=st.sampled_from(["application/json", None, "text/csv"]))
def test_any_json(client: httpx.Client, path: str, document: Any, kind: str | None) -> None:
    post(client, path, encode(document), {"content-type": kind} if kind else {})


@pytest.mark.parametrize("path", ["/models/cancer/predict", "/invocations"])
@FUZZ
@given(data=st.data())
def test_cancer_records_almost_right(
    client: httpx.Client, cancer_rows: list[dict[str, Any]], path: str, data: st.DataObject
) -> None:
    body, kind = data.draw(record_bodies(cancer_rows))
    post(client, path, body, {"content-type": kind} if kind else {})


@FUZZ
@given(data=st.data())
def test_shop_records_almost_right(client: httpx.Client, data: st.DataObject) -> None:
    body, kind = data.draw(record_bodies(shop_rows()))
    post(client, "/models/shop/predict", body, {"content-type": kind} if kind else {})


@pytest.mark.parametrize("model", ["cancer", "shop"])
@FUZZ
@given(data=st.data())
def test_v2_requests_almost_right(
    client: httpx.Client, cancer_columns: list[str], model: str, data: st.DataObject
) -> None:
    columns = cancer_columns if model == "cancer" else SHOP_COLUMNS
    document = data.draw(v2_documents(columns))
    path = data.draw(
        st.sampled_from([f"/v2/models/{model}/infer", f"/v2/models/{model}/versions/1/infer"])
    )
    post(client, path, encode(document), {})


@pytest.mark.parametrize("model", ["cancer", "shop"])
@FUZZ
@given(data=st.data())
def test_v2_binary_requests(
    client: httpx.Client, cancer_columns: list[str], model: str, data: st.DataObject
) -> None:
    columns = cancer_columns if model == "cancer" else SHOP_COLUMNS
    body, headers = data.draw(binary_requests(columns))
    post(client, f"/v2/models/{model}/infer", body, headers)


@FEWER
@given(length=st.lists(NUMBER_BYTE | HEADER_BYTE, min_size=1, max_size=6).map(bytes))
def test_v2_binary_header_length_any_bytes(client: httpx.Client, length: bytes) -> None:
    """Header values are Latin-1: '²' (0xB2) passes str.isdigit but not int()."""
    body = encode({"inputs": [{"name": "x", "shape": [1], "datatype": "FP64", "data": [1.0]}]})
    post(client, "/v2/models/cancer/infer", body, {"inference-header-content-length": length})


@settings(FUZZ, max_examples=300)
@given(
    path=paths | known_paths,
    method=st.sampled_from(METHODS),
    body=st.none() | st.binary(max_size=200) | json_documents.map(encode),
    data=st.data(),
)
def test_any_path_and_method(
    client: httpx.Client, path: str, method: str, body: bytes | None, data: st.DataObject
) -> None:
    headers = data.draw(extra_headers(data.draw(content_types)))
    request = client.build_request(method, "/", content=body, headers=headers)
    request.url = request.url.copy_with(raw_path=path.encode("ascii"))
    check(client.send(request))


@FEWER
@given(data=st.data())
def test_read_only_endpoints_with_odd_headers(client: httpx.Client, data: st.DataObject) -> None:
    path = data.draw(
        st.sampled_from(
            ["/models", "/models/shop", "/v2", "/v2/models/shop", "/ping", "/metrics", "/docs",
             "/openapi.json", "/v2/models/cancer/versions/1/ready", "/execution-parameters",
             "/models/shop/monitoring", "/models/cancer/monitoring"]
        )
    )  # fmt: skip
    check(client.get(path, headers=data.draw(extra_headers(data.draw(content_types)))))


feedback_items = st.fixed_dictionaries(
    {},
    optional={
        "request_id": scalars | st.text(max_size=40),
        "row": scalars,
        "label": scalars | json_documents,
        "value": scalars,
        "at": scalars | st.text(max_size=30),
        "lable": scalars,
    },
)


@FUZZ
@given(
    items=st.lists(feedback_items, max_size=8) | feedback_items,
    wrap=st.booleans(),
    model=st.sampled_from(["shop", "cancer"]),
)
def test_feedback_almost_right(client: httpx.Client, items: Any, wrap: bool, model: str) -> None:
    """Feedback of every shape: accepted or refused per record, never a server error."""
    document = {"feedback": items} if wrap else items
    answer = client.post(f"/models/{model}/feedback", content=encode(document))
    check(answer)
    if answer.status_code in (200, 422) and isinstance(answer.json().get("accepted"), int):
        body = answer.json()
        count = len(items) if isinstance(items, list) else 1
        assert body["accepted"] + len(body["rejected"]) == count


def test_the_server_is_still_answering(client: httpx.Client, cancer_rows: list[Any]) -> None:
    answer = client.post("/models/cancer/predict", json={"records": cancer_rows[:2]})
    assert answer.status_code == 200, answer.text
    assert all(math.isfinite(p) for row in answer.json()["probabilities"] for p in row)
