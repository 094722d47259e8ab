"""A real server with a model that cannot be loaded: the others answer in every protocol, the
broken one answers 503 with its reason, is not ready, shows in /metrics, is logged once, and
is served once its alias moves to a version that loads. Named with --models, it stops the
start in one line."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from test_serve_start import serve

from ferryman.registry import Registry
from live_server import LiveServer, free_port

DAMAGED = "truncated or was changed"  # the artifact store's reason for a damaged file


@pytest.fixture
def store(registry: Registry, home: Path, cancer_frame: pd.DataFrame) -> dict[str, Any]:
    """``cancer`` and ``other`` load; ``broken`` 1 (production) is damaged on disk, ``broken``
    2 loads. Returns a record to predict."""
    features = cancer_frame.drop(columns="target")
    for name, c in (("cancer", 1.0), ("other", 0.1), ("broken", 0.5), ("broken", 0.05)):
        model = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=1000))
        model.fit(features, cancer_frame.target)
        aliases = ["production"] if (name, c) != ("broken", 0.05) else []
        registry.register(model, name, train_data=cancer_frame, target="target", aliases=aliases)
    digest = registry.resolve("broken/1").artifact_sha256
    (home / "artifacts" / "sha256" / digest[:2] / digest[2:]).write_bytes(b"damaged")
    return {str(k): float(v) for k, v in features.iloc[0].items()}


def v2_inputs(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "inputs": [
            {"name": k, "shape": [1], "datatype": "FP64", "data": [v]} for k, v in record.items()
        ]
    }


def assert_unavailable_simple(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    body = response.json()
    assert set(body) == {"error", "kind", "request_id"}
    assert body["kind"] == "model_unavailable"
    assert body["error"].startswith("model 'broken' cannot be served: its 'production' version 1")
    assert DAMAGED in body["error"]


def assert_unavailable_v2(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert "'broken'" in body["error"]
    assert DAMAGED in body["error"]


def metric(text: str, name: str, **labels: str) -> float | None:
    """The value of one series in Prometheus text, None when absent."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        series, _, value = line.rpartition(" ")
        if series == f"{name}{{{wanted}}}":
            return float(value)
    return None


def test_a_model_that_cannot_load_never_takes_the_others_down(
    start_server: Callable[..., LiveServer], registry: Registry, store: dict[str, Any]
) -> None:
    server = start_server("--poll-interval", "0.2", "--sagemaker-model", "broken")
    log = server.log()
    assert log.count("cannot load broken/1") == 1
    assert "Traceback" not in log
    said = f"serving cancer, other (production) on {server.url}"
    assert said in log
    assert "not serving broken: cannot be loaded" in log
    with httpx.Client(base_url=server.url, timeout=30.0) as client:
        for name in ("cancer", "other"):
            assert client.post(f"/models/{name}/predict", json=[store]).status_code == 200
            answer = client.post(f"/v2/models/{name}/infer", json=v2_inputs(store))
            assert answer.status_code == 200, answer.text
            assert client.get(f"/v2/models/{name}/ready").json() == {"name": name, "ready": True}

        assert_unavailable_simple(client.post("/models/broken/predict", json=[store]))
        assert_unavailable_simple(client.get("/models/broken"))
        assert_unavailable_simple(client.post("/invocations", json=[store]))
        assert_unavailable_v2(client.post("/v2/models/broken/infer", json=v2_inputs(store)))
        assert_unavailable_v2(client.get("/v2/models/broken"))
        ready = client.get("/v2/models/broken/ready")
        assert ready.status_code == 503
        assert ready.json()["ready"] is False
        assert DAMAGED in ready.json()["error"]
        assert client.get("/ping").status_code == 503  # the SageMaker model is the broken one
        # other versions of the broken model answer
        assert client.post("/models/broken/2/predict", json=[store]).status_code == 200

        assert client.get("/v2/health/ready").json() == {"ready": True}
        assert client.get("/v2/health/live").json() == {"live": True}
        assert client.get("/v2/models").json() == {"models": ["broken", "cancer", "other"]}
        listed = {m["name"]: m for m in client.get("/models").json()["models"]}
        assert DAMAGED in listed["broken"]["unavailable"]
        assert listed["broken"]["version"] == 1
        assert "unavailable" not in listed["cancer"]

        metrics = client.get("/metrics").text
        assert metric(metrics, "ferryman_model_ready", model="broken") == 0
        assert metric(metrics, "ferryman_model_ready", model="cancer") == 1
        failures = metric(
            metrics, "ferryman_model_load_failures_total", model="broken", version="1"
        )
        assert failures == 1
        errors = metric(
            metrics,
            "ferryman_errors_total",
            model="broken",
            version="1",
            endpoint="predict",
            kind="model_unavailable",
        )
        assert errors is not None
        assert errors >= 1

        time.sleep(1.0)  # several polls: the same version is not tried (or logged) again
        assert server.log().count("cannot load broken/1") == 1

        registry.set_alias("broken", "production", 2)
        deadline = time.monotonic() + 20
        while (answer := client.post("/models/broken/predict", json=[store])).status_code != 200:
            assert answer.status_code == 503, answer.text
            assert time.monotonic() < deadline, "the alias move was not picked up"
            time.sleep(0.1)
        assert answer.json()["version"] == 2
        assert client.get("/v2/models/broken/ready").json() == {"name": "broken", "ready": True}
        assert client.get("/ping").status_code == 200
        metrics = client.get("/metrics").text
        assert metric(metrics, "ferryman_model_ready", model="broken") == 1
        assert metric(metrics, "ferryman_serving_version", model="broken") == 2


def test_a_broken_model_named_with_models_stops_serve_in_one_line(
    home: Path, store: dict[str, Any]
) -> None:
    done = serve(
        home, "--port", str(free_port()), "--models", "cancer,broken", "--log-level", "warning"
    )
    assert done.returncode == 1, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("error: cannot serve 'broken': version 1 (production) cannot be loaded")
    assert DAMAGED in line
    assert line.endswith("leave it out of --models to serve the others")

    at_info = serve(home, "--port", str(free_port()), "--models", "broken")
    assert at_info.returncode == 1
    assert "Traceback" not in at_info.stderr
    assert at_info.stderr.strip().splitlines()[-1] == line
    assert "Application startup" not in at_info.stderr  # uvicorn never started


def test_with_several_workers_a_broken_named_model_stops_serve_without_a_traceback(
    home: Path, store: dict[str, Any]
) -> None:
    done = serve(
        home, "--port", str(free_port()), "--workers", "2", "--models", "cancer,broken",
        "--log-level", "warning",
    )  # fmt: skip

    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    named = [line for line in done.stderr.splitlines() if "cannot serve 'broken'" in line]
    assert 1 <= len(named) <= 2  # each worker that got as far says it, before the supervisor
    assert all(DAMAGED in line for line in named)
    assert done.stderr.strip().splitlines()[-1].startswith("error: the server did not start")
