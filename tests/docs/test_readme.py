"""The README's SDK tour runs as written."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_readme_sdk_snippet_runs(home: Path) -> None:
    text = (ROOT / "README.md").read_text()
    snippet = re.search(r"```python\n(.*?)```", text, re.S)
    assert snippet is not None
    namespace: dict[str, object] = {}
    exec(compile(snippet.group(1), "README.md", "exec"), namespace)
    model = namespace["model"]
    assert model.version.ref == "churn/1"  # type: ignore[attr-defined]
    registry = namespace["ferryman"].connect()  # type: ignore[attr-defined]
    assert registry.resolve("churn").version == 1
    assert registry.resolve("churn@latest").version == 2
    problems = model.validate([{"mean radius": "large"}])  # type: ignore[attr-defined]
    assert any(p.column == "mean radius" and p.kind == "wrong_type" for p in problems)
    assert any(p.kind == "missing_column" for p in problems)


def test_readme_quick_start_has_exactly_two_commands() -> None:
    text = (ROOT / "README.md").read_text()
    quick = text.split("## Quick start", 1)[1].split("##", 1)[0]
    block = re.search(r"```bash\n(.*?)```", quick, re.S)
    assert block is not None
    commands = [line for line in block.group(1).splitlines() if line.strip()]
    assert [c.split("#")[0].strip() for c in commands] == ["./dev demo", "./dev test"]
    assert (ROOT / ".ci/run").read_text().strip().endswith("exec ./dev test")
