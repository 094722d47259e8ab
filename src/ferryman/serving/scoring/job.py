"""Batch scoring: a CSV or Parquet file in, predictions out, a chunk of rows at a time.

Memory stays bounded by the chunk size whatever the size of the file. Each chunk is checked
against the version's signature; rows that break it, and rows the model itself fails on, go
to a rejects file with the reason instead of failing the job. Problems with whole columns (a
missing or unknown column) fail the job before anything is written.
"""

from __future__ import annotations

import time
import uuid
from collections import deque
from collections.abc import Callable, Generator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ferryman.core.predictions import PredictionRecord, PredictionSink, RejectionRecord
from ferryman.core.sources import SCORE_SOURCE
from ferryman.errors import DataFileError, FerrymanError, PredictionError
from ferryman.registry import LoadedModel, Registry, failing_rows, first_line
from ferryman.schema.data_files import check_na_values
from ferryman.serving.scoring.checks import CheckedChunk, check_chunk
from ferryman.serving.scoring.defaults import DEFAULT_CHUNK_ROWS, default_threads
from ferryman.serving.scoring.plan import Plan
from ferryman.serving.scoring.readers import InputFile, choose_format
from ferryman.serving.scoring.writers import ChunkWriter

MAX_FAILING_ROWS = 100  # of a chunk, set aside as rejects before the job is failed


@dataclass(frozen=True)
class ScoreProgress:
    """How far a scoring job has got; ``rows_total`` is known for Parquet input only."""

    rows_done: int
    rows_total: int | None
    bytes_done: int
    bytes_total: int


@dataclass(frozen=True)
class ScoreReport:
    """What a scoring job did. ``rejects`` is None when no row was rejected."""

    ref: str
    rows_in: int
    rows_scored: int
    rows_rejected: int
    output: Path
    rejects: Path | None
    seconds: float

    @property
    def rows_per_second(self) -> float:
        return self.rows_in / self.seconds if self.seconds > 0 else float("inf")


def default_rejects_path(output: Path) -> Path:
    """``scores.parquet`` -> ``scores.rejects.parquet``."""
    return output.with_name(f"{output.stem}.rejects{output.suffix}")


