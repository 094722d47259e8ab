"""Every protocol of a real ``ferryman serve``, driven over HTTP (and by tritonclient).

Four models share one store: ``cancer`` (a classifier on 30 floats, the array fast path;
version 1 is production, version 2 has no alias and loads on first use),
``price`` (a regressor), ``shop`` (text categories, an integer and a float: the DataFrame path)
and ``fragile`` (passes its signature check but raises in predict on unseen codes: 422). Server A
serves them all with default options; server B adds ``--sagemaker-model cancer`` and a
10 KB body limit.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
import tritonclient.http as triton
from prometheus_client.parser import text_string_to_metric_families
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from ferryman.config import Settings
from ferryman.registry import LoadedModel, Registry
from live_server import LiveServer
from same_predictions import assert_same_predictions

ERROR_KEYS = {"error", "kind", "request_id"}
JSON_TYPE = {"content-type": "application/json"}
PLAIN_TYPE = {"content-type": "text/plain"}
PROBLEM_KEYS = {"row", "column", "kind", "message"}
HEX_ID = re.compile(r"[0-9a-f]{32}")


# -- the store and its servers ------------------------------------------------------------


@dataclass
class Store:
    home: Path
    registry: Registry
    cancer_x: pd.DataFrame
    price_x: pd.DataFrame
    shop_x: pd.DataFrame

    def model(self, name: str) -> LoadedModel:
        return self.registry.load(name)


def price_frame() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    frame = pd.DataFrame({"rooms": rng.normal(3, 1, 120), "area": rng.normal(80, 20, 120)})
    frame["target"] = 10 * frame["rooms"] + 2 * frame["area"] + rng.normal(0, 1, 120)
    return frame


def shop_frame() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    frame = pd.DataFrame(
        {
            "color": rng.choice(["red", "green", "blue"], 200),
            "count": rng.integers(0, 10, 200),
            "x": rng.normal(size=200),
        }
    )
    frame["target"] = np.where((frame["color"] == "red") ^ (frame["x"] > 0), "yes", "no")
    return frame


def shop_model(frame: pd.DataFrame) -> Pipeline:
    encode = ColumnTransformer([("color", OneHotEncoder(), ["color"])], remainder="passthrough")
    model = Pipeline([("encode", encode), ("classify", LogisticRegression())])
    return model.fit(frame.drop(columns="target"), frame["target"])


def fragile_frame() -> pd.DataFrame:
    """``code`` is near-unique text, so the signature keeps it a plain string (no categories)
    while the model's encoder refuses any code it has not seen: a predict-time failure."""
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"code": [f"id-{i}" for i in range(100)], "x": rng.normal(size=100)})
    frame["target"] = frame["x"] > 0
    return frame


def fragile_model(frame: pd.DataFrame) -> Pipeline:
    encode = ColumnTransformer(
        [("code", OneHotEncoder(handle_unknown="error"), ["code"])], remainder="passthrough"
    )
    model = Pipeline([("encode", encode), ("classify", LogisticRegression())])
    return model.fit(frame.drop(columns="target"), frame["target"])


@pytest.fixture(scope="module")
def store(
    tmp_path_factory: pytest.TempPathFactory, cancer_frame: pd.DataFrame, cancer_model: Pipeline
) -> Iterator[Store]:
    home = tmp_path_factory.mktemp("protocols") / "store"
    registry = Registry(Settings.load(home=home, actor="tester", record_git=False))
    production = ["production"]
    registry.register(
        cancer_model, "cancer", train_data=cancer_frame, target="target", aliases=production
    )
    challenger = make_pipeline(StandardScaler(), LogisticRegression(C=0.01, max_iter=1000))
    challenger.fit(cancer_frame.drop(columns="target"), cancer_frame["target"])
    registry.register(challenger, "cancer", train_data=cancer_frame, target="target")  # v2
    price = price_frame()
    registry.register(
        LinearRegression().fit(price.drop(columns="target"), price["target"]),
        "price",
        train_data=price,
        target="target",
        aliases=production,
    )
    shop = shop_frame()
    registry.register(
        shop_model(shop), "shop", train_data=shop, target="target", aliases=production
    )
    fragile = fragile_frame()
    registry.register(
        fragile_model(fragile), "fragile", train_data=fragile, target="target", aliases=production
    )
    yield Store(
        home,
        registry,
        cancer_frame.drop(columns="target"),
        price.drop(columns="target"),
        shop.drop(columns="target"),
    )
    registry.close()


@pytest.fixture(scope="module")
def server(store: Store) -> Iterator[LiveServer]:
    """Server A: all four models, default options."""
    live = LiveServer(store.home, ()).start()
    yield live
    live.stop()


@pytest.fixture(scope="module")
def limited(store: Store) -> Iterator[LiveServer]:
    """Server B: all four models, SageMaker answered by ``cancer``, a 10 KB body limit."""
    live = LiveServer(store.home, ("--sagemaker-model", "cancer", "--max-body-size", "0.01"))
    live.start()
    yield live
    live.stop()


@pytest.fixture
def client(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as session:
        yield session


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): v for k, v in row.items()} for row in frame.to_dict(orient="records")]


def assert_matches(body: dict[str, Any], model: LoadedModel, rows: pd.DataFrame) -> None:
    """The answer is the registered model's own predict (and predict_proba)."""
    assert_same_predictions(body["predictions"], model.predict(rows))
    if model.classes is not None:
        assert body["classes"] == list(model.classes)
        np.testing.assert_allclose(
            np.asarray(body["probabilities"]), model.predict_proba(rows), rtol=1e-9, atol=1e-12
        )
    else:
        assert "classes" not in body
        assert "probabilities" not in body


