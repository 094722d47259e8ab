"""CallRecorder: what a model call hands the prediction log, request by request."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from sklearn.pipeline import Pipeline
from starlette.requests import Request

from ferryman.http.server_state import Exchange
from ferryman.monitoring.log.reader import LogReader
from ferryman.monitoring.log.writer import PredictionLog
from ferryman.registry import Registry
from ferryman.serving.batching import BatchSettings, Runner
from ferryman.serving.pool import ModelPool, PoolSettings
from ferryman.serving.served import ServedVersion


def records(rows: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): v for k, v in r.items()} for r in rows.to_dict("records")]


def exchange(request_id: str, endpoint: str) -> Exchange:
    scope = {"type": "http", "headers": [(b"x-request-id", request_id.encode())]}
    return Exchange(Request(scope), endpoint)


def test_one_model_call_is_logged_as_its_requests_each_with_its_own_fields(
    registry: Registry, cancer_frame: pd.DataFrame, cancer_model: Pipeline, tmp_path: Path
) -> None:
    registry.register(cancer_model, "cancer", train_data=cancer_frame, target="target")
    served = ServedVersion(registry.load("cancer/1"))
    served.warm(registry.reference_sample("cancer/1"))
    served.inline = True
    log = PredictionLog(str(tmp_path / "log"), start=False)
    observer = ModelPool(registry, PoolSettings(), sink=log).recorder.observer
    assert observer is not None
    features = cancer_frame.drop(columns="target")
    work = [features.iloc[0:2], features.iloc[2:3], features.iloc[3:6], features.iloc[6:7]]
    tags: list[object] = [exchange("a", "predict"), exchange("b", "v2_infer"), None]
    tags[1].logged_id = "body-id"  # type: ignore[attr-defined] # V2's id from the body
    tags.append(exchange("d", "invocations"))

    async def main() -> None:
        runner = Runner(served, BatchSettings(max_batch=64), on_answer=observer)
        items = [served.codec.encode(records(rows)) for rows in work]
        try:
            await asyncio.gather(*(runner.predict(i, t) for i, t in zip(items, tags, strict=True)))
        finally:
            await runner.close()

    asyncio.run(main())
    log.close()
    reader = LogReader(str(tmp_path / "log"))
    try:
        rows = reader.read_window("cancer", pd.Timestamp(0, tz="UTC"), pd.Timestamp.now("UTC"))
    finally:
        reader.close()

    assert rows["ts"].nunique() == 1  # one model call answered all four
    by_id = {str(k): g.sort_values("row") for k, g in rows.groupby("request_id")}
    # the request predicted without an exchange is logged under an id of its own, no latency
    (untagged,) = set(by_id) - {"a", "body-id", "d"}
    assert untagged.startswith("untagged-")
    expected = {"a": (work[0], "predict"), "body-id": (work[1], "v2_infer"),
                untagged: (work[2], "unknown"), "d": (work[3], "invocations")}  # fmt: skip
    for request_id, (given, endpoint) in expected.items():
        got = by_id[request_id]
        assert got["source"].unique().tolist() == [endpoint]
        np.testing.assert_array_equal(got["mean radius"], given["mean radius"])
        assert got["prediction"].tolist() == served.loaded.predict(given).tolist()
        latency = got["latency_ms"].unique()
        assert len(latency) == 1
        if request_id == untagged:
            assert math.isnan(latency[0])
        else:
            assert latency[0] > 0
    (path,) = (tmp_path / "log").rglob("s-*.parquet")
    assert pq.read_table(path).column("latency_ms").null_count == len(work[2])  # null, not NaN
