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


def test_every_subpackage_is_on_the_map() -> None:
    subpackages = sorted(
        f"{p.parent.name}/{p.name}/"
        for p in PACKAGE.glob("*/*")
        if (p / "__init__.py").exists() and p.parent.name != "store"
    )

    assert len(subpackages) >= 4
    assert [sub for sub in subpackages if f"`{sub}`" not in TEXT] == []


def test_every_module_the_map_names_exists() -> None:
    named = set(re.findall(r"`([a-z_0-9]+(?:/[a-z_0-9]+)*\.py)`", TEXT))
    by_path = {name for name in named if "/" in name}
    # a bare name (``job.py`` beside the subpackage the sentence names) exists somewhere
    bare = {name for name in named if "/" not in name and name not in {"conftest.py"}}

    assert len(by_path) >= 30
    missing = [
        n for n in by_path if not (ROOT if n.startswith("tests/") else PACKAGE).joinpath(n).exists()
    ]
    assert sorted(missing) == []
    assert sorted(name for name in bare if not list(PACKAGE.rglob(name))) == []
