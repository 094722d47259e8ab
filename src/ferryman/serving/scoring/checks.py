"""One chunk of input checked against the signature: rows to predict on, rows refused."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from ferryman.errors import InvalidInputError
from ferryman.registry import LoadedModel
from ferryman.schema import Problem
from ferryman.serving.scoring.plan import Plan
from ferryman.serving.scoring.readers import Chunk


@dataclass(frozen=True)
class CheckedChunk:
    """A chunk split into rows the model takes (``prepared``, with their ``ids``) and
    ``refused`` rows in the rejects file's columns."""

    first_row: int
    rows: int
    bytes_read: int
    ids: np.ndarray
    prepared: pd.DataFrame
    refused: pd.DataFrame
    frame: pd.DataFrame  # the chunk as read
    kept: np.ndarray  # the position in ``frame`` of each row of ``prepared``

    def without(self, plan: Plan, reasons: dict[int, str]) -> CheckedChunk:
        """The chunk with the rows of ``prepared`` at the positions ``reasons`` names moved
        to ``refused`` (rows the model itself failed on)."""
        at = np.fromiter(reasons, dtype=np.int64, count=len(reasons))
        keep = np.ones(len(self.prepared), dtype=bool)
        keep[at] = False
        refused = _refused(plan, self.frame, self.ids[at], self.kept[at], list(reasons.values()))
        return replace(
            self,
            ids=self.ids[keep],
            prepared=self.prepared.iloc[keep],
            refused=pd.concat([self.refused, refused], ignore_index=True)
            if len(self.refused)
            else refused,
            kept=self.kept[keep],
        )


def check_chunk(model: LoadedModel, plan: Plan, chunk: Chunk, first_row: int) -> CheckedChunk:
    """Validate one chunk; rows with any problem are refused, each with every reason."""
    frame = chunk.frame.reset_index(drop=True)
    if plan.id_column is not None:
        ids = frame[plan.id_column].to_numpy()
    else:
        ids = np.arange(first_row, first_row + len(frame), dtype=np.int64)
    prepared, reasons = _prepare(model, frame[plan.features])
    refused = pd.DataFrame(columns=plan.rejects_columns)
    kept = np.arange(len(frame))
    if reasons:
        rows = np.fromiter(reasons, dtype=np.int64, count=len(reasons))
        keep = np.ones(len(frame), dtype=bool)
        keep[rows] = False
        refused = _refused(plan, frame, ids[rows], rows, list(reasons.values()))
        ids = ids[keep]
        kept = kept[keep]
    return CheckedChunk(
        first_row, len(frame), chunk.bytes_read, ids, prepared, refused, frame, kept
    )


def _refused(
    plan: Plan, frame: pd.DataFrame, ids: np.ndarray, rows: np.ndarray, reasons: list[str]
) -> pd.DataFrame:
    """The rejects file's rows for the rows at positions ``rows`` of ``frame``."""
    refused = pd.DataFrame({plan.id_name: ids, plan.reason_name: reasons})
    for column in plan.inputs:
        refused[column] = _as_text(frame[column].iloc[rows])
    return refused


def _prepare(model: LoadedModel, features: pd.DataFrame) -> tuple[pd.DataFrame, dict[int, str]]:
    """The rows that pass, as the model takes them, and a reason for each row that does not.

    Validation runs once on a clean chunk; a chunk with bad rows is checked again without them.
    """
    try:
        return model.prepare(features), {}
    except InvalidInputError as exc:
        problems = [p for p in exc.problems if isinstance(p, Problem)]
        if not problems or any(p.row is None for p in problems):
            raise
    reasons: dict[int, list[str]] = {}
    for problem in problems:
        if problem.row is not None:
            reasons.setdefault(problem.row, []).append(_without_row(problem))
    good = features.drop(index=list(reasons))
    prepared = model.prepare(good) if len(good) else good
    return prepared, {row: "; ".join(texts) for row, texts in sorted(reasons.items())}


def _without_row(problem: Problem) -> str:
    """A problem's message without its row number, which counts from the chunk's start."""
    prefix = f"row {problem.row}, "
    text = problem.message
    return text[len(prefix) :] if text.startswith(prefix) else text


def _as_text(series: pd.Series) -> list[str | None]:
    return [None if pd.isna(v) else str(v) for v in series.to_numpy(dtype=object)]
