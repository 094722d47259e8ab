"""``ferryman monitor ...``, ``ferryman feedback`` and ``ferryman score``'s logging, against a
real store and a real prediction log; bad input gets clear messages and the right exit codes."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from cli_support import FEATURES, TARGET, Cli
from sklearn.linear_model import LogisticRegression

from ferryman.config import Settings
from ferryman.core.predictions import PredictionRecord, RejectionRecord
from ferryman.monitoring.drift.detector import adjust_pvalues
from ferryman.monitoring.log.writer import PredictionLog
from ferryman.monitoring.monitor import Monitor, Window
from ferryman.registry import Registry


def log_answers(
    settings: Settings,
    model: LogisticRegression,
    name: str,
    rows: pd.DataFrame,
    ids: str,
    latency_ms: float,
) -> None:
    """Log ``model``'s answers on ``rows`` as version 1 of ``name``, one request per row
    (request ids ``ids`` followed by the row's position)."""
    labels, proba = model.predict(rows), model.predict_proba(rows)
    with PredictionLog.from_settings(settings, start=False) as log:
        for i, row in enumerate(rows.to_numpy()):
            log.record(
                PredictionRecord(
                    model=name,
                    version=1,
                    request_id=f"{ids}{i}",
                    at=time.time(),
                    latency_ms=latency_ms,
                    source="predict",
                    columns=tuple(FEATURES),
                    inputs=row.reshape(1, -1),
                    predictions=labels[i : i + 1],
                    probabilities=proba[i : i + 1],
                    classes=tuple(model.classes_),
                )
            )


@pytest.fixture
def watched(registry: Registry, frame: pd.DataFrame, settings: Settings) -> Registry:
    """``m`` registered with its training data and held-out rows, under production, and 300
    logged rows of which the second half has x0 shifted; one request refused."""
    train, held_out = frame.iloc[:140], frame.iloc[140:]
    model = LogisticRegression().fit(train[FEATURES], train[TARGET])
    registry.register(
        model,
        "m",
        train_data=train,
        target=TARGET,
        validation_data=held_out,
        aliases=["production"],
    )
    rng = np.random.default_rng(0)
    live = frame[FEATURES].sample(300, replace=True, random_state=1).to_numpy().copy()
    live[150:, 0] += 4.0
    live += rng.normal(scale=0.01, size=live.shape)
    answers = pd.DataFrame(live, columns=FEATURES)
    log_answers(settings, model, "m", answers, ids="r", latency_ms=1.5)
    with PredictionLog.from_settings(settings, start=False) as log:
        log.reject(
            RejectionRecord("m", 1, "bad", time.time(), "predict", ((0, "x1", "wrong_type"),))
        )
    return registry


def test_drift_finds_the_shifted_feature(run: Cli, watched: Registry) -> None:
    result = run.json("monitor", "drift", "m", "--window", "1h")
    assert result["live_rows"] == 300
    assert [f["feature"] for f in result["features"] if f["drifted"]] == ["x0"]
    assert result["share"] == pytest.approx(1 / 5)
    assert result["prediction"]["features"][0]["feature"] == "prediction"
    table = run.ok("monitor", "drift", "m").stdout
    assert "x0" in table
    assert "yes" in table


def test_drift_corrects_features_and_outputs_as_one_family(run: Cli, watched: Registry) -> None:
    result = run.json("monitor", "drift", "m", "--window", "1h")
    tests = [*result["features"], *result["prediction"]["features"]]
    assert len(tests) == 7  # five features, the predicted label and the score
    expected = adjust_pvalues([t["p_value"] for t in tests], "holm")
    assert [t["p_adjusted"] for t in tests] == pytest.approx(list(expected), rel=1e-12)
    assert result["family_size"] == result["prediction"]["family_size"] == 7


def test_drift_says_why_prediction_drift_is_skipped_without_held_out_data(
    run: Cli, registry: Registry, frame: pd.DataFrame, settings: Settings
) -> None:
    model = LogisticRegression().fit(frame[FEATURES], frame[TARGET])
    registry.register(model, "bare", train_data=frame, target=TARGET)
    live = frame[FEATURES].iloc[:120]
    log_answers(settings, model, "bare", live, ids="b", latency_ms=1.0)
    result = run.json("monitor", "drift", "bare/1", "--window", "1h")
    assert result["prediction"]["features"] == []
    assert "--validation-data FILE" in result["prediction"]["reason"]
    table = run.ok("monitor", "drift", "bare/1", "--window", "1h").stdout
    assert "prediction drift not computed: version bare/1 was registered without held-out" in (
        " ".join(table.split())
    )


def test_quality_counts_the_refused_request(run: Cli, watched: Registry) -> None:
    result = run.json("monitor", "quality", "m")
    assert result["rejected_requests"] == 1
    x1 = next(f for f in result["features"] if f["feature"] == "x1")
    assert x1["type_errors"] == 1


def test_feedback_file_then_performance(
    run: Cli, watched: Registry, tmp_path: Path, frame: pd.DataFrame
) -> None:
    labels = pd.DataFrame(
        {"request_id": [f"r{i}" for i in range(100)] + ["ghost"], "label": [1] * 101}
    )
    labels.to_csv(tmp_path / "labels.csv", index=False)
    result = run.json("feedback", "m", tmp_path / "labels.csv")
    assert result["accepted"] == 101
    assert result["unknown_ids"] == 1
    perf = run.json("monitor", "performance", "m", "--window", "1h")
    row = perf["versions"][0]
    assert row["labelled"] == 100
    assert 0 <= row["metrics"]["accuracy"] <= 1


def test_explain_ranks_the_shifted_feature_first(run: Cli, watched: Registry) -> None:
    result = run.json("monitor", "explain", "m", "--window", "1h")
    assert result["suspects"][0]["feature"] == "x0"
    assert result["suspects"][0]["drifted"] is True


def test_run_stores_results_and_fires_the_drift_alert(run: Cli, watched: Registry) -> None:
    result = run.json("monitor", "run", "m", "--window", "1h")
    assert "feature-drift" in result["alerts_fired"]
    assert result["errors"] == []
    firing = run.json("monitor", "alerts", "m", "--firing")
    assert {e["rule"] for e in firing} >= {"feature-drift"}
    again = run.json("monitor", "run", "m", "--window", "1h")
    assert again["alerts_fired"] == []  # de-duplicated while it keeps firing
    assert "feature-drift" in again["alerts_still_firing"]


def test_report_is_written(run: Cli, watched: Registry, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    run.ok("monitor", "report", "m", "-o", out)
    assert "x0" in out.read_text()


def test_empty_window_is_not_an_error(run: Cli, registry: Registry, frame: pd.DataFrame) -> None:
    model = LogisticRegression().fit(frame[FEATURES], frame[TARGET])
    registry.register(model, "quiet", train_data=frame, target=TARGET, aliases=["production"])
    drift = run.json("monitor", "drift", "quiet")
    assert drift["live_rows"] == 0
    assert drift["reason"] == "no logged predictions from the live sources"
    explained = run.ok("monitor", "explain", "quiet", "--window", "2h").stdout
    assert "no logged predictions from the live sources in this window (last 2h)" in explained
    assert "no feature drifted" not in explained
    summary = run.json("monitor", "explain", "quiet")["summary"]
    assert summary == "no logged predictions from the live sources in this window (last 24h)"
    assert run.json("monitor", "quality", "quiet")["rows"] == 0
    assert run.json("monitor", "performance", "quiet")["versions"] == []


def test_version_without_training_data_says_why(
    run: Cli, registry: Registry, frame: pd.DataFrame
) -> None:
    model = LogisticRegression().fit(frame[FEATURES], frame[TARGET])
    registry.register(model, "bare", aliases=["production"])
    assert "no training data profile" in run.json("monitor", "drift", "bare")["reason"]


def _flat(text: str) -> str:
    """Usage errors come in a box wrapped to the terminal's width: unwrap them."""
    return " ".join(text.replace("│", " ").split())


def test_bad_arguments(run: Cli, watched: Registry, tmp_path: Path) -> None:
    assert "not a duration" in _flat(run.misused("monitor", "drift", "m", "--window", "soon"))
    assert "not a duration" in _flat(run.misused("monitor", "performance", "m", "--bucket", "x"))
    assert "does not exist" in _flat(
        run.misused("monitor", "report", "m", "-o", tmp_path / "no" / "r.html")
    )
    assert "nope" in run.fails("monitor", "drift", "nope")
    assert "nope" in run.fails("feedback", "nope", tmp_path / "x.csv")
    missing = run.fails("feedback", "m", tmp_path / "x.csv")
    assert "x.csv" in missing
    (tmp_path / "bad.csv").write_text("id,truth\n1,2\n")
    assert "request_id" in run.fails("feedback", "m", tmp_path / "bad.csv")


def test_all_null_feature_is_skipped_with_a_reason(
    registry: Registry, frame: pd.DataFrame, settings: Settings
) -> None:
    model = LogisticRegression().fit(frame[FEATURES], frame[TARGET])
    registry.register(model, "n", train_data=frame, target=TARGET, aliases=["production"])
    rows = frame[FEATURES].head(200).to_numpy().copy()
    rows[:, 2] = np.nan
    with PredictionLog.from_settings(settings, start=False) as log:
        log.record(
            PredictionRecord(
                "n", 1, "all", time.time(), 1.0, "predict", tuple(FEATURES), rows,
                np.zeros(200, dtype=int), None, (0, 1),
            )
        )  # fmt: skip
    monitor = Monitor(registry)
    try:
        result = monitor.drift("n", Window.last("1h")).to_dict()
        quality = monitor.quality("n", Window.last("1h"))
    finally:
        monitor.close()
    assert "x2" in result["skipped"]
    assert "null" in result["skipped"]["x2"]
    x2 = next(f for f in quality.features if f.feature == "x2")
    assert x2.null_rate == 1.0
    assert x2.issues


def test_drift_table_shows_the_corrected_p_value_it_decided_on(run: Cli, watched: Registry) -> None:
    result = run.json("monitor", "drift", "m", "--window", "1h")
    assert result["thresholds"]["correction"] == "holm"
    lines = run.ok("monitor", "drift", "m", "--window", "1h").stdout.splitlines()
    header = next(line for line in lines if "feature" in line and "PSI" in line)
    assert "p (holm)" in header
    assert "p-value" not in header
    for feature in result["features"]:
        row = next(line for line in lines if f" {feature['feature']} " in line)
        assert f" {feature['p_adjusted']:.3g} " in row, row
    # the raw and the corrected p-value differ for the undrifted features: the table's is not raw
    assert any(f["p_adjusted"] != f["ks_pvalue"] for f in result["features"])


# --- webhooks from `monitor run` ------------------------------------------------------------------
class Receiver:
    """An HTTP server on 127.0.0.1 that records each JSON body POSTed to it."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        bodies = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def test_run_sends_the_alerts_it_opens_to_the_webhooks(
    run: Cli, watched: Registry, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FERRYMAN_MONITORING__WEBHOOKS", json.dumps([receiver.url]))
    result = run.json("monitor", "run", "m", "--window", "1h")
    assert "feature-drift" in result["alerts_fired"]
    # the command returns only once its deliveries are done: no waiting here
    sent = {(b["model"], b["rule"], b["state"]) for b in receiver.bodies}
    assert ("m", "feature-drift", "fired") in sent
    assert result["webhooks"] == {"delivered": len(receiver.bodies), "failed": []}


def test_run_sends_to_the_models_own_webhooks_and_says_so(
    run: Cli, watched: Registry, receiver: Receiver, tmp_path: Path
) -> None:
    (tmp_path / "ferryman.toml").write_text(
        f'[ferryman.monitoring.models.m]\nwebhooks = ["{receiver.url}"]\n'
    )
    out = run.ok("monitor", "run", "m", "--window", "1h").stdout
    assert {b["model"] for b in receiver.bodies} == {"m"}
    assert f"webhook deliveries: {len(receiver.bodies)} delivered, 0 failed" in out


def test_run_reports_a_failed_delivery_without_failing(
    run: Cli, watched: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as sock:  # a local port nothing listens on
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}/hook"
    monkeypatch.setenv("FERRYMAN_MONITORING__WEBHOOKS", json.dumps([dead]))
    result = run.ok("monitor", "run", "m", "--window", "1h")
    assert "Traceback" not in result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert warnings, result.stderr
    assert all(f"not delivered to {dead} after 3 attempts" in line for line in warnings)
    assert "0 delivered" in result.stdout


def test_run_refuses_a_webhook_that_is_not_http(
    run: Cli, watched: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FERRYMAN_MONITORING__WEBHOOKS", '["ftp://x"]')
    error = run.fails("monitor", "run", "m", "--window", "1h")
    assert error.startswith("error: webhook URL 'ftp://x' is not an http or https URL")
    assert run.json("monitor", "alerts", "m") == []  # refused before the pass


# --- live sources and batch scoring ---------------------------------------------------------------
LIVE_ROWS, SCORED_ROWS = 1_000, 30_000


@pytest.fixture
def mixed(registry: Registry, frame: pd.DataFrame, settings: Settings) -> Registry:
    """``mix`` with 1,000 live answers whose x0 is shifted (request id ``live``, rows 0..)
    and 30,000 rows scored in batch from the training distribution (request id ``batch``)."""
    model = LogisticRegression().fit(frame[FEATURES], frame[TARGET])
    registry.register(model, "mix", train_data=frame, target=TARGET, aliases=["production"])
    _log_rows(settings, model, "live", "predict", _rows(frame, LIVE_ROWS, 1, shift=2.0))
    _log_rows(settings, model, "batch", "score", _rows(frame, SCORED_ROWS, 2))
    return registry


def _rows(frame: pd.DataFrame, n: int, seed: int, shift: float = 0.0) -> np.ndarray:
    """``n`` training rows drawn again with a little noise; x0 moved by ``shift``."""
    picked = frame[FEATURES].sample(n, replace=True, random_state=seed).to_numpy().copy()
    picked += np.random.default_rng(seed).normal(scale=0.01, size=picked.shape)
    picked[:, 0] += shift
    return picked


def _log_rows(
    settings: Settings, model: LogisticRegression, rid: str, source: str, data: np.ndarray
) -> None:
    """``data`` logged as one request of ``mix`` v1 from ``source``."""
    answers = pd.DataFrame(data, columns=FEATURES)
    with PredictionLog.from_settings(settings, start=False) as log:
        log.record(
            PredictionRecord(
                "mix", 1, rid, time.time(), 2.0, source, tuple(FEATURES), data,
                model.predict(answers), model.predict_proba(answers), tuple(model.classes_),
            )
        )  # fmt: skip


def _x0(result: dict[str, Any]) -> dict[str, Any]:
    return next(f for f in result["features"] if f["feature"] == "x0")


def test_drift_of_live_traffic_is_not_drowned_by_batch_scoring(run: Cli, mixed: Registry) -> None:
    live = run.json("monitor", "drift", "mix", "--window", "1h")
    assert live["live_rows"] == LIVE_ROWS
    assert live["sources"] == ["live"]
    assert _x0(live)["drifted"] is True
    every = run.json("monitor", "drift", "mix", "--window", "1h", "--source", "all")
    assert every["live_rows"] == LIVE_ROWS + SCORED_ROWS
    assert every["sources"] == ["all"]
    assert _x0(every)["psi"] < _x0(live)["psi"] / 5  # the scored rows dilute the shift
    both = run.json("monitor", "drift", "mix", "-s", "live", "--source", "score")
    assert both["live_rows"] == LIVE_ROWS + SCORED_ROWS
    scored = run.json("monitor", "drift", "mix", "--source", "score")
    assert scored["live_rows"] == SCORED_ROWS


def test_the_drift_alert_stays_open_when_batch_scoring_follows(
    run: Cli, registry: Registry, frame: pd.DataFrame, settings: Settings
) -> None:
    model = LogisticRegression().fit(frame[FEATURES], frame[TARGET])
    registry.register(model, "mix", train_data=frame, target=TARGET, aliases=["production"])
    _log_rows(settings, model, "live", "predict", _rows(frame, LIVE_ROWS, 1, shift=2.0))
    first = run.json("monitor", "run", "mix", "--window", "1h")
    assert "feature-drift" in first["alerts_fired"]
    _log_rows(settings, model, "batch", "score", _rows(frame, SCORED_ROWS, 2))
    again = run.json("monitor", "run", "mix", "--window", "1h")  # as the server's next pass
    assert "feature-drift" in again["alerts_still_firing"]
    assert again["alerts_resolved"] == []
    assert again["drifted"] == ["x0"]


def test_labels_of_scored_rows_count_only_when_scoring_is_selected(
    run: Cli, mixed: Registry, tmp_path: Path
) -> None:
    labels = pd.DataFrame(
        {
            "request_id": ["live"] * 50 + ["batch"] * 100,
            "row": list(range(50)) + list(range(100)),
            "label": [1] * 150,
        }
    )
    labels.to_csv(tmp_path / "labels.csv", index=False)
    assert run.json("feedback", "mix", tmp_path / "labels.csv")["accepted"] == 150
    live = run.json("monitor", "performance", "mix", "--window", "1h")["versions"][0]
    assert (live["predictions"], live["labelled"]) == (LIVE_ROWS, 50)
    every = run.json("monitor", "performance", "mix", "--source", "live,score")["versions"][0]
    assert (every["predictions"], every["labelled"]) == (LIVE_ROWS + SCORED_ROWS, 150)
    scored = run.json("monitor", "performance", "mix", "--source", "score")["versions"][0]
    assert (scored["predictions"], scored["labelled"]) == (SCORED_ROWS, 100)


def test_the_monitor_takes_its_sources_from_the_sdk_and_the_settings(
    mixed: Registry, settings: Settings
) -> None:
    window = Window.last("1h")
    for monitor, rows in (
        (Monitor(mixed), LIVE_ROWS),
        (Monitor(mixed, sources="all"), LIVE_ROWS + SCORED_ROWS),
        (Monitor(mixed, sources=["score"]), SCORED_ROWS),
    ):
        try:
            assert monitor.drift("mix", window).live_rows == rows
        finally:
            monitor.close()
    configured = Registry(
        settings.model_copy(
            update={"monitoring": settings.monitoring.model_copy(update={"sources": ["all"]})}
        )
    )
    monitor = Monitor(configured)
    try:
        assert monitor.quality("mix", window).rows == LIVE_ROWS + SCORED_ROWS
    finally:
        monitor.close()
        configured.close()


def test_an_unknown_source_is_a_usage_error_listing_the_choices(run: Cli, mixed: Registry) -> None:
    error = _flat(run.misused("monitor", "drift", "mix", "--source", "live,batch"))
    assert "unknown source 'batch'; choose from live, score, all" in error


def test_monitor_run_takes_no_source_so_batch_rows_never_move_a_live_alert(run: Cli) -> None:
    done = run("monitor", "run", "m", "--source", "all")
    assert done.exit_code == 2
    assert "--source" in done.stderr
