"""``ferryman predict``: CSV or Parquet in, CSV on stdout or a CSV/Parquet file out."""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import pandas as pd
import pytest
from cli_support import FEATURES, INPUT_ROWS, TARGET, Cli

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


def test_predict_trusts_what_was_trusted_at_registration(
    run: Cli, custom_skops: Path, input_csv: Path
) -> None:
    run.ok(
        "register", custom_skops, "--name", "custom", "--trust", "cli_support.ThresholdClassifier"
    )

    out = pd.read_csv(io.StringIO(run.ok("predict", "custom/1", "--input", input_csv).stdout))

    assert len(out) == INPUT_ROWS


def test_predict_names_the_bad_cell_not_a_good_one_and_points_to_score(
    run: Cli, skops_file: Path, train_csv: Path, frame: pd.DataFrame, tmp_path: Path
) -> None:
    run.ok("register", skops_file, "--name", "m", "--train-data", train_csv, "--target", TARGET)
    data = frame[FEATURES].head(INPUT_ROWS).astype({"x1": object})
    data.loc[4, "x1"] = "oops"  # pandas now reads the whole column as text
    bad = tmp_path / "bad.csv"
    data.to_csv(bad, index=False)
    out = tmp_path / "out.csv"

    line = run.fails("predict", "m/1", "--input", bad, "--output", out)

    assert line.startswith(f"error: {bad} has 1 bad row (of {INPUT_ROWS}), so predict wrote ")
    assert "(1 problem): row 4, column 'x1': expected float, got str 'oops'." in line
    assert line.endswith(f"ferryman score m/1 {bad} -o OUTPUT")
    assert not out.exists()


def test_predict_reads_only_the_empty_field_as_missing(
    run: Cli,
    nullable_skops: Path,
    nullable_train_csv: Path,
    frame: pd.DataFrame,
    tmp_path: Path,
) -> None:
    run.ok(
        "register", nullable_skops, "--name", "m",
        "--train-data", nullable_train_csv, "--target", TARGET,
    )  # fmt: skip
    data = frame[FEATURES].head(INPUT_ROWS).astype({"x1": object})
    data.loc[2, "x1"] = None  # written as the empty field: a null the model takes
    data.loc[4, "x1"] = "n/a"
    source = tmp_path / "in.csv"
    data.to_csv(source, index=False)

    line = run.fails("predict", "m/1", "--input", source)

    assert "row 4, column 'x1': expected float, got str 'n/a'" in line
    assert "row 2" not in line
    table = pd.read_csv(
        io.StringIO(run.ok("predict", "m/1", "-i", source, "--na-values", "NA,n/a").stdout)
    )
    assert len(table) == INPUT_ROWS


def test_predict_refuses_na_values_for_parquet(
    run: Cli, skops_file: Path, input_parquet: Path
) -> None:
    run.ok("register", skops_file, "--name", "m")

    line = run.fails("predict", "m/1", "-i", input_parquet, "--na-values", "NA")

    assert "apply to CSV input only" in line


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_predict_output_has_the_mode_the_umask_gives(
    run: Cli, skops_file: Path, input_csv: Path, tmp_path: Path, umask: int
) -> None:
    run.ok("register", skops_file, "--name", "m")
    old = os.umask(umask)
    try:
        (tmp_path / "plain.csv").open("w").close()
        run.ok("predict", "m/1", "-i", input_csv, "-o", tmp_path / "out.csv")
    finally:
        os.umask(old)

    expected = stat.S_IMODE((tmp_path / "plain.csv").stat().st_mode)
    assert stat.S_IMODE((tmp_path / "out.csv").stat().st_mode) == expected == 0o666 & ~umask


def test_predict_says_one_prediction_not_one_predictions(
    run: Cli, skops_file: Path, frame: pd.DataFrame, tmp_path: Path
) -> None:
    run.ok("register", skops_file, "--name", "m")
    source = tmp_path / "one.csv"
    frame[FEATURES].head(1).to_csv(source, index=False)

    result = run.ok("predict", "m/1", "-i", source, "-o", tmp_path / "out.csv")

    assert result.stdout.startswith("wrote 1 prediction of m/1 to ")
