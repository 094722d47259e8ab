"""Request rows to model input: a NumPy array on the fast path, a DataFrame otherwise.

The fast path covers signatures whose columns are all numbers (the common tabular case). It
checks each record's keys and value types itself; on anything unusual it hands the rows to
the schema's full validation, which names every problem with its row and column. Both paths
accept exactly the same input, so the fast one never lets through what the full one refuses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ferryman.core.signature import Signature
from ferryman.errors import InvalidInputError
from ferryman.registry import LoadedModel
from ferryman.schema import AcceptedValues

# Whole numbers a column takes, as the full check has them: [low, high) so that the float
# bound (2**63, 2**64) is exact.
_INT_RANGE = {"int64": (-(2**63), 2**63), "uint64": (0, 2**64)}


@dataclass(frozen=True, slots=True)
class ModelInput:
    """Checked input for one request: ``rows`` (array) or ``frame`` (DataFrame), never both."""

    count: int
    rows: np.ndarray | None = None
    frame: pd.DataFrame | None = None
    # values the signature lets through by its columns' policy: (column, kind) -> count
    accepted: Mapping[tuple[str, str], int] | None = None


class RowCodec:
    """Checks records against a version's signature and turns them into model input."""

    def __init__(self, loaded: LoadedModel, use_arrays: bool) -> None:
        self._loaded = loaded
        signature = loaded.signature
        self.columns: tuple[str, ...] = tuple(signature.names) if signature else ()
        self._target = loaded.version.output.target
        self.fast = use_arrays and signature is not None and _all_numeric(signature)
        if self.fast and signature is not None:
            self._integer = [
                (i, _INT_RANGE["uint64" if c.dtype.lower().startswith("uint") else "int64"])
                for i, c in enumerate(signature.columns)
                if c.kind == "integer"
            ]
            self._nullable = np.array([c.accepts_nulls for c in signature.columns])
            self._any_nullable = bool(self._nullable.any())
            # nulls counted as accepted: in the columns that had none in training
            self._unseen_nulls = [
                (i, c.name) for i, c in enumerate(signature.columns) if c.accepts_unseen_nulls
            ]
        self._accepted = AcceptedValues(signature) if signature is not None else None
        self._counts = bool(self._accepted)

    def encode(self, records: Sequence[Mapping[str, Any]]) -> ModelInput:
        """Checked model input for ``records``, or InvalidInputError listing every problem."""
        if self.fast:
            rows = self._fast_rows(records)
            if rows is not None:
                return self._rows_input(rows)
        return self._frame_input(self._loaded.prepare(list(records)))

    def encode_array(self, values: np.ndarray) -> ModelInput:
        """A 2-D array already in signature column order (V2's single tensor)."""
        fits = self.fast and values.ndim == 2 and values.shape[1] == len(self.columns)
        if fits and values.dtype.kind in "iuf" and self._whole(values):
            rows = values.astype(np.float64, copy=False)
            if self._clean(rows):
                return self._rows_input(rows)
        return self._frame_input(self._loaded.prepare(values))

    def _rows_input(self, rows: np.ndarray) -> ModelInput:
        if not self._counts:
            return ModelInput(len(rows), rows=rows)
        nulls = {
            (name, "null"): int(count)
            for i, name in self._unseen_nulls
            if (count := np.isnan(rows[:, i]).sum())
        }
        return ModelInput(len(rows), rows=rows, accepted=nulls)

    def _frame_input(self, frame: pd.DataFrame) -> ModelInput:
        if self._accepted is None or not self._counts:
            return ModelInput(len(frame), frame=frame)
        return ModelInput(len(frame), frame=frame, accepted=self._accepted.count(frame))

    def _fast_rows(self, records: Sequence[Mapping[str, Any]]) -> np.ndarray | None:
        """The array, or None when anything needs the full check (which then explains it)."""
        columns = self.columns
        width = len(columns)
        target = self._target
        try:
            table = []
            for record in records:
                size = len(record)
                if size != width and not (target is not None and size == width + 1):
                    return None
                values = [record[name] for name in columns]
                for value in values:
                    kind = type(value)
                    if kind is not float and kind is not int:
                        return None
                table.append(values)
        except (KeyError, TypeError):
            return None
        if target is not None and any(len(r) == width + 1 and target not in r for r in records):
            return None
        for i, (low, high) in self._integer:
            for row in table:
                value = row[i]
                if (type(value) is float and not value.is_integer()) or not low <= value < high:
                    return None
        try:
            rows = np.array(table, dtype=np.float64).reshape(len(table), width)
        except OverflowError:
            return None
        return rows if self._clean(rows) else None

    def _whole(self, values: np.ndarray) -> bool:
        """Integer columns hold whole numbers within their type's range."""
        for i, (low, high) in self._integer:
            column = values[:, i]
            if column.dtype.kind == "f":
                finite = np.isfinite(column)
                if not (np.floor(column[finite]) == column[finite]).all():
                    return False
            if len(column) and (column.min() < low or column.max() >= high):
                return False
        return True

    def _clean(self, rows: np.ndarray) -> bool:
        finite = np.isfinite(rows)
        if finite.all():
            return True
        if not self._any_nullable:
            return False
        # NaN (a JSON null read into a float column) is fine where training had nulls
        return not (np.isinf(rows).any() or (~finite & ~self._nullable).any())


def _all_numeric(signature: Signature) -> bool:
    return bool(signature.columns) and all(
        c.kind in ("float", "integer") and c.categories is None for c in signature.columns
    )


def records_from_columns(columns: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Column-wise data (name -> values of equal length) as records."""
    lengths = {len(v) for v in columns.values()}
    if len(lengths) > 1:
        raise InvalidInputError(
            "every input must have the same number of values; got "
            + ", ".join(f"{name}: {len(v)}" for name, v in columns.items())
        )
    count = lengths.pop() if lengths else 0
    names = list(columns)
    return [{name: columns[name][i] for name in names} for i in range(count)]
