"""Regressions from the serving review that need a real server."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pandas as pd
from sklearn.pipeline import Pipeline

from ferryman.registry import Registry
from live_server import LiveServer


def test_metadata_names_the_alias_that_was_asked_for_and_an_empty_id_is_echoed(
    registry: Registry,
    cancer_model: Pipeline,
    cancer_frame: pd.DataFrame,
    start_server: Callable[..., LiveServer],
) -> None:
    for alias in ("production", "staging"):
        registry.register(
            cancer_model, "cancer", train_data=cancer_frame, target="target", aliases=[alias]
        )
    url = start_server("--poll-interval", "0").url
    staging = httpx.get(f"{url}/models/cancer@staging").json()
    numbered = httpx.get(f"{url}/models/cancer/2").json()
    default = httpx.get(f"{url}/models/cancer").json()
    row = cancer_frame.drop(columns="target").iloc[0].tolist()
    infer = httpx.post(
        f"{url}/v2/models/cancer/infer",
        json={
            "id": "",
            "inputs": [{"name": "x", "shape": [1, 30], "datatype": "FP64", "data": row}],
        },
    )
    assert (staging["version"], staging["alias"]) == (2, "staging")
    assert (numbered["version"], numbered["alias"]) == (2, None)
    assert (default["version"], default["alias"]) == (1, "production")
    assert infer.status_code == 200
    assert infer.json()["id"] == ""
