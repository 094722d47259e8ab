"""Every ferryman.toml example in the docs loads as written, and applies what it says."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from ferryman.config import Settings

ROOT = Path(__file__).resolve().parents[2]
TOML_BLOCK = re.compile(r"```toml\n(.*?)```", re.S)


def _examples() -> list[tuple[str, str]]:
    found = []
    for page in sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")]):
        for i, block in enumerate(TOML_BLOCK.findall(page.read_text(encoding="utf-8"))):
            if "[project." not in block:  # a pyproject.toml snippet, not ferryman's settings
                found.append((f"{page.name}#{i + 1}", block))
    return found


@pytest.fixture
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(os.environ):
        if name.startswith("FERRYMAN_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _load(folder: Path, text: str) -> Settings:
    (folder / "ferryman.toml").write_text(text, encoding="utf-8")
    return Settings.load()


def test_the_docs_have_settings_examples() -> None:
    assert any(name.startswith("configuration.md") for name, _ in _examples())


@pytest.mark.parametrize(("where", "text"), _examples(), ids=[n for n, _ in _examples()])
def test_every_settings_example_loads(clean_env: Path, where: str, text: str) -> None:
    _load(clean_env, text)


def test_the_configuration_example_applies_every_line(clean_env: Path) -> None:
    [text] = [t for name, t in _examples() if name == "configuration.md#1"]
    s = _load(clean_env, text)
    assert s.home == Path("/srv/ferryman")
    assert s.trusted_types == ["mycompany.features.Scaler"]
    assert s.sample_rows == 50000
    assert s.monitoring.window == "6h"
    assert s.monitoring.webhooks == ["https://hooks.example.com/ml-alerts"]
    churn = s.monitoring.models["churn"]
    assert churn.features["signup_month"].ignore
    [rule] = churn.alerts
    assert (rule.name, rule.metric, rule.kpi, rule.op, rule.threshold) == (
        "accuracy-low",
        "kpi",
        "accuracy",
        "below",
        0.85,
    )
    assert rule.min_labels == 200
