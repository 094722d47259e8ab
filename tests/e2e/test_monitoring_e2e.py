"""Issue 4's acceptance: a real server gets traffic whose distribution shifts halfway, delayed
ground truth arrives, and monitoring finds exactly the shifted features, measures the KPI
drop, delivers an alert to a real webhook receiver and ranks the shifted features first."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from ferryman.monitoring.log.reader import LogReader
from ferryman.registry import Registry
from live_server import LiveServer, cli_json

FERRYMAN = Path(sys.executable).with_name("ferryman")
NUMERIC = ["x0", "x1", "x2", "x3", "x4"]
SHIFTED = {"x0", "region"}
REGIONS = ["north", "south", "west"]


def _draw(rng: np.random.Generator, rows: int, shifted: bool) -> tuple[pd.DataFrame, np.ndarray]:
    """Rows of the workload and their true labels. The truth always follows the unshifted
    x0, so once x0 is shifted the model's answers go wrong: the KPI drops."""
    frame = pd.DataFrame(rng.normal(size=(rows, len(NUMERIC))), columns=NUMERIC)
    weights = [0.9, 0.05, 0.05] if shifted else [1 / 3, 1 / 3, 1 / 3]
    frame["region"] = rng.choice(REGIONS, size=rows, p=weights)
    truth = (frame["x0"] + 0.8 * frame["x1"] - 0.5 * frame["x2"] > 0).astype(int).to_numpy()
    if shifted:
        frame["x0"] = frame["x0"] + 2.0
    return frame, truth


class _Receiver(BaseHTTPRequestHandler):
    bodies: list[dict[str, Any]]

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", 0))
        self.server.bodies.append(json.loads(self.rfile.read(length)))  # type: ignore[attr-defined]
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.bodies = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", server.bodies  # type: ignore[attr-defined]
    server.shutdown()
    server.server_close()


def _cli(home: Path, *args: str) -> dict[str, Any]:
    result: dict[str, Any] = cli_json(home, *args)
    return result


def _send(server: LiveServer, frame: pd.DataFrame, truth: np.ndarray) -> list[dict[str, Any]]:
    """Predict in requests of 10 rows; the ground truth for each row, to be sent later."""
    feedback = []
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for start in range(0, len(frame), 10):
            part = frame.iloc[start : start + 10]
            answer = client.post("/models/shop/predict", json={"records": part.to_dict("records")})
            assert answer.status_code == 200, answer.text
            rid = answer.json()["request_id"]
            feedback += [
                {"request_id": rid, "row": i, "label": int(truth[start + i])}
                for i in range(len(part))
            ]
    return feedback


