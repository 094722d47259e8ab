"""Reading a scoring job's input: bounded chunks, and which text means a missing value."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scoring_support import FIRST, ROWS, write_file

from ferryman.errors import (
    InvalidArgumentError,
)
from ferryman.registry import LoadedModel, Registry
from ferryman.serving.scoring.job import score_file
from ferryman.serving.scoring.readers import InputFile


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_the_reader_never_holds_more_than_chunk_rows(
    features: pd.DataFrame, tmp_path: Path, suffix: str
) -> None:
    path = tmp_path / f"in{suffix}"
    if suffix == ".csv":
        features.to_csv(path, index=False)
    else:
        pq.write_table(pa.Table.from_pandas(features), path, row_group_size=ROWS)
    source = InputFile(path, suffix.lstrip("."))

    sizes = [len(chunk.frame) for chunk in source.chunks(64)]

    assert max(sizes) <= 64
    assert sum(sizes) == ROWS
    assert len(sizes) == -(-ROWS // 64)


def _with_missing_spelt(features: pd.DataFrame, path: Path) -> Path:
    """Rows 3, 5 and 7 of FIRST hold "n/a", "NA" and the empty field (written as text)."""
    frame = features.astype({FIRST: object})
    frame.loc[3, FIRST], frame.loc[5, FIRST], frame.loc[7, FIRST] = "n/a", "NA", None
    return write_file(frame, path)


def test_only_the_empty_field_is_missing_in_a_csv_by_default(
    registry: Registry, model: LoadedModel, features: pd.DataFrame, tmp_path: Path
) -> None:
    data = _with_missing_spelt(features, tmp_path / "in.csv")

    report = score_file(registry, "cancer/1", data, tmp_path / "out.csv", chunk_rows=100)

    rejects = pd.read_csv(tmp_path / "out.rejects.csv", keep_default_na=False)
    assert report.rows_rejected == 3
    assert rejects["reason"].tolist() == [
        f"column {FIRST!r}: expected float, got str 'n/a'",
        f"column {FIRST!r}: expected float, got str 'NA'",
        f"column {FIRST!r}: null, but training data had no nulls here",
    ]


def test_na_values_name_more_strings_that_are_missing(
    registry: Registry, model: LoadedModel, features: pd.DataFrame, tmp_path: Path
) -> None:
    data = _with_missing_spelt(features, tmp_path / "in.csv")

    score_file(registry, "cancer/1", data, tmp_path / "out.csv", na_values=["n/a", "NA"])

    rejects = pd.read_csv(tmp_path / "out.rejects.csv")
    assert rejects["row"].tolist() == [3, 5, 7]
    assert set(rejects["reason"]) == {
        f"column {FIRST!r}: null, but training data had no nulls here"
    }


def test_na_values_are_refused_for_parquet_input(
    registry: Registry, model: LoadedModel, features: pd.DataFrame, tmp_path: Path
) -> None:
    data = write_file(features, tmp_path / "in.parquet")

    with pytest.raises(InvalidArgumentError, match="apply to CSV input only"):
        score_file(registry, "cancer/1", data, tmp_path / "out.csv", na_values=["NA"])
    assert not (tmp_path / "out.csv").exists()
