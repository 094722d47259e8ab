"""The Python examples of docs/schema.md run as written and answer as their comments say."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

import ferryman

PAGE = Path(__file__).resolve().parents[2] / "docs" / "schema.md"


def block(section: str) -> str:
    """The first Python block of the section headed ``section``."""
    text = PAGE.read_text(encoding="utf-8").split(section, 1)[1]
    found = re.search(r"```python\n(.*?)```", text, re.S)
    assert found is not None, section
    return found.group(1)


def test_the_text_model_example_runs_and_predicts(home: Path) -> None:
    namespace: dict[str, Any] = {}

    exec(compile(block("## Text models"), "schema.md", "exec"), namespace)

    reviews = namespace["reviews"]
    assert reviews.signature.names == ["review"]
    assert reviews.signature.series_input
    records = [{"review": "friendly and fast"}, {"review": "a sentence never seen"}]
    texts = [r["review"] for r in records]
    assert reviews.predict(records).tolist() == namespace["model"].predict(texts).tolist()


def test_the_kinds_example_runs_as_written(home: Path) -> None:
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "city": rng.choice(["Oslo", "Bergen"], 60),
            "comment": [f"note number {i} about the visit" for i in range(60)],
            "churned": rng.integers(0, 2, 60),
        }
    )
    encode = ColumnTransformer([("city", OneHotEncoder(), ["city"])])
    model = make_pipeline(encode, LogisticRegression())
    model.fit(df.drop(columns="churned"), df["churned"])
    namespace: dict[str, Any] = {"ferryman": ferryman, "model": model, "df": df}

    exec(compile(block("### Choosing a text column's kind"), "schema.md", "exec"), namespace)

    signature = ferryman.get_version("churn/1").signature
    assert signature is not None
    assert signature.column("city").categories == ("Bergen", "Oslo")
    assert signature.column("comment").categories is None


def test_the_tolerance_example_runs_and_answers_as_its_comments_say(home: Path) -> None:
    code = block("## Unknown categories and unseen nulls")
    namespace: dict[str, Any] = {}
    exec(compile(code, "schema.md", "exec"), namespace)
    found = namespace["found"].signature.tolerance()
    assert found == {
        "city": {"unknown_categories": "accept", "unseen_nulls": "accept"},
        "x": {"unseen_nulls": "refuse"},
    }
    assert repr(found).replace(" ", "") in code.replace("#", "").replace("\n", "").replace(" ", "")
    strict = namespace["strict"].signature.tolerance()
    assert strict["city"] == {"unknown_categories": "refuse", "unseen_nulls": "accept"}
    assert repr(strict["city"]) in code