def _wait(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_shifted_traffic_is_detected_explained_and_alerted(
    registry: Registry,
    home: Path,
    tmp_path: Path,
    start_server: Callable[..., LiveServer],
    webhook: tuple[str, list[dict[str, Any]]],
) -> None:
    url, received = webhook
    rng = np.random.default_rng(7)
    train, labels = _draw(rng, 3000, shifted=False)
    model = make_pipeline(
        ColumnTransformer(
            [("num", StandardScaler(), NUMERIC), ("cat", OneHotEncoder(), ["region"])]
        ),
        LogisticRegression(max_iter=1000),
    ).fit(train, labels)
    accuracy = float((model.predict(train) == labels).mean())
    registry.register(
        model,
        "shop",
        train_data=train.assign(bought=labels),
        target="bought",
        metrics={"accuracy": accuracy},
        aliases=["production"],
    )
    # the server's own settings file: a fast schedule, the webhook, a KPI rule
    (tmp_path / "ferryman.toml").write_text(
        "[ferryman.monitoring]\n"
        "flush_seconds = 0.3\n"
        "schedule_seconds = 2\n"
        'window = "10m"\n'
        f'webhooks = ["{url}"]\n'
        "[[ferryman.monitoring.models.shop.alerts]]\n"
        'name = "accuracy-low"\n'
        'metric = "kpi"\n'
        'kpi = "accuracy"\n'
        'op = "below"\n'
        "threshold = 0.85\n"
    )
    server = start_server()

    before, before_truth = _draw(rng, 600, shifted=False)
    feedback = _send(server, before, before_truth)
    time.sleep(5.5)  # the halves fall in different 5 s buckets of the KPI series
    after, after_truth = _draw(rng, 600, shifted=True)
    feedback += _send(server, after, after_truth)

    # ground truth arrives later, in two posts, one with a record that is wrong
    with httpx.Client(base_url=server.url, timeout=30) as client:
        half = len(feedback) // 2
        first = client.post("/models/shop/feedback", json=feedback[:half])
        assert first.status_code == 200
        assert first.json()["accepted"] == half
        second = client.post(
            "/models/shop/feedback",
            json={"feedback": [*feedback[half:], {"request_id": "x", "label": [1]}]},
        )
        assert second.status_code == 200
        assert second.json()["accepted"] == len(feedback) - half
        assert [r["index"] for r in second.json()["rejected"]] == [len(feedback) - half]

    _wait(
        lambda: (
            {b.get("rule") for b in received if b.get("state") == "fired"}
            >= {"feature-drift", "accuracy-low"}
        ),
        60,
        f"alerts at the webhook (got {[b.get('rule') for b in received]})",
    )
    fired = {(b["rule"], b.get("subject")) for b in received if b.get("state") == "fired"}
    assert ("feature-drift", "x0") in fired

    drift = _cli(home, "monitor", "drift", "shop", "--window", "10m")
    assert drift["live_rows"] == 1200
    assert {f["feature"] for f in drift["features"] if f["drifted"]} == SHIFTED
    for record in drift["features"]:
        assert {"feature", "kind", "psi", "drifted"} <= set(record)
        if record["kind"] == "numeric":
            assert record["ks_statistic"] is not None
            assert record["ks_pvalue"] is not None
        else:
            assert record["chi2_pvalue"] is not None

    performance = _cli(home, "monitor", "performance", "shop", "--window", "10m", "--bucket", "5s")
    buckets = sorted(
        (r for r in performance["versions"] if r["bucket_start"]), key=lambda r: r["bucket_start"]
    )
    early, late = buckets[0]["metrics"]["accuracy"], buckets[-1]["metrics"]["accuracy"]
    assert early > 0.85, (early, late)
    assert late < early - 0.2, (early, late)
    overall = _cli(home, "monitor", "performance", "shop", "--window", "10m")["versions"][0]
    assert overall["labelled"] == 1200
    assert overall["change"]["accuracy"] < -0.1  # against the accuracy it was registered with

    cause = _cli(home, "monitor", "explain", "shop", "--window", "10m")
    assert {s["feature"] for s in cause["suspects"][:2]} == SHIFTED

    summary = httpx.get(f"{server.url}/models/shop/monitoring").json()
    assert summary["prediction_log"]["dropped"] == 0
    assert summary["prediction_log"]["logged"] == 1200
    assert summary["results"]["drift"]["summary"]["share"] > 0
    [live] = summary["results"]["performance"]["payload"]["versions"]
    low, high = live["intervals"]["accuracy"]  # the KPI rule fired on a whole interval < 0.85
    assert low <= live["metrics"]["accuracy"] <= high < 0.85
    assert {a["rule"] for a in summary["alerts_firing"]} >= {"feature-drift", "accuracy-low"}

    metrics = httpx.get(f"{server.url}/metrics").text
    assert 'ferryman_feature_drifted{feature="x0",model="shop",version="1"} 1.0' in metrics
    assert 'ferryman_alert_firing{model="shop",rule="accuracy-low"} 1.0' in metrics
    assert 'ferryman_prediction_log_records{outcome="dropped"} 0.0' in metrics

    report = tmp_path / "report.html"
    done = subprocess.run(
        [str(FERRYMAN), "--home", str(home), "monitor", "report", "shop", "-o", str(report)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    page = report.read_text()
    assert "x0" in page
    assert "Attention needed" in page
    assert "<svg" in page


def test_sigterm_flushes_every_logged_prediction(
    cancer_served: list[int],
    cancer_frame: pd.DataFrame,
    home: Path,
    tmp_path: Path,
    start_server: Callable[..., LiveServer],
) -> None:
    """Nothing is lost on a clean shutdown: with a writer that would wait ten minutes, the
    rows still reach the log when the server is stopped."""
    (tmp_path / "ferryman.toml").write_text(
        "[ferryman.monitoring]\nflush_seconds = 600\nschedule_seconds = 0\n"
    )
    server = start_server()
    rows = cancer_frame.drop(columns="target").head(3).to_dict("records")
    with httpx.Client(base_url=server.url, timeout=30) as client:
        ids = []
        for _ in range(40):
            answer = client.post("/models/cancer/predict", json={"records": rows})
            assert answer.status_code == 200
            ids.append(answer.json()["request_id"])
        refused = client.post("/models/cancer/predict", json={"records": [{"nope": 1}]})
        assert refused.status_code == 422
    assert server.stop() == -15
    reader = LogReader(str(home / "monitoring"))
    try:
        now = datetime.now(UTC)
        logged = reader.read_window("cancer", now - timedelta(hours=1), now + timedelta(minutes=1))
        rejections = reader.rejections("cancer", now - timedelta(hours=1), now)
    finally:
        reader.close()
    assert len(logged) == 120
    assert set(logged["request_id"]) == set(ids)
    assert sorted(logged["row"].astype(int).unique()) == [0, 1, 2]
    # one refused request: each missing column and the unknown one is a problem of it
    assert int(rejections["requests"].max()) == 1
    assert int(rejections["problems"].sum()) == len(rows[0]) + 1


def test_concurrent_requests_on_every_protocol_are_logged_each_as_its_own(
    cancer_served: list[int],
    cancer_frame: pd.DataFrame,
    home: Path,
    start_server: Callable[..., LiveServer],
) -> None:
    """The micro-batcher answers concurrent requests of all three protocols in shared model
    calls, and the log gets one batch per call: every logged row must still carry its own
    request's id (V2: the body's ``id`` when given), endpoint, inputs and answer."""
    features = cancer_frame.drop(columns="target")
    server = start_server()
    sent: dict[str, tuple[str, pd.DataFrame, list[int]]] = {}  # id -> endpoint, rows, answer
    lock = threading.Lock()

    def call(client: httpx.Client, n: int) -> None:
        rows = features.iloc[n * 3 : n * 3 + 1 + n % 3]  # 1 to 3 rows, none shared
        if n % 4 == 0:
            given = f"body-id-{n}" if n % 8 == 0 else None
            inputs = [{"name": c, "shape": [len(rows)], "datatype": "FP64",
                       "data": rows[c].tolist()} for c in rows.columns]  # fmt: skip
            body: dict[str, Any] = {"inputs": inputs, **({"id": given} if given else {})}
            answer = client.post("/v2/models/cancer/infer", json=body)
            assert answer.status_code == 200, answer.text
            outputs = {o["name"]: o["data"] for o in answer.json()["outputs"]}
            found = (given or answer.headers["x-request-id"], "v2_infer", outputs["predict"])
        else:
            path = "/invocations" if n % 4 == 1 else "/models/cancer/predict"
            answer = client.post(path, json={"records": rows.to_dict("records")})
            assert answer.status_code == 200, answer.text
            endpoint = "invocations" if n % 4 == 1 else "predict"
            found = (answer.headers["x-request-id"], endpoint, answer.json()["predictions"])
        with lock:
            sent[found[0]] = (found[1], rows, found[2])

    def worker(first: int) -> None:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            for n in range(first, 96, 8):
                call(client, n)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(sent) == 96
    assert server.stop() == -15  # SIGTERM: the log drains

    reader = LogReader(str(home / "monitoring"))
    try:
        now = datetime.now(UTC)
        logged = reader.read_window("cancer", now - timedelta(hours=1), now + timedelta(minutes=1))
    finally:
        reader.close()
    assert set(logged["request_id"]) == set(sent)
    assert {"body-id-0", "body-id-88"} <= set(logged["request_id"])
    # eight clients at once: some model call answered several requests (one time for all)
    assert logged.groupby("ts")["request_id"].nunique().max() > 1
    for request_id, rows in logged.groupby("request_id"):
        endpoint, given, answer = sent[str(request_id)]
        rows = rows.sort_values("row", key=lambda r: r.astype(int))
        assert rows["source"].unique().tolist() == [endpoint]
        assert rows["row"].tolist() == [str(i) for i in range(len(given))]
        np.testing.assert_array_equal(rows["mean radius"], given["mean radius"])
        np.testing.assert_array_equal(rows["worst area"], given["worst area"])
        assert rows["prediction"].astype(int).tolist() == answer
        assert (rows["latency_ms"] > 0).all()
        assert rows["latency_ms"].nunique() == 1  # a request's latency, on each of its rows
