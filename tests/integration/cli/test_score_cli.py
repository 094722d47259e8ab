"""``ferryman score``: a file scored in chunks, rejects beside it, a one-line summary."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from cli_support import FEATURES, INPUT_ROWS, TARGET, Cli
from rich.console import Console
from rich.progress import Progress

from ferryman.cli.score import _Show
from ferryman.config import Settings
from ferryman.serving.scoring import ScoreProgress


@pytest.fixture
def registered(run: Cli, skops_file: Path, train_csv: Path) -> str:
    run.ok("register", skops_file, "--name", "m", "--train-data", train_csv, "--target", TARGET)
    return "m/1"


def test_score_writes_predictions_and_prints_a_summary(
    run: Cli, registered: str, input_csv: Path, tmp_path: Path
) -> None:
    out = tmp_path / "scores.parquet"

    result = run.ok("score", registered, input_csv, "-o", out)

    line = result.stdout.strip()
    assert line.startswith(f"scored {INPUT_ROWS} rows with m/1 into {out} (")
    assert line.endswith(" rows/s)")
    assert "rejected" not in line
    assert result.stderr == ""  # no progress bar when stderr is not a terminal
    table = pd.read_parquet(out)
    assert list(table.columns) == ["row", "prediction", "proba_0", "proba_1"]
    assert table["row"].tolist() == list(range(INPUT_ROWS))
    predicted = pd.read_csv(io.StringIO(run.ok("predict", "m/1", "-i", input_csv).stdout))
    pd.testing.assert_frame_equal(table.drop(columns="row"), predicted, check_dtype=False)


def test_score_rejects_bad_rows_and_still_exits_zero(
    run: Cli, registered: str, frame: pd.DataFrame, tmp_path: Path
) -> None:
    data = frame.head(10).assign(id=[f"k{i}" for i in range(10)]).astype({"x1": object})
    data.loc[4, "x1"] = "oops"
    source = tmp_path / "in.csv"
    data.to_csv(source, index=False)
    out = tmp_path / "out.csv"

    result = run.ok(
        "score", registered, source, "-o", out, "--id-column", "id", "--chunk-rows", "3",
        "--threads", "2",
    )  # fmt: skip

    rejects = tmp_path / "out.rejects.csv"
    assert result.stdout.strip().endswith(f"; rejected 1 row, with reasons, in {rejects}")
    assert result.stdout.startswith("scored 9 rows with m/1")
    table = pd.read_csv(rejects)
    assert table[["id", "reason"]].to_dict("records") == [
        {"id": "k4", "reason": "column 'x1': expected float, got str 'oops'"}
    ]
    assert pd.read_csv(out)["id"].tolist() == [f"k{i}" for i in range(10) if i != 4]


def test_score_quiet_prints_nothing(
    run: Cli, registered: str, input_parquet: Path, tmp_path: Path
) -> None:
    result = run.ok(
        "score", registered, input_parquet, "-o", tmp_path / "o.dat", "--output-format", "csv", "-q"
    )

    assert result.stdout == ""
    assert len(pd.read_csv(tmp_path / "o.dat")) == INPUT_ROWS


def test_score_a_missing_column_fails_with_one_line(
    run: Cli, registered: str, frame: pd.DataFrame, tmp_path: Path
) -> None:
    source = tmp_path / "in.csv"
    frame[FEATURES[1:]].to_csv(source, index=False)
    out = tmp_path / "out.csv"

    error = run.fails("score", registered, source, "-o", out)

    assert error.startswith(f"error: {source} does not have the columns m/1 takes: missing 'x0'")
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nowhere.csv"], "input file nowhere.csv does not exist"),
        (["{input}", "--id-column", "customer"], "id column 'customer' is not in"),
    ],
)
def test_score_errors_exit_one(
    run: Cli, registered: str, input_csv: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    args = [a.replace("{input}", str(input_csv)) for a in args]

    error = run.fails("score", registered, *args, "-o", tmp_path / "out.csv")

    assert message in error
    assert not (tmp_path / "out.csv").exists()


def test_score_an_unknown_model_exits_one(run: Cli, input_csv: Path, tmp_path: Path) -> None:
    error = run.fails("score", "ghost", input_csv, "-o", tmp_path / "out.csv")

    assert "ghost" in error


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "Missing option '--output'"),
        (["-o", "out.csv", "--chunk-rows", "0"], "--chunk-rows"),
        (["-o", "out.csv", "--threads", "0"], "--threads"),
        (["-o", "out.csv", "--output-format", "json"], "--output-format"),
    ],
)
def test_score_usage_mistakes_exit_two(
    run: Cli, registered: str, input_csv: Path, args: list[str], message: str
) -> None:
    stderr = run.misused("score", registered, input_csv, *args)

    assert message in stderr
    assert not Path("out.csv").exists()


def _logged_files(home: Path) -> list[Path]:
    root = Path(Settings.load(home=home).resolved_monitoring_root)
    return sorted(root.rglob("*.parquet")) if root.exists() else []


@pytest.fixture
def one_bad_row(frame: pd.DataFrame, tmp_path: Path) -> Path:
    """Ten input rows, row 4 with text in a number column."""
    data = frame[FEATURES].head(10).astype({"x1": object})
    data.loc[4, "x1"] = "oops"
    source = tmp_path / "in.csv"
    data.to_csv(source, index=False)
    return source


def test_score_logs_its_rows_with_source_score_by_default(
    run: Cli, registered: str, one_bad_row: Path, home: Path, tmp_path: Path
) -> None:
    run.ok("score", registered, one_bad_row, "-o", tmp_path / "out.csv")

    files = _logged_files(home)
    assert files, "nothing was logged"
    sources = {s for f in files for s in pq.read_table(f).column("source").to_pylist()}
    assert sources == {"score"}


def test_score_no_log_writes_nothing_to_the_prediction_log(
    run: Cli, registered: str, one_bad_row: Path, home: Path, tmp_path: Path
) -> None:
    run.ok("score", registered, one_bad_row, "-o", tmp_path / "out.csv", "--no-log")

    assert (tmp_path / "out.rejects.csv").exists()  # a rejection would have been logged too
    assert _logged_files(home) == []


def test_score_reads_only_the_empty_field_as_missing_unless_told(
    run: Cli, nullable_skops: Path, nullable_train_csv: Path, frame: pd.DataFrame, tmp_path: Path
) -> None:
    run.ok(
        "register", nullable_skops, "--name", "m",
        "--train-data", nullable_train_csv, "--target", TARGET,
    )  # fmt: skip
    data = frame[FEATURES].head(10).astype({"x1": object})
    data.loc[2, "x1"] = None  # the empty field: a null the model was trained with
    data.loc[4, "x1"] = "n/a"
    source = tmp_path / "in.csv"
    data.to_csv(source, index=False)

    result = run.ok("score", "m/1", source, "-o", tmp_path / "out.csv")

    assert result.stdout.startswith("scored 9 rows with m/1")
    rejects = pd.read_csv(tmp_path / "out.rejects.csv")
    assert rejects[["row", "reason"]].to_dict("records") == [
        {"row": 4, "reason": "column 'x1': expected float, got str 'n/a'"}
    ]
    told = run.ok("score", "m/1", source, "-o", tmp_path / "out.csv", "--na-values", "NA,n/a")
    assert told.stdout.startswith("scored 10 rows with m/1")
    assert "rejected" not in told.stdout
    assert not (tmp_path / "out.rejects.csv").exists()


def test_score_counts_one_row_in_the_singular(
    run: Cli, registered: str, frame: pd.DataFrame, tmp_path: Path
) -> None:
    source = tmp_path / "one.csv"
    frame[FEATURES].head(1).to_csv(source, index=False)

    result = run.ok("score", registered, source, "-o", tmp_path / "out.csv")

    assert result.stdout.startswith(f"scored 1 row with m/1 into {tmp_path / 'out.csv'} (")


def _help(run: Cli, monkeypatch: pytest.MonkeyPatch, columns: int) -> list[str]:
    """``ferryman score --help`` as rich draws it ``columns`` wide, each line without its box."""
    monkeypatch.setenv("COLUMNS", str(columns))
    return [line.strip(" │") for line in run.ok("score", "--help").stdout.splitlines()]


def test_score_help_breaks_lines_only_between_sentences(
    run: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = _help(run, monkeypatch, 200)

    start = lines.index("Score every row of INPUT with a version, writing predictions to --output.")
    assert lines[start + 1 : start + 5] == [
        "",
        "Rows that break the signature go to the rejects file with the reasons; the job exits 0.",
        "A missing or unknown column fails the job before anything is written.",
        "",
    ]


def test_score_help_shows_every_option_and_default_whole_at_80_columns(
    run: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = _help(run, monkeypatch, 80)

    assert not [line for line in lines if "…" in line]  # rich cuts what does not fit with "…"
    assert any("[default: log]" in line for line in lines)  # never split over two lines
    assert any("[default: 50000]" in line for line in lines)
    assert any(line.startswith("--log ") and "--no-log" in line for line in lines)


@pytest.mark.parametrize(("rows", "shown"), [(1, "1 row "), (2, "2 rows"), (12_000, "12,000 rows")])
def test_score_progress_counts_rows_of_a_csv_in_words_that_agree(rows: int, shown: str) -> None:
    screen = Console(file=io.StringIO(), width=120, record=True)
    bar = Progress(console=screen)
    show = _Show(bar, bar.add_task("scoring", total=None, rows=""))

    show(ScoreProgress(rows_done=rows, rows_total=None, bytes_done=10, bytes_total=100))

    screen.print(bar.make_tasks_table(bar.tasks))
    assert shown in screen.export_text()