def assert_simple_error(answer: httpx.Response, status: int, kind: str) -> dict[str, Any]:
    """The simple API's error shape, pinned: exactly error, kind, request_id (+ problems)."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/json"
    body: dict[str, Any] = answer.json()
    expected = ERROR_KEYS | ({"problems"} if status == 422 else set())
    assert set(body) == expected
    assert body["kind"] == kind
    assert isinstance(body["error"], str)
    assert body["error"]
    assert body["request_id"] == answer.headers["x-request-id"]
    return body


def assert_v2_error(answer: httpx.Response, status: int) -> str:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert set(body) == {"error"}
    assert isinstance(body["error"], str)
    assert body["error"]
    return str(body["error"])


def problems_of(body: dict[str, Any]) -> list[dict[str, Any]]:
    problems: list[dict[str, Any]] = body["problems"]
    assert problems
    for problem in problems:
        assert set(problem) == PROBLEM_KEYS
    return problems


def metric(text: str, name: str, **labels: str) -> float:
    """The sum of the samples called ``name`` whose labels include ``labels``."""
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


def v2_column_inputs(frame: pd.DataFrame, two_d: bool = False) -> list[dict[str, Any]]:
    rows = len(frame)
    out = []
    for name in frame.columns:
        values = frame[name].tolist()
        shape = [rows, 1] if two_d else [rows]
        data = [[v] for v in values] if two_d else values
        out.append({"name": name, "shape": shape, "datatype": "FP64", "data": data})
    return out


def v2_outputs(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {output["name"]: output for output in body["outputs"]}


# -- simple API ---------------------------------------------------------------------------


def test_simple_predict_answers_as_the_registered_model_does(
    client: httpx.Client, store: Store
) -> None:
    rows = store.cancer_x.iloc[[0, 5, 20, 100, 568]]
    model = store.model("cancer")
    answer = client.post("/models/cancer/predict", json={"records": records(rows)})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == {
        "model", "version", "request_id", "predictions", "classes", "probabilities"
    }  # fmt: skip
    assert body["model"] == "cancer"
    assert body["version"] == 1
    assert_matches(body, model, rows)

    bare_list = client.post("/models/cancer/predict", json=records(rows))
    assert bare_list.status_code == 200, bare_list.text
    assert_matches(bare_list.json(), model, rows)

    one = client.post("/models/cancer/predict", json=records(rows.head(1))[0])
    assert one.status_code == 200, one.text
    assert_matches(one.json(), model, rows.head(1))


def test_simple_predict_for_a_regressor_and_the_dataframe_path(
    client: httpx.Client, store: Store
) -> None:
    price = store.price_x.head(7)
    answer = client.post("/models/price/predict", json={"records": records(price)})
    assert answer.status_code == 200, answer.text
    assert answer.json()["model"] == "price"
    assert_matches(answer.json(), store.model("price"), price)

    shop = store.shop_x.head(9)
    answer = client.post("/models/shop/predict", json={"records": records(shop)})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["classes"] == ["no", "yes"]
    assert set(body["predictions"]) <= {"no", "yes"}
    assert_matches(body, store.model("shop"), shop)


@pytest.mark.parametrize(
    ("ref", "version"),
    [
        ("cancer", 1),
        ("cancer@production", 1),
        ("cancer/1", 1),
        ("cancer%2F1", 1),
        ("cancer/2", 2),
        ("cancer%2F2", 2),
        ("cancer@latest", 2),
    ],
)
def test_every_reference_form_reaches_its_version(
    client: httpx.Client, store: Store, ref: str, version: int
) -> None:
    rows = store.cancer_x.iloc[[0, 7, 19, 40]]
    answer = client.post(f"/models/{ref}/predict", json={"records": records(rows)})
    assert answer.status_code == 200, answer.text
    assert answer.json()["version"] == version
    assert answer.headers["x-model-version"] == str(version)
    assert_matches(answer.json(), store.model(f"cancer/{version}"), rows)


def test_a_version_without_the_alias_is_served_on_every_protocol(
    client: httpx.Client, store: Store
) -> None:
    rows = store.cancer_x.iloc[[2, 9]]
    second = store.model("cancer/2")
    first = store.model("cancer/1")
    assert not np.allclose(second.predict_proba(rows), first.predict_proba(rows))
    meta = client.get("/v2/models/cancer/versions/2")
    assert meta.status_code == 200, meta.text
    assert meta.json()["versions"] == ["2"]
    answer = client.post(
        "/v2/models/cancer/versions/2/infer", json={"inputs": v2_column_inputs(rows)}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["model_version"] == "2"
    assert answer.headers["x-model-version"] == "2"
    proba = np.asarray(v2_outputs(answer.json())["predict_proba"]["data"]).reshape(2, 2)
    np.testing.assert_allclose(proba, second.predict_proba(rows), rtol=1e-9, atol=1e-12)
    described = client.get("/models/cancer/2")
    assert described.json()["version"] == 2
    assert client.get("/models/cancer").json()["version"] == 1


def test_request_ids_are_made_or_kept_and_versions_named(
    client: httpx.Client, store: Store
) -> None:
    rows = {"records": records(store.cancer_x.head(1))}
    made = client.post("/models/cancer/predict", json=rows)
    assert HEX_ID.fullmatch(made.headers["x-request-id"])
    assert made.json()["request_id"] == made.headers["x-request-id"]
    assert made.headers["x-model-version"] == "1"
    other = client.post("/models/cancer/predict", json=rows)
    assert other.headers["x-request-id"] != made.headers["x-request-id"]

    kept = client.post("/models/cancer/predict", json=rows, headers={"X-Request-Id": "order-42"})
    assert kept.headers["x-request-id"] == "order-42"
    assert kept.json()["request_id"] == "order-42"

    for insane in ("x" * 129, "tab\there"):
        replaced = client.post(
            "/models/cancer/predict", json=rows, headers={"X-Request-Id": insane}
        )
        assert replaced.status_code == 200
        assert HEX_ID.fullmatch(replaced.headers["x-request-id"])


def test_error_answers_carry_the_request_id_and_the_known_version(
    client: httpx.Client, store: Store
) -> None:
    mine = {"X-Request-Id": "caller-7"}
    cases = [
        client.post("/models/shop/predict", json={"color": "purple", "count": 1, "x": 0.0}),
        client.post("/models/cancer/predict", content=b"{", headers=JSON_TYPE),
        client.post("/models/cancer/predict", content=b"a", headers=PLAIN_TYPE),
        client.post("/v2/models/cancer/infer", json={"inputs": []}),
        client.post("/models/fragile/predict", json={"code": "never-seen", "x": 1.0}),
    ]
    for answer in cases:
        assert answer.status_code >= 400
        assert answer.headers["x-model-version"] == "1", answer.text
        assert HEX_ID.fullmatch(answer.headers["x-request-id"])
    unknown = client.post("/models/nope/predict", json={}, headers=mine)
    assert unknown.status_code == 404
    assert unknown.headers["x-request-id"] == "caller-7"
    assert "x-model-version" not in unknown.headers
    bad = client.post("/models/shop/predict", json={"color": 1}, headers=mine)
    assert bad.headers["x-request-id"] == "caller-7"
    assert bad.json()["request_id"] == "caller-7"


def test_csv_bodies_with_and_without_a_header(client: httpx.Client, store: Store) -> None:
    rows = store.cancer_x.iloc[10:16]
    model = store.model("cancer")
    for header in (True, False):
        text = rows.to_csv(index=False, header=header)
        answer = client.post(
            "/models/cancer/predict", content=text, headers={"content-type": "text/csv"}
        )
        assert answer.status_code == 200, answer.text
        assert_matches(answer.json(), model, rows)

    shop = store.shop_x.head(5)
    for header in (True, False):
        text = shop.to_csv(index=False, header=header)
        answer = client.post(
            "/models/shop/predict",
            content=text.encode(),
            headers={"content-type": "text/csv; charset=utf-8"},
        )
        assert answer.status_code == 200, answer.text
        assert_matches(answer.json(), store.model("shop"), shop)


def test_model_listing_and_description(client: httpx.Client, store: Store) -> None:
    listing = client.get("/models")
    assert listing.status_code == 200
    models = {m["name"]: m for m in listing.json()["models"]}
    assert set(models) == {"cancer", "price", "shop", "fragile"}
    assert models["cancer"]["version"] == 1
    assert models["cancer"]["alias"] == "production"

    for ref in ("cancer", "cancer/1", "cancer@production"):
        answer = client.get(f"/models/{ref}")
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["name"] == "cancer"
        assert body["version"] == 1
        assert answer.headers["x-model-version"] == "1"
        names = [c["name"] for c in body["signature"]["columns"]]
        assert names == list(store.cancer_x.columns)
        assert body["output"]["kind"] == "classifier"
    shop = client.get("/models/shop").json()
    color = shop["signature"]["columns"][0]
    assert color["name"] == "color"
    assert color["categories"] == ["blue", "green", "red"]
    assert client.get("/models/nope").status_code == 404


def test_openapi_document_and_offline_docs_page(client: httpx.Client) -> None:
    document = client.get("/openapi.json")
    assert document.status_code == 200
    spec = document.json()
    assert spec["openapi"].startswith("3.")
    assert spec["info"]["title"]
    assert spec["info"]["version"]
    predict = spec["paths"]["/models/{ref}/predict"]["post"]
    assert {"application/json", "text/csv"} <= set(predict["requestBody"]["content"])
    assert {"200", "400", "404", "413", "415", "422", "500"} <= set(predict["responses"])
    assert predict["parameters"][0]["name"] == "ref"
    assert predict["parameters"][0]["in"] == "path"
    example = predict["requestBody"]["content"]["application/json"]["example"]
    assert isinstance(example["records"], list)
    assert isinstance(example["records"][0], dict)
    schemas = spec["components"]["schemas"]
    refs = re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', json.dumps(spec))
    assert refs
    assert set(refs) <= set(schemas)
    assert {"/models", "/models/{ref}", "/invocations", "/ping", "/metrics"} <= set(spec["paths"])

    page = client.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    scripts = re.findall(r'src="([^"]+)"', page.text)
    styles = re.findall(r'href="([^"]+)"', page.text)
    assert "/docs/static/swagger-ui-bundle.js" in scripts
    assert "/openapi.json" in page.text
    for asset in scripts + styles:
        assert asset.startswith("/"), f"{asset} would need the network"
        fetched = client.get(asset)
        assert fetched.status_code == 200, asset
        assert len(fetched.content) > 1000
    bundle = client.get("/docs/static/swagger-ui-bundle.js")
    assert "javascript" in bundle.headers["content-type"]
    assert b"SwaggerUIBundle" in bundle.content


# -- simple API errors --------------------------------------------------------------------


def test_signature_problems_are_422_with_row_and_column(client: httpx.Client, store: Store) -> None:
    good = records(store.cancer_x.head(2))

    missing = [dict(good[0]), good[1]]
    del missing[0]["mean radius"]
    body = assert_simple_error(
        client.post("/models/cancer/predict", json={"records": missing}), 422, "invalid_input"
    )
    found = {(p["kind"], p["column"]) for p in problems_of(body)}
    assert ("missing_value", "mean radius") in found or ("missing_column", "mean radius") in found

    unknown = [{**good[0], "bogus": 1.0}]
    body = assert_simple_error(
        client.post("/models/cancer/predict", json=unknown), 422, "invalid_input"
    )
    assert {"row": None, "column": "bogus"}.items() <= problems_of(body)[0].items()
    assert problems_of(body)[0]["kind"] == "unknown_column"

    wrong = [good[0], {**good[1], "mean texture": "soft"}]
    body = assert_simple_error(
        client.post("/models/cancer/predict", json=wrong), 422, "invalid_input"
    )
    assert [(p["row"], p["column"], p["kind"]) for p in problems_of(body)] == [
        (1, "mean texture", "wrong_type")
    ]

    null = [{**good[0], "mean area": None}]
    body = assert_simple_error(
        client.post("/models/cancer/predict", json=null), 422, "invalid_input"
    )
    assert [(p["row"], p["column"], p["kind"]) for p in problems_of(body)] == [
        (0, "mean area", "null")
    ]

    shop = records(store.shop_x.head(3))
    shop[2] = {**shop[2], "color": "purple"}
    body = assert_simple_error(
        client.post("/models/shop/predict", json={"records": shop}), 422, "invalid_input"
    )
    assert [(p["row"], p["column"], p["kind"]) for p in problems_of(body)] == [
        (2, "color", "unknown_category")
    ]
    assert "purple" in body["error"]

    mixed = [{"color": "red", "count": 1.5, "x": None}, {"colour": "red"}]
    body = assert_simple_error(
        client.post("/models/shop/predict", json=mixed), 422, "invalid_input"
    )
    kinds = {(p["row"], p["column"], p["kind"]) for p in problems_of(body)}
    assert (0, "count", "wrong_type") in kinds
    assert (0, "x", "null") in kinds
    assert (None, "colour", "unknown_column") in kinds


def test_malformed_and_unreadable_bodies_are_400(client: httpx.Client) -> None:
    json_type = {"content-type": "application/json"}
    for body in (b'{"records": [', b"", b"   ", b"\xff\xfe", b"NaN"):
        assert_simple_error(
            client.post("/models/cancer/predict", content=body, headers=json_type),
            400,
            "bad_request",
        )
    for document in (5, "text", {"records": 5}, [1, 2]):
        assert_simple_error(
            client.post("/models/cancer/predict", json=document), 400, "bad_request"
        )
    csv_type = {"content-type": "text/csv"}
    assert_simple_error(
        client.post("/models/cancer/predict", content=b"1,2,3\n", headers=csv_type),
        400,
        "bad_request",
    )
    assert_simple_error(
        client.post("/models/cancer/predict", content=b"\xff\x00,1", headers=csv_type),
        400,
        "bad_request",
    )


def test_unknown_models_versions_and_aliases_are_404(client: httpx.Client) -> None:
    for ref in ("nope", "nope/1", "cancer/7", "cancer@staging"):
        answer = client.post(f"/models/{ref}/predict", json={})
        assert_simple_error(answer, 404, "not_found")
    assert_simple_error(client.get("/models/cancer/9"), 404, "not_found")
    assert_simple_error(client.post("/models/cancer/0/predict", json={}), 400, "bad_reference")
    assert_simple_error(client.post("/models/-bad-/predict", json={}), 400, "bad_reference")


def test_bodies_over_the_limit_are_413(limited: LiveServer, store: Store) -> None:
    big = {"records": records(store.cancer_x.head(40))}
    size = len(json.dumps(big))
    assert size > 10 * 1024
    with httpx.Client(base_url=limited.url, timeout=30) as client:
        answer = client.post("/models/cancer/predict", json=big)
        body = assert_simple_error(answer, 413, "too_large")
        assert "--max-body-size" in body["error"]
        assert answer.headers["x-model-version"] == "1"

        def chunks() -> Iterator[bytes]:
            data = json.dumps(big).encode()
            for start in range(0, len(data), 1000):
                yield data[start : start + 1000]

        streamed = client.post(
            "/models/cancer/predict", content=chunks(), headers={"content-type": "application/json"}
        )
        assert "content-length" not in streamed.request.headers
        assert_simple_error(streamed, 413, "too_large")

        assert_simple_error(client.post("/invocations", json=big), 413, "too_large")
        inputs = v2_column_inputs(store.cancer_x.head(60))
        assert_v2_error(client.post("/v2/models/cancer/infer", json={"inputs": inputs}), 413)

        small = client.post("/models/cancer/predict", json=records(store.cancer_x.head(2)))
        assert small.status_code == 200, small.text


def test_unsupported_content_types_are_415(client: httpx.Client, store: Store) -> None:
    row = json.dumps(records(store.cancer_x.head(1))[0])
    for kind in ("text/plain", "application/x-www-form-urlencoded", "application/xml"):
        answer = client.post("/models/cancer/predict", content=row, headers={"content-type": kind})
        body = assert_simple_error(answer, 415, "unsupported_media_type")
        assert "application/json" in body["error"]
        assert answer.headers["x-model-version"] == "1"
    form = client.post("/models/cancer/predict", data={"mean radius": "1"})
    assert_simple_error(form, 415, "unsupported_media_type")


def test_unknown_routes_and_methods_answer_json(client: httpx.Client) -> None:
    cases = [
        ("GET", "/nope", 404),
        ("GET", "/models/cancer/predict/more", 400),
        ("POST", "/v3/models/cancer/infer", 404),
        ("DELETE", "/models", 405),
        ("PUT", "/models/cancer/predict", 405),
        ("GET", "/v2/models/cancer/infer", 405),
        ("POST", "/v2/health/live", 405),
        ("POST", "/ping", 405),
        ("GET", "/invocations", 405),
        ("PATCH", "/metrics", 405),
    ]
    for method, path, status in cases:
        answer = client.request(method, path)
        assert answer.status_code == status, (method, path, answer.text)
        assert answer.headers["content-type"] == "application/json"
        assert isinstance(answer.json()["error"], str)


def test_get_on_the_predict_url_is_405_not_a_bad_reference(client: httpx.Client) -> None:
    """``/models/{ref:path}`` (GET) swallows ``/models/cancer/predict`` and parses
    "cancer/predict" as a reference: a curl user who forgot -X POST is told the version
    number 'predict' is invalid instead of that the method is wrong."""
    answer = client.get("/models/cancer/predict")
    assert answer.status_code == 405, answer.text
    assert "GET" in answer.json()["error"]


def test_integers_beyond_64_bits_are_not_silently_rounded(client: httpx.Client) -> None:
    """orjson reads an integer below -2**63 as a float, so -2**63 - 1 becomes -2**63 and
    passes the int64 range check that 2**63 fails."""
    too_big = client.post(
        "/models/shop/predict", content=b'{"color": "red", "count": 9223372036854775808, "x": 0}'
    )
    assert too_big.status_code == 422, too_big.text
    too_small = client.post(
        "/models/shop/predict", content=b'{"color": "red", "count": -9223372036854775809, "x": 0}'
    )
    assert too_small.status_code == 422, too_small.text


# -- Open Inference Protocol (V2) ---------------------------------------------------------


def test_v2_health_and_server_metadata(client: httpx.Client) -> None:
    live = client.get("/v2/health/live")
    assert (live.status_code, live.json()) == (200, {"live": True})
    ready = client.get("/v2/health/ready")
    assert (ready.status_code, ready.json()) == (200, {"ready": True})
    meta = client.get("/v2")
    assert meta.status_code == 200
    body = meta.json()
    assert body["name"] == "ferryman"
    assert isinstance(body["version"], str)
    assert body["version"]
    assert "binary_tensor_data" in body["extensions"]
    assert set(client.get("/v2/models").json()["models"]) == {"cancer", "price", "shop", "fragile"}


def test_v2_model_metadata_and_readiness(client: httpx.Client, store: Store) -> None:
    for path in ("/v2/models/cancer", "/v2/models/cancer/versions/1"):
        answer = client.get(path)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["name"] == "cancer"
        assert body["versions"] == ["1"]
        assert isinstance(body["platform"], str)
        refuse = {"unseen_nulls": "refuse"}  # the scaled regression cannot take NaN
        assert body["inputs"] == [
            {"name": name, "datatype": "FP64", "shape": [-1], "parameters": refuse}
            for name in store.cancer_x.columns
        ]
        outputs = {o["name"]: o for o in body["outputs"]}
        assert set(outputs) == {"predict", "predict_proba"}
        assert outputs["predict"]["datatype"] == "INT64"
        assert outputs["predict_proba"] == {
            "name": "predict_proba", "datatype": "FP64", "shape": [-1, 2]
        }  # fmt: skip
    shop = client.get("/v2/models/shop").json()
    assert [(i["name"], i["datatype"]) for i in shop["inputs"]] == [
        ("color", "BYTES"), ("count", "INT64"), ("x", "FP64")
    ]  # fmt: skip
    price = client.get("/v2/models/price").json()
    assert [o["name"] for o in price["outputs"]] == ["predict"]
    assert price["outputs"][0]["datatype"] == "FP64"

    for path in ("/v2/models/cancer/ready", "/v2/models/cancer/versions/1/ready"):
        answer = client.get(path)
        assert (answer.status_code, answer.json()) == (200, {"name": "cancer", "ready": True})
    assert "nope" in assert_v2_error(client.get("/v2/models/nope"), 404)
    assert_v2_error(client.get("/v2/models/nope/ready"), 404)
    assert_v2_error(client.get("/v2/models/cancer/versions/5"), 404)
    assert_v2_error(client.get("/v2/models/cancer/versions/5/ready"), 404)


def test_v2_infer_one_input_per_column(client: httpx.Client, store: Store) -> None:
    rows = store.cancer_x.iloc[[3, 30, 300]]
    model = store.model("cancer")
    for path in ("/v2/models/cancer/infer", "/v2/models/cancer/versions/1/infer"):
        for two_d in (False, True):
            answer = client.post(path, json={"inputs": v2_column_inputs(rows, two_d)})
            assert answer.status_code == 200, answer.text
            assert answer.headers["x-model-version"] == "1"
            body = answer.json()
            assert body["model_name"] == "cancer"
            assert body["model_version"] == "1"
            outputs = v2_outputs(body)
            assert outputs["predict"]["shape"] == [3]
            assert outputs["predict"]["datatype"] == "INT64"
            assert outputs["predict"]["data"] == model.predict(rows).tolist()
            assert outputs["predict_proba"]["shape"] == [3, 2]
            assert outputs["predict_proba"]["datatype"] == "FP64"
            np.testing.assert_allclose(
                np.asarray(outputs["predict_proba"]["data"]).reshape(3, 2),
                model.predict_proba(rows),
                rtol=1e-9,
                atol=1e-12,
            )


def test_v2_infer_one_matrix_in_signature_order(client: httpx.Client, store: Store) -> None:
    rows = store.cancer_x.iloc[40:44]
    model = store.model("cancer")
    for datatype, nested in (("FP64", True), ("FP64", False), ("FP32", False)):
        matrix = rows.to_numpy(np.float32 if datatype == "FP32" else np.float64)
        data = matrix.tolist() if nested else matrix.reshape(-1).tolist()
        tensor = {"name": "features", "shape": [4, 30], "datatype": datatype, "data": data}
        answer = client.post("/v2/models/cancer/infer", json={"inputs": [tensor]})
        assert answer.status_code == 200, answer.text
        outputs = v2_outputs(answer.json())
        expected = model.predict_proba(
            pd.DataFrame(matrix.astype(np.float64), columns=rows.columns)
        )
        np.testing.assert_allclose(
            np.asarray(outputs["predict_proba"]["data"]).reshape(4, 2), expected, rtol=1e-9
        )
        assert outputs["predict"]["data"] == model.predict(rows).tolist()


def test_v2_infer_the_dataframe_path_and_a_regressor(client: httpx.Client, store: Store) -> None:
    shop = store.shop_x.head(6)
    inputs = [
        {"name": "color", "shape": [6], "datatype": "BYTES", "data": shop["color"].tolist()},
        {"name": "count", "shape": [6], "datatype": "INT64", "data": shop["count"].tolist()},
        {"name": "x", "shape": [6, 1], "datatype": "FP64", "data": shop["x"].tolist()},
    ]
    answer = client.post("/v2/models/shop/infer", json={"inputs": inputs})
    assert answer.status_code == 200, answer.text
    outputs = v2_outputs(answer.json())
    model = store.model("shop")
    assert outputs["predict"]["datatype"] == "BYTES"
    assert outputs["predict"]["data"] == model.predict(shop).tolist()
    np.testing.assert_allclose(
        np.asarray(outputs["predict_proba"]["data"]).reshape(6, 2), model.predict_proba(shop)
    )

    price = store.price_x.head(4)
    answer = client.post("/v2/models/price/infer", json={"inputs": v2_column_inputs(price)})
    assert answer.status_code == 200, answer.text
    outputs = v2_outputs(answer.json())
    assert set(outputs) == {"predict"}
    assert outputs["predict"]["datatype"] == "FP64"
    np.testing.assert_allclose(outputs["predict"]["data"], store.model("price").predict(price))


def test_v2_ids_outputs_and_parameters(client: httpx.Client, store: Store) -> None:
    inputs = v2_column_inputs(store.cancer_x.head(2))
    given = client.post("/v2/models/cancer/infer", json={"id": "req-1", "inputs": inputs})
    assert given.json()["id"] == "req-1"
    made = client.post("/v2/models/cancer/infer", json={"inputs": inputs})
    assert made.json()["id"] == made.headers["x-request-id"]
    assert HEX_ID.fullmatch(made.json()["id"])

    only = client.post(
        "/v2/models/cancer/infer", json={"inputs": inputs, "outputs": [{"name": "predict_proba"}]}
    )
    assert only.status_code == 200, only.text
    assert [o["name"] for o in only.json()["outputs"]] == ["predict_proba"]

    error = assert_v2_error(
        client.post(
            "/v2/models/cancer/infer", json={"inputs": inputs, "outputs": [{"name": "scores"}]}
        ),
        400,
    )
    assert "scores" in error

    extra = [{**tensor, "parameters": {"content_type": "np"}} for tensor in inputs]
    ignored = client.post(
        "/v2/models/cancer/infer",
        json={
            "inputs": extra,
            "parameters": {"sequence_id": 1, "content_type": "pd", "priority": 2, "x": True},
            "outputs": [{"name": "predict", "parameters": {"classification": 2}}],
        },
    )
    assert ignored.status_code == 200, ignored.text
    assert [o["name"] for o in ignored.json()["outputs"]] == ["predict"]


def test_v2_body_without_content_type_is_read_as_json(client: httpx.Client, store: Store) -> None:
    payload = json.dumps({"inputs": v2_column_inputs(store.cancer_x.head(2))}).encode()
    answer = client.post("/v2/models/cancer/infer", content=payload)
    assert "content-type" not in answer.request.headers
    assert answer.status_code == 200, answer.text
    for kind in ("application/octet-stream", "text/plain"):
        typed = client.post(
            "/v2/models/cancer/infer", content=payload, headers={"content-type": kind}
        )
        assert typed.status_code == 200, typed.text


def test_v2_bad_requests_are_400_with_only_an_error(client: httpx.Client, store: Store) -> None:
    good = v2_column_inputs(store.cancer_x.head(2))
    first = good[0]
    cases: list[dict[str, Any]] = [
        {"inputs": [{**first, "datatype": "FLOAT"}, *good[1:]]},
        {"inputs": [{**first, "shape": [3]}, *good[1:]]},
        {"inputs": [{**first, "shape": [-1]}, *good[1:]]},
        {"inputs": [{**first, "data": ["a", "b"]}, *good[1:]]},
        {"inputs": [{**first, "datatype": "BYTES", "data": ["1", "2"]}, *good[1:]]},
        {"inputs": good[1:]},
        {"inputs": []},
        {"inputs": "all of them"},
        {},
        {"inputs": [*good, {**first, "name": "extra"}]},
        {"inputs": [*good, first]},
        {"inputs": [{**first, "shape": [1]}, *good[1:]], "id": "x"},
        {"inputs": good, "id": 7},
        {"inputs": good, "id": "x" * 129},  # longer than an X-Request-Id may be
        {"inputs": good, "outputs": "predict"},
        {"inputs": [{"name": "m", "shape": [2, 29], "datatype": "FP64", "data": [0.0] * 58}]},
    ]
    for request in cases:
        assert_v2_error(client.post("/v2/models/cancer/infer", json=request), 400)
    assert_v2_error(client.post("/v2/models/cancer/infer", content=b"{nope"), 400)
    assert_v2_error(client.post("/v2/models/cancer/infer", json=[1]), 400)
    shop = [
        {"name": "color", "shape": [1], "datatype": "BYTES", "data": ["purple"]},
        {"name": "count", "shape": [1], "datatype": "INT64", "data": [1]},
        {"name": "x", "shape": [1], "datatype": "FP64", "data": [0.5]},
    ]
    assert "purple" in assert_v2_error(
        client.post("/v2/models/shop/infer", json={"inputs": shop}), 400
    )
    assert_v2_error(client.post("/v2/models/nope/infer", json={"inputs": good}), 404)
    assert_v2_error(client.post("/v2/models/cancer/versions/3/infer", json={"inputs": good}), 404)


def test_v2_binary_header_length_must_be_ascii_digits(client: httpx.Client) -> None:
    """``str.isdigit`` is true for '²' (and '¹', '³'), which ``int`` refuses: v2._split
    checks with isdigit, then int() raises ValueError and the answer is a 500."""
    body = json.dumps({"inputs": []}).encode()
    for header in (b"\xb2", b"\xb9", b"1\xb3"):
        answer = client.post(
            "/v2/models/cancer/infer",
            content=body,
            headers={"Inference-Header-Content-Length": header},
        )
        assert_v2_error(answer, 400)


def test_v2_empty_batch_outputs_keep_the_metadata_datatypes(
    client: httpx.Client, store: Store
) -> None:
    """A request of zero rows answers tensors of zero rows whose datatype is what model
    metadata promised (FP64 for probabilities and regressor numbers), not INT64 guessed from
    an empty list by values_datatype."""
    empty = {"name": "m", "shape": [0, 30], "datatype": "FP64", "data": []}
    answer = client.post("/v2/models/cancer/infer", json={"inputs": [empty]})
    assert answer.status_code == 200, answer.text
    outputs = v2_outputs(answer.json())
    assert outputs["predict_proba"]["shape"] == [0, 2]
    assert outputs["predict"]["datatype"] == "INT64"
    assert outputs["predict_proba"]["datatype"] == "FP64"

    columns = [{"name": c, "shape": [0], "datatype": "FP64", "data": []} for c in ("rooms", "area")]
    answer = client.post("/v2/models/price/infer", json={"inputs": columns})
    assert answer.status_code == 200, answer.text
    assert v2_outputs(answer.json())["predict"]["datatype"] == "FP64"


# -- tritonclient, an independently written V2 client -------------------------------------


@pytest.fixture
def triton_client(server: LiveServer) -> Iterator[triton.InferenceServerClient]:
    session = triton.InferenceServerClient(url=f"127.0.0.1:{server.port}", network_timeout=30.0)
    yield session
    session.close()


def test_tritonclient_health_and_metadata(
    triton_client: triton.InferenceServerClient, store: Store
) -> None:
    assert triton_client.is_server_live()
    assert triton_client.is_server_ready()
    assert triton_client.is_model_ready("cancer")
    assert triton_client.is_model_ready("cancer", model_version="1")
    assert not triton_client.is_model_ready("nope")
    meta = triton_client.get_server_metadata()
    assert meta["name"] == "ferryman"
    assert "binary_tensor_data" in meta["extensions"]
    model = triton_client.get_model_metadata("cancer")
    assert [i["name"] for i in model["inputs"]] == list(store.cancer_x.columns)
    assert [o["name"] for o in model["outputs"]] == ["predict", "predict_proba"]


@pytest.mark.parametrize("binary_in", [True, False])
@pytest.mark.parametrize("binary_out", [True, False])
def test_tritonclient_infer_per_column(
    triton_client: triton.InferenceServerClient, store: Store, binary_in: bool, binary_out: bool
) -> None:
    rows = store.cancer_x.iloc[100:107]
    inputs = []
    for name in rows.columns:
        tensor = triton.InferInput(name, [len(rows)], "FP64")
        tensor.set_data_from_numpy(rows[name].to_numpy(np.float64), binary_data=binary_in)
        inputs.append(tensor)
    outputs = [triton.InferRequestedOutput("predict_proba", binary_data=binary_out)]
    result = triton_client.infer("cancer", inputs, outputs=outputs, request_id="tc-1")
    assert result.get_response()["id"] == "tc-1"
    assert [o["name"] for o in result.get_response()["outputs"]] == ["predict_proba"]
    model = store.model("cancer")
    proba = result.as_numpy("predict_proba")
    assert proba.dtype == np.float64
    np.testing.assert_allclose(proba, model.predict_proba(rows), rtol=1e-9, atol=1e-12)

    both = triton_client.infer("cancer", inputs)  # no outputs named: binary by default
    assert both.as_numpy("predict").tolist() == model.predict(rows).tolist()
    np.testing.assert_allclose(both.as_numpy("predict_proba"), model.predict_proba(rows))


@pytest.mark.parametrize("binary", [True, False])
def test_tritonclient_infer_one_fp32_matrix(
    triton_client: triton.InferenceServerClient, store: Store, binary: bool
) -> None:
    rows = store.cancer_x.iloc[200:210]
    matrix = rows.to_numpy(np.float32)
    tensor = triton.InferInput("input__0", list(matrix.shape), "FP32")
    tensor.set_data_from_numpy(matrix, binary_data=binary)
    result = triton_client.infer(
        "cancer",
        [tensor],
        model_version="1",
        outputs=[
            triton.InferRequestedOutput("predict", binary_data=binary),
            triton.InferRequestedOutput("predict_proba", binary_data=binary),
        ],
    )
    model = store.model("cancer")
    as32 = pd.DataFrame(matrix.astype(np.float64), columns=rows.columns)
    np.testing.assert_allclose(result.as_numpy("predict_proba"), model.predict_proba(as32))
    assert result.as_numpy("predict").tolist() == model.predict(as32).tolist()


def test_tritonclient_bytes_inputs_and_outputs(
    triton_client: triton.InferenceServerClient, store: Store
) -> None:
    shop = store.shop_x.head(5)
    color = triton.InferInput("color", [5], "BYTES")
    color.set_data_from_numpy(shop["color"].to_numpy(object))
    count = triton.InferInput("count", [5], "INT64")
    count.set_data_from_numpy(shop["count"].to_numpy(np.int64))
    x = triton.InferInput("x", [5], "FP64")
    x.set_data_from_numpy(shop["x"].to_numpy(np.float64), binary_data=False)
    result = triton_client.infer("shop", [color, count, x])
    model = store.model("shop")
    labels = [v.decode() for v in result.as_numpy("predict").tolist()]
    assert labels == model.predict(shop).tolist()
    np.testing.assert_allclose(result.as_numpy("predict_proba"), model.predict_proba(shop))


def test_tritonclient_sees_errors_as_exceptions(
    triton_client: triton.InferenceServerClient,
) -> None:
    tensor = triton.InferInput("mean radius", [1], "FP64")
    tensor.set_data_from_numpy(np.array([1.0]))
    with pytest.raises(triton.InferenceServerException) as raised:
        triton_client.infer("cancer", [tensor])
    assert raised.value.status() == "400"
    with pytest.raises(triton.InferenceServerException) as raised:
        triton_client.get_model_metadata("nope")
    assert raised.value.status() == "404"


# -- SageMaker ----------------------------------------------------------------------------


def test_sagemaker_ping_and_invocations(limited: LiveServer, store: Store) -> None:
    rows = store.cancer_x.iloc[[1, 2, 3]]
    model = store.model("cancer")
    with httpx.Client(base_url=limited.url, timeout=30) as client:
        ping = client.get("/ping")
        assert ping.status_code == 200
        assert ping.content == b""

        answer = client.post("/invocations", json={"records": records(rows)})
        assert answer.status_code == 200, answer.text
        assert answer.headers["x-model-version"] == "1"
        assert_matches(answer.json(), model, rows)

        one = client.post("/invocations", json=records(rows)[0])
        assert one.status_code == 200, one.text
        assert_matches(one.json(), model, rows.head(1))

        instances = client.post("/invocations", json={"instances": rows.to_numpy().tolist()})
        assert instances.status_code == 200, instances.text
        assert_matches(instances.json(), model, rows)

        text = rows.to_csv(index=False, header=False)
        csv_in = client.post("/invocations", content=text, headers={"content-type": "text/csv"})
        assert csv_in.status_code == 200, csv_in.text
        assert_matches(csv_in.json(), model, rows)

        csv_out = client.post(
            "/invocations",
            content=text,
            headers={"content-type": "text/csv", "accept": "text/csv"},
        )
        assert csv_out.status_code == 200, csv_out.text
        assert csv_out.headers["content-type"].startswith("text/csv")
        lines = csv_out.text.strip().splitlines()
        assert len(lines) == 3
        labels = model.predict(rows).tolist()
        proba = model.predict_proba(rows)
        for line, label, p in zip(lines, labels, proba, strict=True):
            fields = line.split(",")
            assert int(fields[0]) == label
            np.testing.assert_allclose([float(f) for f in fields[1:]], p, rtol=1e-9)

        short = client.post("/invocations", json={"instances": [[1.0, 2.0]]})
        assert_simple_error(short, 400, "bad_request")
        plain = client.post("/invocations", content=b"x", headers={"content-type": "text/plain"})
        assert_simple_error(plain, 415, "unsupported_media_type")
        assert client.get("/execution-parameters").status_code == 200


def test_sagemaker_needs_a_default_model_when_several_are_served(client: httpx.Client) -> None:
    answer = client.post("/invocations", json={"records": []})
    body = assert_simple_error(answer, 404, "not_found")
    assert "--sagemaker-model" in body["error"]
    ping = client.get("/ping")  # a health check: the server is healthy, only the default is unset
    assert ping.status_code == 200
    assert ping.content == b""


# -- metrics and failures -----------------------------------------------------------------


def test_metrics_count_the_requests_made(client: httpx.Client, store: Store) -> None:
    before = client.get("/metrics")
    assert before.status_code == 200
    assert before.headers["content-type"].startswith("text/plain")
    start = before.text
    price = records(store.price_x.head(2))
    for _ in range(3):
        assert client.post("/models/price/predict", json={"records": price}).status_code == 200
    inputs = v2_column_inputs(store.price_x.head(4))
    for _ in range(2):
        assert client.post("/v2/models/price/infer", json={"inputs": inputs}).status_code == 200
    assert client.post("/models/price/predict", json={"rooms": "many"}).status_code == 422
    end = client.get("/metrics").text

    def grew(name: str, **labels: str) -> float:
        return metric(end, name, **labels) - metric(start, name, **labels)

    common = {"model": "price", "version": "1"}
    assert grew("ferryman_requests_total", endpoint="predict", status="200", **common) == 3
    assert grew("ferryman_requests_total", endpoint="v2_infer", status="200", **common) == 2
    assert grew("ferryman_requests_total", endpoint="predict", status="422", **common) == 1
    assert grew("ferryman_errors_total", endpoint="predict", kind="invalid_input", **common) == 1
    assert grew("ferryman_rows_predicted_total", **common) == 3 * 2 + 2 * 4
    assert grew("ferryman_request_seconds_count", endpoint="predict", **common) == 4
    assert grew("ferryman_request_seconds_bucket", endpoint="predict", le="+Inf", **common) == 4
    assert grew("ferryman_batch_rows_count", **common) == 5
    assert grew("ferryman_batch_rows_sum", **common) == 14
    assert metric(end, "ferryman_model_load_seconds_count", model="cancer", version="1") >= 1
    assert metric(end, "ferryman_serving_version", model="cancer") == 1
    assert re.search(
        r'^ferryman_request_seconds_bucket\{[^}]*le="0\.005"[^}]*\} ', end, re.MULTILINE
    )
    for family in ("ferryman_requests_total", "ferryman_request_seconds_bucket"):
        line = next(line for line in end.splitlines() if line.startswith(family + "{"))
        for label in ("model=", "version=", "endpoint=", "status="):
            assert label in line


def test_a_model_failing_on_a_row_answers_422_naming_it_and_the_server_stays_up(
    client: httpx.Client, server: LiveServer
) -> None:
    start = client.get("/metrics").text
    answer = client.post(
        "/models/fragile/predict",
        json={"records": [{"code": "id-5", "x": 1.0}, {"code": "never-seen", "x": 1.0}]},
        headers={"X-Request-Id": "boom-1"},
    )
    body = assert_simple_error(answer, 422, "invalid_input")
    assert body["error"].startswith("model fragile/1 cannot predict on row 1: Found unknown")
    assert [(p["row"], p["kind"]) for p in body["problems"]] == [(1, "model_failed")]
    assert "Traceback" not in answer.text
    assert answer.headers["x-model-version"] == "1"

    v2 = client.post(
        "/v2/models/fragile/infer",
        json={
            "inputs": [
                {"name": "code", "shape": [1], "datatype": "BYTES", "data": ["never-seen"]},
                {"name": "x", "shape": [1], "datatype": "FP64", "data": [1.0]},
            ]
        },
    )
    error = assert_v2_error(v2, 400)
    assert error.startswith("model fragile/1 cannot predict on row 0: Found unknown")

    good = client.post("/models/fragile/predict", json={"code": "id-5", "x": 1.0})
    assert good.status_code == 200, good.text
    assert good.json()["predictions"] == [True]
    assert client.get("/v2/health/ready").status_code == 200
    end = client.get("/metrics").text
    labels = {"model": "fragile", "version": "1", "kind": "model_failed"}  # the model's fault
    assert (
        metric(end, "ferryman_errors_total", endpoint="predict", **labels)
        - metric(start, "ferryman_errors_total", endpoint="predict", **labels)
        == 1
    )
    assert (
        metric(end, "ferryman_errors_total", endpoint="v2_infer", **labels)
        - metric(start, "ferryman_errors_total", endpoint="v2_infer", **labels)
        == 1
    )
    assert server.process is not None
    assert server.process.poll() is None


def test_one_failing_request_in_a_batch_does_not_fail_its_neighbours(
    server: LiveServer,
) -> None:
    """Concurrent requests are predicted together; when the model raises on one caller's
    rows, every other caller still gets its answer."""
    good = {"code": "id-5", "x": 1.0}
    bad = {"code": "never-seen", "x": 1.0}
    bodies = [bad if i % 4 == 0 else good for i in range(32)]
    with httpx.Client(base_url=server.url, timeout=60) as session, ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda b: session.post("/models/fragile/predict", json=b), bodies))
    assert [a.status_code for a in answers] == [422 if i % 4 == 0 else 200 for i in range(32)]
    assert all(a.json()["predictions"] == [True] for a in answers if a.status_code == 200)
    refused = [a.json()["problems"] for a in answers if a.status_code == 422]
    assert all([(p["row"], p["kind"]) for p in found] == [(0, "model_failed")] for found in refused)


def test_unknown_model_names_do_not_grow_the_metrics(client: httpx.Client) -> None:
    """Metric labels must come from served models only: a client asking for made-up model
    names would otherwise add a series per name to every scrape (unbounded cardinality)."""
    name = f"made-up-{uuid.uuid4().hex}"
    assert client.post(f"/models/{name}/predict", json={}).status_code == 404
    assert client.post(f"/v2/models/{name}/infer", json={"inputs": []}).status_code == 404
    assert name not in client.get("/metrics").text


def test_a_version_whose_artifact_is_damaged_is_a_server_error(
    start_server: Any, registry: Registry, cancer_frame: pd.DataFrame, cancer_model: Pipeline
) -> None:
    """Version 2 loads on first use; its blob no longer matches its hash. That is the
    server's fault (ArtifactError), yet errors.status_of's FerrymanError fallback answers
    400 "bad_request", as if the caller had sent something wrong."""
    registry.register(
        cancer_model, "cancer", train_data=cancer_frame, target="target", aliases=["production"]
    )
    other = make_pipeline(StandardScaler(), LogisticRegression(C=0.01, max_iter=1000))
    other.fit(cancer_frame.drop(columns="target"), cancer_frame["target"])
    version = registry.register(other, "cancer", train_data=cancer_frame, target="target")
    blob = Path(registry.artifacts.location(version.artifact_sha256))
    blob.chmod(0o644)
    blob.write_bytes(b"\0" * version.artifact_size)
    live = start_server()
    rows = records(cancer_frame.drop(columns="target").head(1))
    answer = httpx.post(f"{live.url}/models/cancer/2/predict", json=rows, timeout=30)
    assert answer.status_code >= 500, answer.text
    assert set(answer.json()) == ERROR_KEYS
    assert httpx.post(f"{live.url}/models/cancer/predict", json=rows).status_code == 200
