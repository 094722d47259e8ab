"""``ferryman score``: batch predictions on a file of any size, a chunk of rows at a time."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from ferryman.cli.context import NaValuesOpt, err_console, parse_na_values, plural, registry
from ferryman.cli.output import console
from ferryman.serving.scoring.defaults import DEFAULT_CHUNK_ROWS

if TYPE_CHECKING:
    from ferryman.serving.scoring import ScoreProgress, ScoreReport


class FileFormat(StrEnum):
    csv = "csv"
    parquet = "parquet"


def score(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="name, name@alias or name/3")],
    input: Annotated[Path, typer.Argument(help="CSV or Parquet file to score.")],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="CSV or Parquet file for the predictions.")
    ],
    id_column: Annotated[
        str | None,
        typer.Option(help="Input column copied into the output; default: the row number."),
    ] = None,
    rejects: Annotated[
        Path | None,
        typer.Option(help="File for rows that break the signature; default OUTPUT.rejects.EXT."),
    ] = None,
    chunk_rows: Annotated[
        int, typer.Option(min=1, help="Rows read and scored at a time; bounds memory.")
    ] = DEFAULT_CHUNK_ROWS,
    threads: Annotated[
        int | None,
        typer.Option(min=1, help="Chunks predicted at once; default one per CPU (at most 8)."),
    ] = None,
    input_format: Annotated[
        FileFormat | None, typer.Option(help="Read INPUT as this, whatever its suffix.")
    ] = None,
    output_format: Annotated[
        FileFormat | None, typer.Option(help="Write OUTPUT as this, whatever its suffix.")
    ] = None,
    na_values: NaValuesOpt = None,
    trust: Annotated[
        list[str] | None, typer.Option("--trust", help="A type the skops file may load.")
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bar and no summary.")
    ] = False,
    log: Annotated[
        bool,
        typer.Option(
            "--log/--no-log",
            help='Write scored rows to the prediction log as source "score" (if monitoring is on).',
        ),
    ] = True,
) -> None:
    """Score every row of INPUT with a version, writing predictions to --output.

    Rows that break the signature go to the rejects file with the reasons; the job exits 0.
    A missing or unknown column fails the job before anything is written.
    """
    # pandas, pyarrow and the log load with this command, not with every ``ferryman`` start
    from ferryman.sdk import score as score_logged

    with _progress_bar(enabled=not quiet and err_console.is_terminal) as show:
        report = score_logged(
            ref,
            input,
            output,
            log=log,
            registry=registry(ctx),
            id_column=id_column,
            rejects_path=rejects,
            chunk_rows=chunk_rows,
            threads=threads,
            input_format=input_format.value if input_format else None,
            output_format=output_format.value if output_format else None,
            na_values=parse_na_values(na_values),
            trusted_types=trust or [],
            progress=show,
        )
    if not quiet:
        console.print(summary(report))


def summary(report: ScoreReport) -> str:
    """One line: rows scored and rejected, the version, the speed."""
    line = (
        f"scored {plural(report.rows_scored, 'row')} with {report.ref} into {report.output} "
        f"({report.rows_per_second:,.0f} rows/s)"
    )
    if report.rows_rejected:
        rejected = plural(report.rows_rejected, "row")
        line += f"; rejected {rejected}, with reasons, in {report.rejects}"
    return line


@contextmanager
def _progress_bar(enabled: bool) -> Iterator[_Show | None]:
    """A progress bar on stderr while the job runs (only on a terminal); gone when done."""
    if not enabled:
        yield None
        return
    columns = (
        TextColumn("scoring"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("rows"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err_console, transient=True) as bar:
        yield _Show(bar, bar.add_task("scoring", total=None, rows=plural(0, "row")))


class _Show:
    """Moves the bar: by rows when the total is known (Parquet), else by bytes read (CSV)."""

    def __init__(self, bar: Progress, task: TaskID) -> None:
        self.bar = bar
        self.task = task
        self.by_bytes: bool | None = None

    def __call__(self, state: ScoreProgress) -> None:
        if self.by_bytes is None:
            self.by_bytes = state.rows_total is None
            if self.by_bytes:
                # a CSV's row count is unknown until the end: show bytes instead
                self.bar.columns = (
                    TextColumn("scoring"),
                    BarColumn(),
                    DownloadColumn(),
                    TextColumn("{task.fields[rows]}"),
                    TimeElapsedColumn(),
                    TimeRemainingColumn(),
                )
        if self.by_bytes:
            self.bar.update(
                self.task,
                completed=state.bytes_done,
                total=state.bytes_total,
                rows=plural(state.rows_done, "row"),
            )
        else:
            self.bar.update(self.task, completed=state.rows_done, total=state.rows_total)
