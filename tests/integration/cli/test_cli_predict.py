"""``ferryman predict``: CSV or Parquet in, CSV on stdout or a CSV/Parquet file out."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
from cli_support import INPUT_ROWS, TARGET, Cli

KINDS = ["skops", "onnx", "xgboost-json", "xgboost-ubj", "lightgbm"]


@pytest.mark.parametrize("kind", KINDS)
def test_predict_prints_csv_with_prediction_and_probabilities(
    run: Cli,
    model_files: dict[str, tuple[Path, str]],
    train_csv: Path,
    input_csv: Path,
    kind: str,
) -> None:
    path, _ = model_files[kind]
    run.ok("register", path, "--name", "m", "--train-data", train_csv, "--target", TARGET)

    out = run.ok("predict", "m/1", "--input", input_csv).stdout

    table = pd.read_csv(io.StringIO(out))
    assert list(table.columns) == ["prediction", "proba_0", "proba_1"]
    assert len(table) == INPUT_ROWS
    assert set(table["prediction"]) <= {0, 1}
    assert table[["proba_0", "proba_1"]].sum(axis=1).round(5).eq(1).all()
    assert (table["prediction"] == (table["proba_1"] > 0.5).astype(int)).all()


def test_predict_by_alias_matches_the_version(
    run: Cli, skops_file: Path, lightgbm_file: Path, input_csv: Path
) -> None:
    run.ok("register", skops_file, "--name", "m")
    run.ok("register", lightgbm_file, "--name", "m", "--alias", "production")

    by_alias = run.ok("predict", "m", "--input", input_csv).stdout

    assert by_alias == run.ok("predict", "m/2", "--input", input_csv).stdout
    assert by_alias != run.ok("predict", "m/1", "--input", input_csv).stdout


def test_predict_reads_parquet(
    run: Cli, skops_file: Path, train_csv: Path, input_csv: Path, input_parquet: Path
) -> None:
    run.ok("register", skops_file, "--name", "m", "--train-data", train_csv, "--target", TARGET)

    from_parquet = run.ok("predict", "m/1", "--input", input_parquet).stdout

    assert from_parquet == run.ok("predict", "m/1", "-i", input_csv).stdout
    assert len(from_parquet.splitlines()) == INPUT_ROWS + 1


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_predict_writes_an_output_file(
    run: Cli, skops_file: Path, input_csv: Path, tmp_path: Path, suffix: str
) -> None:
    run.ok("register", skops_file, "--name", "m")
    target = tmp_path / f"out{suffix}"

    result = run.ok("predict", "m/1", "--input", input_csv, "--output", target)

    assert result.stdout.strip() == f"wrote {INPUT_ROWS} predictions of m/1 to {target}"
    table = pd.read_csv(target) if suffix == ".csv" else pd.read_parquet(target)
    assert list(table.columns) == ["prediction", "proba_0", "proba_1"]
    assert len(table) == INPUT_ROWS
    stdout_table = pd.read_csv(io.StringIO(run.ok("predict", "m/1", "-i", input_csv).stdout))
    pd.testing.assert_frame_equal(table, stdout_table, check_dtype=False)
    assert not list(tmp_path.glob(".*.tmp"))


def test_predict_refuses_input_that_breaks_the_signature(
    run: Cli, skops_file: Path, train_csv: Path, tmp_path: Path
) -> None:
    run.ok("register", skops_file, "--name", "m", "--train-data", train_csv, "--target", TARGET)
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"x0": [1.0], "x1": [2.0]}).to_csv(bad, index=False)
    out = tmp_path / "out.csv"

    line = run.fails("predict", "m/1", "--input", bad, "--output", out)

    assert "x2" in line
    assert not out.exists()


def test_predict_needs_trust_for_a_custom_type(
    run: Cli, custom_skops: Path, input_csv: Path
) -> None:
    run.ok(
        "register", custom_skops, "--name", "custom", "--trust", "cli_support.ThresholdClassifier"
    )

    line = run.fails("predict", "custom/1", "--input", input_csv)

    assert "cli_support.ThresholdClassifier" in line
