"""``ferryman.sdk``: batch scoring logs its rows as ``ferryman score`` does, or not at all."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from sklearn.pipeline import Pipeline

from ferryman.config import Settings
from ferryman.registry import Registry
from ferryman.sdk import register, score


@pytest.fixture
def scored_input(
    registry: Registry, cancer_frame: pd.DataFrame, cancer_model: Pipeline, tmp_path: Path
) -> Path:
    """``cancer/1`` registered, and a CSV of 20 rows to score, row 3 with a null it refuses."""
    registry.register(cancer_model, "cancer", train_data=cancer_frame, target="target")
    data = cancer_frame.drop(columns="target").head(20)
    data.loc[3, "mean radius"] = None
    path = tmp_path / "in.csv"
    data.to_csv(path, index=False)
    return path


def _logged(settings: Settings) -> list[Path]:
    root = Path(settings.resolved_monitoring_root)
    return sorted(root.rglob("*.parquet")) if root.exists() else []


def test_score_logs_scored_and_refused_rows_with_source_score(
    registry: Registry, settings: Settings, scored_input: Path, tmp_path: Path
) -> None:
    report = score("cancer/1", scored_input, tmp_path / "out.csv", registry=registry)

    assert (report.rows_scored, report.rows_rejected) == (19, 1)
    tables = [pq.read_table(path) for path in _logged(settings)]
    assert {s for t in tables for s in t.column("source").to_pylist()} == {"score"}
    predictions = [t for t in tables if "prediction" in t.column_names]
    assert sum(t.num_rows for t in predictions) == 19


def test_score_with_log_false_writes_nothing_to_the_log(
    registry: Registry, settings: Settings, scored_input: Path, tmp_path: Path
) -> None:
    report = score("cancer/1", scored_input, tmp_path / "out.csv", log=False, registry=registry)

    assert (report.rows_scored, report.rows_rejected) == (19, 1)
    assert _logged(settings) == []


def test_score_passes_its_options_to_score_file(
    registry: Registry, scored_input: Path, tmp_path: Path
) -> None:
    report = score(
        "cancer/1", scored_input, tmp_path / "out.parquet", registry=registry, chunk_rows=7
    )

    assert pq.ParquetFile(report.output).metadata.num_row_groups == 3


def test_the_sdks_register_takes_what_the_registrys_does_and_documents_it() -> None:
    sdk = inspect.signature(register).parameters
    registry = dict(inspect.signature(Registry.register).parameters)
    registry.pop("self")

    assert list(sdk) == list(registry)
    for name, parameter in sdk.items():
        other = registry[name]
        assert (parameter.kind, parameter.default) == (other.kind, other.default), name
    doc = register.__doc__ or ""
    assert [name for name in sdk if not re.search(rf"\b{name}\b.*:", doc)] == []


def test_tokens_through_the_sdk(home: Path) -> None:
    import ferryman

    info, secret = ferryman.create_token("nb", "viewer", models=["churn*"], expires="1d")
    assert secret.startswith("fm_")
    assert info.role is ferryman.Role.VIEWER
    assert [t.name for t in ferryman.list_tokens()] == ["nb"]
    assert ferryman.revoke_token("nb").state() == "revoked"
    assert ferryman.delete_token("nb").name == "nb"
    assert ferryman.list_tokens() == []
    kinds = [e.kind for e in ferryman.token_events("nb")]
    assert kinds == ["token.deleted", "token.revoked", "token.created"]
