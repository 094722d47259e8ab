"""Tables printed by the CLI on a narrow terminal: numbers stay whole, rows stay readable."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pandas as pd
import pytest
from cli_support import FEATURES, TARGET, Cli
from sklearn.linear_model import LogisticRegression

from ferryman.cli import output
from ferryman.cli.monitor import interval_text
from ferryman.config import Settings
from ferryman.core.predictions import PredictionRecord
from ferryman.monitoring.log.writer import PredictionLog
from ferryman.registry import Registry


def test_versions_list_keeps_metrics_whole_at_80_columns(
    run: Cli, registry: Registry, frame: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = LogisticRegression().fit(frame[FEATURES], frame[TARGET])
    metrics = {"accuracy": 0.944123, "roc_auc": 0.991234, "log_loss": 0.1834567}
    for _ in range(2):
        registry.register(
            model, "m", metrics=metrics, tags={"team": "risk", "data": "2026-q3"},
            aliases=["production", "staging"],
        )  # fmt: skip
    monkeypatch.setattr(output.console, "width", 80)  # a small terminal
    printed = run.ok("versions", "list", "m").stdout
    assert max(len(line) for line in printed.splitlines()) <= 80, printed
    for word in ("accuracy=0.9441", "roc_auc=0.9912", "log_loss=0.1835", "data=2026-q3"):
        assert any(word in line for line in printed.splitlines()), (word, printed)


def test_performance_table_keeps_kpis_whole_at_100_columns(
    run: Cli, registry: Registry, frame: pd.DataFrame, settings: Settings,
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    model = LogisticRegression().fit(frame[FEATURES], frame[TARGET])
    registry.register(
        model, "m", train_data=frame, target=TARGET, aliases=["production"],
        metrics={"accuracy": 0.9, "roc_auc": 0.95, "f1": 0.9, "log_loss": 0.3},
    )  # fmt: skip
    labels, proba = model.predict(frame[FEATURES]), model.predict_proba(frame[FEATURES])
    live = frame[FEATURES].to_numpy()
    with PredictionLog.from_settings(settings, start=False) as log:
        for i, row in enumerate(live):
            log.record(
                PredictionRecord(
                    model="m", version=1, request_id=f"r{i}", at=time.time(), latency_ms=1.0,
                    source="predict", columns=tuple(FEATURES), inputs=row.reshape(1, -1),
                    predictions=labels[i : i + 1], probabilities=proba[i : i + 1],
                    classes=tuple(model.classes_),
                )
            )  # fmt: skip
    truth = pd.DataFrame(
        {"request_id": [f"r{i}" for i in range(len(live))], "label": frame[TARGET]}
    )
    truth.to_csv(tmp_path / "labels.csv", index=False)
    run.ok("feedback", "m", tmp_path / "labels.csv")
    monkeypatch.setattr(output.console, "width", 100)
    printed = run.ok("monitor", "performance", "m", "--window", "1h").stdout
    assert max(len(line) for line in printed.splitlines()) <= 100, printed
    kpis = run.json("monitor", "performance", "m", "--window", "1h")["versions"][0]
    shown = [output.number(v) for v in kpis["metrics"].values()]
    shown += [f"{v:+.3f}" for v in kpis["change"].values() if v is not None]
    shown += [interval_text(v) for v in kpis["intervals"].values()]
    assert set(kpis["intervals"]) == {k for k, v in kpis["metrics"].items() if v is not None}
    assert len(shown) >= 8
    for text in shown:  # each value on one line, not cut after any of its digits
        whole = re.compile(rf"(?<![\d.]){re.escape(text)}(?![\d])")
        assert any(whole.search(line) for line in printed.splitlines()), (text, printed)
    for header in ("logged", "labelled", "95% CI", "vs baseline", "bucket (UTC)"):
        assert header in printed, (header, printed)  # no header folded mid-word
    hourly = run.ok("monitor", "performance", "m", "--window", "1h", "--bucket", "1h").stdout
    assert max(len(line) for line in hourly.splitlines()) <= 100, hourly
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d ", hourly), hourly
    assert "vs baseline" in hourly
