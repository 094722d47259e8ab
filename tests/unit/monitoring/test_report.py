"""The HTML report: self-contained, every section present, readable verdicts."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from ferryman.monitoring.report import ReportData, render_report

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)


def _full() -> ReportData:
    return ReportData(
        model="churn",
        version=3,
        window="24h",
        generated_at=NOW,
        performance_series=[
            {"at": (NOW - timedelta(hours=h)).isoformat(), "metrics": {"accuracy": 0.9 - h / 100}}
            for h in range(5)
        ],
        performance={
            "versions": [
                {
                    "version": 3,
                    "labelled": 120,
                    "metrics": {"accuracy": 0.86},
                    "intervals": {"accuracy": [0.7887, 0.9106]},
                }
            ]
        },
        drift={
            "share": 0.5,
            "thresholds": {"correction": "holm"},
            "features": [
                {
                    "feature": "age",
                    "kind": "numeric",
                    "psi": 0.8,
                    "ks_pvalue": 1e-30,
                    "p_adjusted": 2e-30,
                    "drifted": True,
                    "reason": "PSI 0.80 >= 0.10",
                },
                {
                    "feature": "plan<x>",
                    "kind": "categorical",
                    "psi": 0.01,
                    "chi2_pvalue": 0.7,
                    "p_adjusted": 0.7123,
                    "drifted": False,
                    "reason": "no change",
                },
            ],
        },
        drift_series=[
            {"at": NOW.isoformat(), "share": 0.5},
            {"at": (NOW - timedelta(hours=1)).isoformat(), "share": 0.0},
        ],
        quality={
            "rows": 100,
            "rejected_requests": 2,
            "features": [
                {
                    "feature": "age",
                    "null_rate": 0.1,
                    "reference_null_rate": 0.0,
                    "issues": ["null rate 10.0%"],
                }
            ],
        },
        alerts=[
            {
                "rule": "dataset-drift",
                "severity": "warning",
                "state": "firing",
                "first_seen": NOW.isoformat(),
                "message": "drift share 0.5 above 0.2",
            }
        ],
        root_cause={
            "summary": "1 drifted feature(s); most responsible: age",
            "importance_method": "model",
            "suspects": [
                {
                    "rank": 1,
                    "feature": "age",
                    "score": 0.4,
                    "drift_size": 0.8,
                    "importance": 0.5,
                    "drifted": True,
                    "evidence": "drift size 0.8",
                }
            ],
        },
    )


def test_report_is_self_contained_with_every_section() -> None:
    page = render_report(_full())
    assert page.startswith("<!doctype html>")
    for heading in ("Model performance over time", "Drift", "Data quality", "Alerts", "Root cause"):
        assert heading in page
    assert page.count("<svg") >= 3  # KPI, drift per feature, drift share over time
    assert "<script" not in page
    assert "<link" not in page
    assert not re.search(r"(src|href)\s*=\s*['\"]https?://", page)
    assert "Attention needed" in page
    assert "Most likely cause: <b>age</b>" in page
    assert "plan&lt;x&gt;" in page  # names are escaped


def test_drift_table_shows_the_corrected_p_value_it_decided_on() -> None:
    page = render_report(_full())
    assert "<th>p (holm)</th>" in page
    assert "p-value" not in page
    assert "0.7123" in page  # the corrected p of plan<x>, not its raw 0.7


def test_empty_report_explains_what_is_missing() -> None:
    page = render_report(ReportData(model="churn", version=None, window="1h", generated_at=NOW))
    assert "Healthy" in page
    assert "No ground truth has been joined" in page
    assert "Not computed" in page
    assert "<svg" not in page


def test_report_shows_each_kpi_with_its_interval() -> None:
    page = render_report(_full())
    assert "0.86 [0.7887, 0.9106]" in page
    assert "95% interval" in page
