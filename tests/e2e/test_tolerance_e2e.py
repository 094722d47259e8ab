"""A real server lets through what registration found the model copes with, counts it, logs
it for monitoring, and refuses (422, listing every value) what the model does not cope with."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
from sklearn.compose import make_column_transformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder

from ferryman.registry import Registry
from live_server import LiveServer, cli_json
from same_predictions import assert_same_predictions

FERRYMAN = Path(sys.executable).with_name("ferryman")
CITIES = ["oslo", "lima", "pune", "kyiv", "baku"]


def _frame(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "city": rng.choice(CITIES, rows),
            "count": rng.integers(0, 9, rows),
            "x": rng.normal(size=rows),
        }
    )
    frame["target"] = (frame["x"] + (frame["city"] == "oslo") + frame["count"] / 9) > 0.8
    return frame


def _shop_model(train: pd.DataFrame) -> Pipeline:
    """Copes with unseen cities (one-hot, ignored) and nulls (histogram boosting)."""
    return make_pipeline(
        make_column_transformer(
            (OneHotEncoder(handle_unknown="ignore"), ["city"]), remainder="passthrough"
        ),
        HistGradientBoostingClassifier(max_iter=20, random_state=0),
    ).fit(train.drop(columns="target"), train["target"])


def _metric(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_accepted_values_reach_the_model_are_counted_and_refused_ones_are_listed(
    registry: Registry, home: Path, tmp_path: Path, start_server: Callable[..., LiveServer]
) -> None:
    train = _frame(400, 1)
    model = _shop_model(train)
    production = ["production"]
    shop = registry.register(model, "shop", train_data=train, target="target", aliases=production)
    assert shop.signature is not None
    assert shop.signature.tolerance() == {
        "city": {"unknown_categories": "accept", "unseen_nulls": "accept"},
        "count": {"unseen_nulls": "accept"},
        "x": {"unseen_nulls": "accept"},
    }
    strict = {"*": {"unknown_categories": "refuse", "unseen_nulls": "refuse"}}
    registry.register(
        model, "strict", train_data=train, target="target", aliases=production, tolerate=strict
    )
    (tmp_path / "ferryman.toml").write_text("[ferryman.monitoring]\nflush_seconds = 0.3\n")
    server = start_server()

    rows = [
        {"city": "rome", "count": 3, "x": 0.2},  # a city never seen
        {"city": "oslo", "count": 1, "x": None},  # a null where training had none
        {"city": "lima", "count": None, "x": 1.5},
        {"city": "rome", "count": 2, "x": -0.4},
    ]
    with httpx.Client(base_url=server.url, timeout=30) as client:
        before = client.get("/metrics").text
        answer = client.post("/models/shop/predict", json={"records": rows})
        assert answer.status_code == 200, answer.text
        expected = pd.DataFrame(rows).astype({"count": "float64", "x": "float64"})
        body = answer.json()
        assert_same_predictions(body["predictions"], model.predict(expected))
        assert_same_predictions(body["probabilities"], model.predict_proba(expected))
        v2 = client.post(
            "/v2/models/shop/infer",
            json={
                "inputs": [
                    {"name": "city", "shape": [1], "datatype": "BYTES", "data": ["rome"]},
                    {"name": "count", "shape": [1], "datatype": "INT64", "data": [3]},
                    {"name": "x", "shape": [1], "datatype": "FP64", "data": [0.2]},
                ]
            },
        )
        assert v2.status_code == 200, v2.text
        after = client.get("/metrics").text

        refused = client.post("/models/strict/predict", json={"records": rows})
        assert refused.status_code == 422, refused.text
        problems = [(p["row"], p["column"], p["kind"]) for p in refused.json()["problems"]]
        assert problems == [
            (0, "city", "unknown_category"),
            (3, "city", "unknown_category"),
            (2, "count", "null"),
            (1, "x", "null"),
        ]

        metadata = client.get("/v2/models/shop").json()
        parameters = {i["name"]: i.get("parameters") for i in metadata["inputs"]}
        assert parameters["city"] == {"unknown_categories": "accept", "unseen_nulls": "accept"}
        assert parameters["x"] == {"unseen_nulls": "accept"}

    def grew(column: str, kind: str) -> float:
        labels = {"model": "shop", "column": column, "kind": kind}
        name = "ferryman_accepted_values_total"
        return _metric(after, name, **labels) - _metric(before, name, **labels)

    assert grew("city", "unknown_category") == 3  # two in the records, one in the V2 request
    assert grew("x", "null") == 1
    assert grew("count", "null") == 1
    assert _metric(after, "ferryman_accepted_values_total", model="strict") == 0

    # the accepted rows were logged as they were: data quality counts the unseen city and nulls
    deadline = time.monotonic() + 30
    while True:
        quality = cli_json(home, "monitor", "quality", "shop", "--window", "1h")
        if quality["rows"] >= 5 or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    features = {f["feature"]: f for f in quality["features"]}
    assert quality["rows"] == 5
    assert features["city"]["unseen"] == 3
    assert features["x"]["nulls"] == 1
    assert features["count"]["nulls"] == 1
    # and drift gives the unseen city a cell of its own (5 rows: tested with a lower minimum)
    with (tmp_path / "ferryman.toml").open("a") as toml:
        toml.write("[ferryman.monitoring.drift]\nmin_rows = 5\n")
    drift = cli_json(home, "monitor", "drift", "shop", "--window", "1h")
    city = next(f for f in drift["features"] if f["feature"] == "city")
    assert city["unseen_share"] == 3 / 5


def test_v2_json_nulls_are_missing_values_the_signature_decides_on(
    registry: Registry, start_server: Callable[..., LiveServer]
) -> None:
    train = _frame(400, 1)
    model = _shop_model(train)
    production = ["production"]
    registry.register(model, "shop", train_data=train, target="target", aliases=production)
    strict = {"*": {"unknown_categories": "refuse", "unseen_nulls": "refuse"}}
    registry.register(
        model, "strict", train_data=train, target="target", aliases=production, tolerate=strict
    )
    server = start_server()
    inputs = [
        {"name": "city", "shape": [2], "datatype": "BYTES", "data": ["rome", None]},
        {"name": "count", "shape": [2], "datatype": "INT64", "data": [None, 2]},
        {"name": "x", "shape": [2, 1], "datatype": "FP64", "data": [[0.2], [None]]},
    ]

    with httpx.Client(base_url=server.url, timeout=30) as client:
        taken = client.post("/v2/models/shop/infer", json={"inputs": inputs})
        refused = client.post("/v2/models/strict/infer", json={"inputs": inputs})

    assert taken.status_code == 200, taken.text
    expected = pd.DataFrame({"city": ["rome", None], "count": [np.nan, 2.0], "x": [0.2, np.nan]})
    outputs = {o["name"]: o["data"] for o in taken.json()["outputs"]}
    assert_same_predictions(outputs["predict"], model.predict(expected))
    assert refused.status_code == 400, refused.text
    error = refused.json()["error"]
    for where in ("row 1, column 'city'", "row 0, column 'count'", "row 1, column 'x'"):
        assert where in error
