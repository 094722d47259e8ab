"""The [ferryman.monitoring] table: defaults, nesting from env and file, refusals at load."""

from __future__ import annotations

from pathlib import Path

import pytest

from ferryman.config import Settings
from ferryman.errors import ConfigError


def test_defaults_and_nested_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings.load()
    assert settings.monitoring.enabled is True
    assert settings.monitoring.schedule_seconds == 300
    assert {r.name for r in settings.monitoring.alerts} >= {"dataset-drift", "feature-drift"}
    monkeypatch.setenv("FERRYMAN_MONITORING__SAMPLE_RATE", "0.25")
    monkeypatch.setenv("FERRYMAN_MONITORING__WEBHOOKS", '["http://127.0.0.1:9/hook"]')
    settings = Settings.load()
    assert settings.monitoring.sample_rate == 0.25
    assert settings.monitoring.webhooks == ["http://127.0.0.1:9/hook"]


def test_per_model_tables_from_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "ferryman.toml").write_text(
        "[ferryman.monitoring.models.churn.drift]\npsi = 0.2\n"
        "[ferryman.monitoring.models.churn.features.age]\nignore = true\n"
    )
    monkeypatch.chdir(tmp_path)
    churn = Settings.load().monitoring.models["churn"]
    assert churn.drift is not None
    assert churn.drift.psi == 0.2
    assert churn.drift.model_dump(exclude_unset=True) == {"psi": 0.2}
    assert churn.features["age"].ignore is True


@pytest.mark.parametrize(
    ("table", "named"),
    [
        ('window = "one hour"', "not a duration"),
        ("sample_rate = 2", "sample_rate"),
        ("[[ferryman.monitoring.alerts]]\nname = 'x'\nmetric = 'kpi'\nthreshold = 1", "kpi"),
        ("[[ferryman.monitoring.alerts]]\nname = 'x'\nmetric = 'speed'\nthreshold = 1", "metric"),
        ("[ferryman.monitoring.drift]\ncorrection = 'fdr'", "correction"),
        ("typo = 1", "typo"),
        (
            'sources = ["live", "canary"]',
            "unknown monitoring source 'canary'; choose from live, score, all",
        ),
    ],
)
def test_bad_tables_are_refused_when_settings_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, table: str, named: str
) -> None:
    (tmp_path / "ferryman.toml").write_text(f"[ferryman.monitoring]\n{table}\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=named):
        Settings.load()


def test_monitored_sources_default_to_live_and_read_from_env_and_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert Settings.load().monitoring.sources == ["live"]
    monkeypatch.setenv("FERRYMAN_MONITORING__SOURCES", "live,score")
    assert Settings.load().monitoring.sources == ["live", "score"]
    monkeypatch.delenv("FERRYMAN_MONITORING__SOURCES")
    (tmp_path / "ferryman.toml").write_text('[ferryman.monitoring]\nsources = ["all"]\n')
    monkeypatch.chdir(tmp_path)
    assert Settings.load().monitoring.sources == ["all"]