def score_file(
    registry: Registry,
    ref: str,
    input_path: str | Path,
    output_path: str | Path,
    *,
    id_column: str | None = None,
    rejects_path: str | Path | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    input_format: str | None = None,
    output_format: str | None = None,
    trusted_types: Sequence[str] = (),
    progress: Callable[[ScoreProgress], None] | None = None,
    sink: PredictionSink | None = None,
    threads: int | None = None,
    na_values: Sequence[str] = (),
) -> ScoreReport:
    """Predict with version ``ref`` on every row of a CSV or Parquet file.

    Parameters
    ----------
    registry, ref
        Where the model is, and which version: ``name``, ``name@alias`` or ``name/3``.
    input_path, output_path
        CSV or Parquet files; the format comes from the suffix (``.csv``, ``.parquet``,
        ``.pq``) unless ``input_format`` / ``output_format`` say ``"csv"`` or ``"parquet"``.
    id_column
        An input column copied into the output to identify rows; without it the output has
        a ``row`` column: the 0-based row number in the input.
    rejects_path
        Where rows that break the signature go, with a ``reason`` column and their input
        columns as text; by default ``<output stem>.rejects<output suffix>``. Written only
        when a row is rejected; an older file at that path is removed.
    chunk_rows
        Rows read, checked, predicted and written at a time: this bounds memory.
    progress
        Called after each chunk.
    sink
        Where each scored chunk is reported (the prediction log), with the job's id as the
        request id and the id column (or row number) naming the rows.
    threads
        Chunks predicted at once, each in its own thread (default: one per usable CPU, at
        most 8). Output rows keep the input's order whatever the number. Models that run
        their own threads (LightGBM, XGBoost) may do better with 1.
    na_values
        Strings that mean a missing value in a CSV input, besides the empty field (which
        always does), e.g. ``["NA", "n/a"]``. Any other text in a number column is a bad cell
        and rejects its row. Not allowed for Parquet input, whose missing values are nulls.

    Returns
    -------
    ScoreReport
        Row counts, the version used, the files written and the time taken.

    The output has the id column, ``prediction``, and ``proba_<class>`` per class for a
    classifier. A classifier's ``prediction`` is its most probable class, taken from the same
    call as the probabilities so the model runs once per row.
    """
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be at least 1, got {chunk_rows}")
    if threads is None:
        threads = default_threads()
    if threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    started = time.perf_counter()
    source, output = Path(input_path), Path(output_path)
    rejects = Path(rejects_path) if rejects_path is not None else default_rejects_path(output)
    source_kind = choose_format(source, input_format)
    output_kind = choose_format(output, output_format)
    rejects_kind = _rejects_format(rejects, output_kind)
    check_na_values(na_values, source, source_kind)
    _check_paths(source, output, rejects)
    model = registry.load(ref, trusted_types)
    table = InputFile(source, source_kind)
    plan = Plan.make(model, table, id_column)
    checked = _checked_chunks(model, plan, table, chunk_rows, na_values)
    job = f"score-{uuid.uuid4().hex[:16]}"
    files = _Sink(plan, output, output_kind, rejects, rejects_kind)
    # Three stages overlap: reading and checking the next chunks, predicting on up to
    # ``threads`` chunks at once, writing the last one in input order. Arrow I/O and most
    # models (trees, boosters, ONNX) release the GIL while they work, so each thread buys real
    # time on a machine with several cores; memory holds about ``threads + 3`` chunks.
    try:
        with (
            ThreadPoolExecutor(1, "ferryman-read") as reading,
            ThreadPoolExecutor(threads, "ferryman-predict") as predicting,
            ThreadPoolExecutor(1, "ferryman-write") as writing,
        ):
            written: Future[None] | None = None
            in_flight: deque[Future[tuple[CheckedChunk, pd.DataFrame]]] = deque()
            ahead: Future[CheckedChunk | None] | None = reading.submit(next, checked, None)
            try:
                while ahead is not None or in_flight:
                    if ahead is not None and len(in_flight) < threads:
                        chunk = ahead.result()
                        if chunk is None:
                            ahead = None
                        else:
                            ahead = reading.submit(next, checked, None)
                            in_flight.append(predicting.submit(_scored, model, plan, chunk))
                        continue
                    chunk, scored = in_flight.popleft().result()
                    if sink is not None:
                        _report(sink, model, job, chunk, scored)
                    if written is not None:
                        written.result()
                    written = writing.submit(files.write, scored, chunk.refused)
                    if progress is not None:
                        progress(_progress(table, chunk))
                if written is not None:
                    written.result()
            finally:
                if ahead is not None:
                    ahead.cancel()
                for predicted in in_flight:
                    predicted.cancel()
        files.commit()
    finally:
        checked.close()
        files.discard()
    return ScoreReport(
        ref=str(model.version.ref),
        rows_in=files.rows_in,
        rows_scored=files.rows_in - files.rows_rejected,
        rows_rejected=files.rows_rejected,
        output=output,
        rejects=rejects if files.rows_rejected else None,
        seconds=time.perf_counter() - started,
    )


def _checked_chunks(
    model: LoadedModel, plan: Plan, table: InputFile, chunk_rows: int, na_values: Sequence[str]
) -> Generator[CheckedChunk, None, None]:
    first_row = 0
    for chunk in table.chunks(chunk_rows, plan.text_columns, model.signature, na_values):
        checked = check_chunk(model, plan, chunk, first_row)
        first_row += checked.rows
        yield checked


class _Sink:
    """The output file, and the rejects file once a row is refused."""

    def __init__(
        self, plan: Plan, output: Path, output_kind: str, rejects: Path, rejects_kind: str
    ) -> None:
        self.plan = plan
        self.rejects = rejects
        self.rejects_kind = rejects_kind
        self.out = ChunkWriter(output, output_kind, plan.output_columns, plan.output_types)
        self.bad: ChunkWriter | None = None
        self.rows_in = self.rows_rejected = 0

    def write(self, scored: pd.DataFrame, refused: pd.DataFrame) -> None:
        if len(scored):
            self.out.write(scored)
        if len(refused):
            if self.bad is None:
                columns, types = self.plan.rejects_columns, self.plan.rejects_types
                self.bad = ChunkWriter(self.rejects, self.rejects_kind, columns, types)
            self.bad.write(refused)
        self.rows_in += len(scored) + len(refused)
        self.rows_rejected += len(refused)

    def commit(self) -> None:
        self.out.commit()
        if self.bad is not None:
            self.bad.commit()
        else:
            self.rejects.unlink(missing_ok=True)  # an older job's rejects would mislead

    def discard(self) -> None:
        try:
            self.out.discard()
        finally:
            if self.bad is not None:
                self.bad.discard()


def _rejects_format(rejects: Path, output_kind: str) -> str:
    try:
        return choose_format(rejects, None)
    except FerrymanError:
        return output_kind


