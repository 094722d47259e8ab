"""docs/architecture.md stays the map: every part is on it, every module it names exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "ferryman"
TEXT = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")


def test_every_part_of_the_package_is_on_the_map() -> None:
    parts = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists())

    assert len(parts) >= 9
    assert [part for part in parts if f"`{part}/`" not in TEXT] == []


def test_every_module_the_map_names_exists() -> None:
    named = set(re.findall(r"`([a-z_]+(?:/[a-z_]+)+\.py|[a-z_]+\.py)`", TEXT))
    paths = {
        name
        for name in named
        if ("/" in name and not name.startswith("tests/")) or (PACKAGE / name).exists()
    }

    assert len(paths) >= 30
    assert sorted(name for name in paths if not (PACKAGE / name).exists()) == []


def test_every_private_module_the_map_names_exists_in_some_part() -> None:
    missing = [
        name
        for name in re.findall(r"`(_[a-z_]+\.py)`", TEXT)
        if not list(PACKAGE.glob(f"*/{name}"))
    ]
    assert missing == []
