"""A real server answers the simple API with the registered version."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import httpx
import pandas as pd

from live_server import LiveServer


def test_simple_predict_answers_from_a_real_server(
    start_server: Callable[..., LiveServer],
    cancer_served: Sequence[int],
    cancer_frame: pd.DataFrame,
) -> None:
    server = start_server()
    rows = cancer_frame.drop(columns="target").head(3).to_dict(orient="records")
    answer = httpx.post(f"{server.url}/models/cancer/predict", json={"records": rows})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["version"] == cancer_served[0]
    assert answer.headers["x-model-version"] == str(cancer_served[0])
    assert len(body["predictions"]) == 3
    assert body["predictions"] == cancer_frame["target"].head(3).tolist()
    assert server.stop() == -15
    assert "Application shutdown complete" in server.log()
