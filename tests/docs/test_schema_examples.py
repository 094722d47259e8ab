"""docs/schema.md's tolerance example runs as written and prints what its comments say."""

from __future__ import annotations

import re
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_the_tolerance_example_runs_and_answers_as_its_comments_say(home: Path) -> None:
    text = (DOCS / "schema.md").read_text()
    section = text.split("## Unknown categories and unseen nulls", 1)[1].split("\n## ", 1)[0]
    snippet = re.search(r"```python\n(.*?)```", section, re.S)
    assert snippet is not None
    namespace: dict[str, object] = {}
    exec(compile(snippet.group(1), "schema.md", "exec"), namespace)
    found = namespace["found"].signature.tolerance()  # type: ignore[attr-defined]
    assert found == {
        "city": {"unknown_categories": "accept", "unseen_nulls": "accept"},
        "x": {"unseen_nulls": "refuse"},
    }
    assert repr(found).replace(" ", "") in snippet.group(1).replace("#", "").replace(
        "\n", ""
    ).replace(" ", "")
    strict = namespace["strict"].signature.tolerance()  # type: ignore[attr-defined]
    assert strict["city"] == {"unknown_categories": "refuse", "unseen_nulls": "accept"}
    assert repr(strict["city"]) in snippet.group(1)