def _check_paths(source: Path, output: Path, rejects: Path) -> None:
    if output.resolve() == source.resolve():
        raise DataFileError(f"the output {output} is the input file; write to another file")
    if rejects.resolve() in (source.resolve(), output.resolve()):
        raise DataFileError(
            f"the rejects file {rejects} is the input or the output; give it another name"
        )
    if not output.parent.is_dir():
        raise DataFileError(f"cannot write {output}: folder {output.parent} does not exist")
    if not rejects.parent.is_dir():
        raise DataFileError(f"cannot write {rejects}: folder {rejects.parent} does not exist")


def _scored(
    model: LoadedModel, plan: Plan, chunk: CheckedChunk
) -> tuple[CheckedChunk, pd.DataFrame]:
    """The output rows of a checked chunk (its ids, then the model's answers), and the chunk
    with the rows the model failed on moved to its refused rows."""
    if len(chunk.prepared):
        try:
            answers = _predict(model, chunk.prepared)
        except FerrymanError:
            raise
        except Exception as exc:  # noqa: BLE001 - the rows it fails on are found and set aside
            chunk = _without_failing(model, plan, chunk, exc)
            answers = _predict(model, chunk.prepared) if len(chunk.prepared) else {}
    scored = pd.DataFrame({plan.id_name: chunk.ids})
    if not len(chunk.prepared):
        return chunk, scored
    return chunk, scored.assign(**answers)[plan.output_columns]


def _without_failing(
    model: LoadedModel, plan: Plan, chunk: CheckedChunk, exc: Exception
) -> CheckedChunk:
    """The chunk without the rows the model fails on alone (they go to the rejects file).

    A model failing on more than MAX_FAILING_ROWS rows of a chunk, or on every row of a chunk
    of ten or more, fails the job: that is the model or its environment, not the input (and
    finding each row costs two model calls).
    """
    bad = failing_rows(partial(_predict, model), chunk.prepared, MAX_FAILING_ROWS + 1)
    size = len(chunk.prepared)
    if len(bad) > MAX_FAILING_ROWS or (size >= 10 and len(bad) == size):
        many = "every row" if len(bad) == size else f"more than {MAX_FAILING_ROWS} rows"
        raise PredictionError(
            f"model {model.version.ref} fails on {many} of the chunk starting at input row "
            f"{chunk.first_row} ({first_line(exc)}): that is the model or its environment, "
            "not the input, so the job stops"
        ) from exc
    if not bad:
        raise PredictionError(
            f"model {model.version.ref} failed to predict on the chunk starting at input row "
            f"{chunk.first_row}, though on each row alone it can: {first_line(exc)}"
        ) from exc
    reasons = {row: f"the model failed on this row: {text}" for row, text in bad.items()}
    return chunk.without(plan, reasons)


def _predict(model: LoadedModel, frame: pd.DataFrame) -> dict[str, Any]:
    """``prediction`` and ``proba_<class>`` columns, running the model once on ``frame``."""
    predictor = model.predictor
    proba = predictor.predict_proba(frame) if model.classes is not None else None
    if proba is None or model.classes is None:
        return {"prediction": np.asarray(predictor.predict(frame))}
    labels = np.asarray(model.classes)
    columns: dict[str, Any] = {"prediction": labels[np.argmax(proba, axis=1)]}
    for i, label in enumerate(model.classes):
        columns[f"proba_{label}"] = proba[:, i]
    return columns


def _report(
    sink: PredictionSink, model: LoadedModel, job: str, chunk: CheckedChunk, scored: pd.DataFrame
) -> None:
    """Hand a scored chunk (and its refused rows) to the prediction sink."""
    now = time.time()
    version = model.version
    if len(chunk.prepared):
        classes = tuple(model.classes) if model.classes is not None else None
        proba = None
        if classes is not None:
            proba = scored[[f"proba_{label}" for label in classes]].to_numpy()
        sink.record(
            PredictionRecord(
                model=version.model,
                version=version.version,
                request_id=job,
                at=now,
                latency_ms=0.0,
                source=SCORE_SOURCE,
                columns=tuple(str(c) for c in chunk.prepared.columns),
                inputs=chunk.prepared,
                predictions=scored["prediction"].to_numpy(),
                probabilities=proba,
                classes=classes,
                row_ids=chunk.ids,
            )
        )
    if len(chunk.refused):
        sink.reject(
            RejectionRecord(
                model=version.model,
                version=version.version,
                request_id=job,
                at=now,
                source=SCORE_SOURCE,
                problems=tuple((None, None, "refused") for _ in range(len(chunk.refused))),
            )
        )


def _progress(table: InputFile, chunk: CheckedChunk) -> ScoreProgress:
    rows_done = chunk.first_row + chunk.rows
    return ScoreProgress(rows_done, table.rows_total, chunk.bytes_read, table.bytes_total)
