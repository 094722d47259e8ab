"""A text pipeline fitted on a Series, served by a real ``ferryman serve``: records, V2 BYTES
tensors (JSON and binary, by tritonclient) and CSV; and ``ferryman predict`` / ``score`` on a
CSV file, each in its own process, answering as the model does in this one."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
import tritonclient.http as triton
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer

from ferryman.config import Settings
from ferryman.registry import Registry
from live_server import FERRYMAN, LiveServer
from same_predictions import assert_same_predictions
from text_reviews import NEW_REVIEWS, reviews


@pytest.fixture(scope="module")
def model() -> Pipeline:
    """Its first step passes the column on, so only the recorded signature says that the
    model takes the column alone (not the vectorizer's presence)."""
    data = reviews()
    pipeline = make_pipeline(FunctionTransformer(), TfidfVectorizer(), LogisticRegression())
    return pipeline.fit(data["review"], data["label"])


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, model: Pipeline) -> Path:
    home = tmp_path_factory.mktemp("text") / "store"
    registry = Registry(Settings.load(home=home, actor="tester", record_git=False))
    try:
        registry.register(model, "reviews", train_data=reviews()["review"], aliases=["production"])
    finally:
        registry.close()
    return home


@pytest.fixture(scope="module")
def server(home: Path) -> Iterator[LiveServer]:
    live = LiveServer(home, ()).start()
    yield live
    live.stop()


def test_records_predict_as_the_model_does(server: LiveServer, model: Pipeline) -> None:
    records = [{"review": text} for text in NEW_REVIEWS]

    answer = httpx.post(f"{server.url}/models/reviews/predict", json={"records": records})

    assert answer.status_code == 200, answer.text
    assert_same_predictions(answer.json()["predictions"], model.predict(NEW_REVIEWS))
    assert_same_predictions(answer.json()["probabilities"], model.predict_proba(NEW_REVIEWS))


def test_a_csv_body_predicts_as_the_model_does(server: LiveServer, model: Pipeline) -> None:
    texts = ['with a comma, and "quotes"', *NEW_REVIEWS]
    body = pd.DataFrame({"review": texts}).to_csv(index=False)

    answer = httpx.post(
        f"{server.url}/models/reviews/predict", content=body, headers={"content-type": "text/csv"}
    )

    assert answer.status_code == 200, answer.text
    assert_same_predictions(answer.json()["probabilities"], model.predict_proba(texts))


def test_v2_metadata_says_one_bytes_input(server: LiveServer) -> None:
    meta = httpx.get(f"{server.url}/v2/models/reviews").json()

    assert meta["inputs"] == [
        {
            "name": "review",
            "datatype": "BYTES",
            "shape": [-1],
            "parameters": {"unseen_nulls": "refuse"},  # a vectorizer fails on a missing text
        }
    ]


@pytest.mark.parametrize("shape", [[3], [3, 1]])
def test_v2_bytes_tensor_json(server: LiveServer, model: Pipeline, shape: list[int]) -> None:
    tensor = {"name": "review", "datatype": "BYTES", "shape": shape, "data": NEW_REVIEWS}

    answer = httpx.post(f"{server.url}/v2/models/reviews/infer", json={"inputs": [tensor]})

    assert answer.status_code == 200, answer.text
    outputs = {o["name"]: o for o in answer.json()["outputs"]}
    assert_same_predictions(outputs["predict"]["data"], model.predict(NEW_REVIEWS))
    proba = np.asarray(outputs["predict_proba"]["data"]).reshape(3, 2)
    assert_same_predictions(proba, model.predict_proba(NEW_REVIEWS))


@pytest.mark.parametrize("binary", [True, False])
def test_v2_bytes_tensor_by_tritonclient(server: LiveServer, model: Pipeline, binary: bool) -> None:
    client = triton.InferenceServerClient(url=f"127.0.0.1:{server.port}", network_timeout=30.0)
    try:
        tensor = triton.InferInput("review", [len(NEW_REVIEWS)], "BYTES")
        tensor.set_data_from_numpy(np.array(NEW_REVIEWS, dtype=object), binary_data=binary)
        result = client.infer("reviews", [tensor])
    finally:
        client.close()

    assert_same_predictions(result.as_numpy("predict"), model.predict(NEW_REVIEWS))
    assert_same_predictions(result.as_numpy("predict_proba"), model.predict_proba(NEW_REVIEWS))


def run(home: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {"FERRYMAN_HOME": str(home), "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [str(FERRYMAN), *map(str, args)], env=env, capture_output=True, text=True, timeout=120
    )


def test_predict_and_score_a_csv_file_in_another_process(
    home: Path, model: Pipeline, tmp_path: Path
) -> None:
    source = tmp_path / "new.csv"
    pd.DataFrame({"id": [7, 8, 9], "review": NEW_REVIEWS}).to_csv(source, index=False)

    predicted = run(
        home, "predict", "reviews", "-i", source, "-o", tmp_path / "p.csv", "--keep", "id"
    )
    scored = run(home, "score", "reviews", source, "-o", tmp_path / "s.csv", "--id-column", "id")

    assert predicted.returncode == 0, predicted.stderr
    assert scored.returncode == 0, scored.stderr
    for path in (tmp_path / "p.csv", tmp_path / "s.csv"):
        out = pd.read_csv(path)
        assert out["id"].tolist() == [7, 8, 9]
        assert_same_predictions(out["prediction"], model.predict(NEW_REVIEWS))
        assert_same_predictions(out[["proba_0", "proba_1"]], model.predict_proba(NEW_REVIEWS))
