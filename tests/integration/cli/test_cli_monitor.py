"""``ferryman monitor ...``, ``ferryman feedback`` and ``ferryman score``'s logging, against a
real store and a real prediction log; bad input gets clear messages and the right exit codes."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_support import FEATURES, TARGET, Cli
from sklearn.linear_model import LogisticRegression

from ferryman.config import Settings
from ferryman.core.predictions import PredictionRecord, RejectionRecord
from ferryman.monitoring.monitor import Monitor, Window
from ferryman.monitoring.prediction_log import PredictionLog
from ferryman.registry import Registry


@pytest.fixture
def watched(registry: Registry, frame: pd.DataFrame, settings: Settings) -> Registry:
    """``m`` registered with its training data, under production, and 300 logged rows of
    which the second half has x0 shifted; one request refused."""
    model = LogisticRegression().fit(frame[FEATURES], frame[TARGET])
    registry.register(model, "m", train_data=frame, target=TARGET, aliases=["production"])
    rng = np.random.default_rng(0)
    live = frame[FEATURES].sample(300, replace=True, random_state=1).to_numpy().copy()
    live[150:, 0] += 4.0
    live += rng.normal(scale=0.01, size=live.shape)
    answers = pd.DataFrame(live, columns=FEATURES)
    labels, proba = model.predict(answers), model.predict_proba(answers)
    with PredictionLog.from_settings(settings, start=False) as log:
        for i, row in enumerate(live):
            log.record(
                PredictionRecord(
                    model="m",
                    version=1,
                    request_id=f"r{i}",
                    at=time.time(),
                    latency_ms=1.5,
                    source="predict",
                    columns=tuple(FEATURES),
                    inputs=row.reshape(1, -1),
                    predictions=labels[i : i + 1],
                    probabilities=proba[i : i + 1],
                    classes=tuple(model.classes_),
                )
            )
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
        result = monitor.drift("n", Window.last("1h"))
        quality = monitor.quality("n", Window.last("1h"))
    finally:
        monitor.close()
    assert "x2" in result["skipped"]
    assert "null" in result["skipped"]["x2"]
    x2 = next(f for f in quality.features if f.feature == "x2")
    assert x2.null_rate == 1.0
    assert x2.issues
