"""Check input against a Signature, listing every problem with its row and column."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from ferryman.core.signature import ColumnSpec, Signature
from ferryman.errors import InvalidInputError

Records = pd.DataFrame | np.ndarray | Sequence[Mapping[str, Any]] | Mapping[str, Any]
SHOWN_IN_MESSAGE = 5
SHOWN_CATEGORIES = 3  # known categories named in an unknown-category message


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the input. ``row`` is None when the whole column is concerned."""

    row: int | None
    column: str | None
    kind: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def to_frame(
    data: Records, columns: Sequence[str] | None = None
) -> tuple[pd.DataFrame, list[Problem]]:
    """Turn input into a DataFrame, with problems that stop it from being one.

    A 2-D array's columns are taken to be ``columns`` (the signature's, in order).
    """
    if isinstance(data, pd.DataFrame):
        if not all(isinstance(c, str) for c in data.columns):
            data = data.rename(columns=str)
        return data, []
    if isinstance(data, np.ndarray):
        return _array_frame(data, columns)
    if isinstance(data, Mapping):
        data = [data]
    if isinstance(data, Sequence) and not isinstance(data, (str, bytes)) and not data:
        return pd.DataFrame(columns=list(columns or [])), []
    if isinstance(data, (str, bytes)) or not isinstance(data, Sequence):
        raise InvalidInputError(
            f"input must be a DataFrame, a record (mapping) or a list of records, "
            f"got {type(data).__name__}"
        )
    problems: list[Problem] = []
    for i, record in enumerate(data):
        if not isinstance(record, Mapping):
            problems.append(
                Problem(
                    i, None, "not_a_record", f"row {i} is {type(record).__name__}, not a record"
                )
            )
    if problems:
        return pd.DataFrame(), problems
    return pd.DataFrame.from_records(list(data)), problems


def _array_frame(
    data: np.ndarray, columns: Sequence[str] | None
) -> tuple[pd.DataFrame, list[Problem]]:
    if data.ndim == 1:
        data = data.reshape(1, -1)
    if data.ndim != 2:
        shape = f"{data.ndim}-D"
        message = f"an array input must be 2-D (rows x columns), got {shape}"
        return pd.DataFrame(), [Problem(None, None, "bad_shape", message)]
    if columns is None:
        columns = [f"f{i}" for i in range(data.shape[1])]
    elif len(columns) != data.shape[1]:
        message = f"the array has {data.shape[1]} columns; the model takes {len(columns)}"
        return pd.DataFrame(), [Problem(None, None, "bad_shape", message)]
    return pd.DataFrame(data, columns=list(columns)), []


def validate(signature: Signature, data: Records) -> list[Problem]:
    """Every problem of ``data`` against ``signature``: missing or unknown columns, wrong types,
    nulls where training had none, unknown categories. An empty list means the input is fine.
    """
    frame, problems = to_frame(data, signature.names)
    if problems:
        return problems
    rows = None if isinstance(data, (pd.DataFrame, np.ndarray)) else _as_rows(data)
    expected = signature.names
    present = [str(c) for c in frame.columns]
    duplicated = sorted({name for name in present if present.count(name) > 1})
    if duplicated:
        return [
            Problem(None, name, "duplicate_column", f"column {name!r} appears more than once")
            for name in duplicated
        ]
    for name in present:
        if name not in expected:
            problems.append(
                Problem(
                    None, name, "unknown_column", f"unknown column {name!r}; expected {expected}"
                )
            )
    missing_cells: dict[str, set[int]] = {}
    for col in signature.columns:
        if col.name not in present:
            problems.append(
                Problem(None, col.name, "missing_column", f"missing column {col.name!r}")
            )
            continue
        if rows is not None:
            absent = {i for i, r in enumerate(rows) if col.name not in r}
            missing_cells[col.name] = absent
            problems.extend(
                Problem(i, col.name, "missing_value", f"row {i} has no value for {col.name!r}")
                for i in sorted(absent)
            )
        problems.extend(_check_column(col, frame[col.name], missing_cells.get(col.name, set())))
    return problems


def _as_rows(data: Sequence[Mapping[str, Any]] | Mapping[str, Any]) -> list[Mapping[str, Any]]:
    if isinstance(data, Mapping):
        return [data]
    return [r for r in data if isinstance(r, Mapping)]


def _check_column(col: ColumnSpec, series: pd.Series, skip: set[int]) -> list[Problem]:
    problems: list[Problem] = []
    fits = _dtype_fits(col, series)
    cells = series.to_numpy(dtype=object) if not fits or col.categories is not None else None
    values = None if fits else cells
    is_null = series.isna().to_numpy()
    if values is not None:
        for i, value in enumerate(values):
            if is_null[i] or i in skip:
                continue
            if col.kind == "float" and _is_infinite(value):
                problems.append(
                    Problem(i, col.name, "not_finite", f"row {i}, column {col.name!r}: infinite")
                )
            elif not _value_fits(col, value):
                problems.append(
                    Problem(
                        i,
                        col.name,
                        "wrong_type",
                        f"row {i}, column {col.name!r}: expected {col.kind}, got "
                        f"{type(value).__name__} {_short(value)}",
                    )
                )
    if col.kind == "integer" and values is None and len(series):
        bounds = np.iinfo(_integer_dtype(col))
        numbers = series.to_numpy()
        outside = np.flatnonzero((numbers < bounds.min) | (numbers > bounds.max))
        problems.extend(
            Problem(
                int(i),
                col.name,
                "wrong_type",
                f"row {int(i)}, column {col.name!r}: {numbers[i]} is outside the range of "
                f"{_integer_dtype(col)}",
            )
            for i in outside
        )
    if col.kind == "float" and values is None and ptypes.is_float_dtype(series.dtype):
        infinite = np.flatnonzero(np.isinf(series.to_numpy()))
        problems.extend(
            Problem(int(i), col.name, "not_finite", f"row {int(i)}, column {col.name!r}: infinite")
            for i in infinite
        )
    if not col.accepts_nulls:
        problems.extend(
            Problem(
                int(i),
                col.name,
                "null",
                f"row {int(i)}, column {col.name!r}: null, but training data had no nulls here",
            )
            for i in np.flatnonzero(is_null)
            if int(i) not in skip
        )
    if col.categories is not None and not col.accepts_unknown:
        known = set(col.categories)
        bad_type = {p.row for p in problems}
        assert cells is not None
        for i, value in enumerate(cells):
            if is_null[i] or i in skip or i in bad_type:
                continue
            if _plain(value) not in known:
                problems.append(
                    Problem(
                        i,
                        col.name,
                        "unknown_category",
                        f"row {i}, column {col.name!r}: {_short(value)} was never seen in "
                        f"training ({_preview(col.categories)})",
                    )
                )
    return problems


def _dtype_fits(col: ColumnSpec, series: pd.Series) -> bool:
    dtype = series.dtype
    if col.kind == "float":
        return ptypes.is_float_dtype(dtype) or (
            ptypes.is_integer_dtype(dtype) and not ptypes.is_bool_dtype(dtype)
        )
    if col.kind == "integer":
        return ptypes.is_integer_dtype(dtype) and not ptypes.is_bool_dtype(dtype)
    if col.kind == "boolean":
        return ptypes.is_bool_dtype(dtype)
    if col.kind == "datetime":
        return ptypes.is_datetime64_any_dtype(dtype)
    return False  # text and categories are checked value by value


def _is_infinite(value: Any) -> bool:
    return isinstance(value, (float, np.floating)) and bool(np.isinf(value))


def _value_fits(col: ColumnSpec, value: Any) -> bool:
    is_bool = isinstance(value, (bool, np.bool_))
    if col.kind == "float":
        return isinstance(value, (int, float, np.integer, np.floating)) and not is_bool
    if col.kind == "integer":
        if is_bool:
            return False
        if isinstance(value, (float, np.floating)):
            if not float(value).is_integer():
                return False
        elif not isinstance(value, (int, np.integer)):
            return False
        bounds = np.iinfo(_integer_dtype(col))
        return bool(bounds.min <= value <= bounds.max)
    if col.kind == "boolean":
        return is_bool
    if col.kind == "string":
        return isinstance(value, str)
    if col.kind == "datetime":
        if isinstance(value, (datetime, date, np.datetime64)):
            return True
        if isinstance(value, str):
            try:
                pd.Timestamp(value)
            except ValueError:
                return False
            return True
        return False
    # category: the training categories decide; only the value's type is checked here.
    # A bool equals 1 or 0 in Python, so it only fits categories that are bools themselves.
    if is_bool:
        return not col.categories or all(isinstance(c, bool) for c in col.categories)
    if col.categories:
        return any(isinstance(value, type(c)) for c in col.categories) or isinstance(
            value, (str, int, float, np.generic)
        )
    return True


def check_input(signature: Signature, data: Records) -> pd.DataFrame:
    """Validate ``data`` and return it as a frame in signature order with training dtypes.

    Raises InvalidInputError carrying every problem when anything is wrong.
    """
    problems = validate(signature, data)
    if problems:
        raise InvalidInputError(describe_problems(problems), problems)
    frame, _ = to_frame(data, signature.names)
    out = {}
    for col in signature.columns:
        out[col.name] = _cast(col, frame[col.name])
    return pd.DataFrame(out, index=frame.index)


def _integer_dtype(col: ColumnSpec) -> str:
    """The NumPy integer type the column had in training (int64 unless it was unsigned)."""
    name = col.dtype.lower()
    return "uint64" if name.startswith("uint") else "int64"


def _cast(col: ColumnSpec, series: pd.Series) -> pd.Series:
    if col.kind == "float":
        return series.astype("float64")
    if col.kind == "integer":
        target = np.dtype("float64" if series.isna().any() else _integer_dtype(col))
        return series.astype(target)
    if col.kind == "boolean":
        return series.astype("boolean" if series.isna().any() else "bool")
    if col.kind == "category":
        known = list(col.categories or ())
        if col.accepts_unknown:  # unknown values follow the known ones: known codes stay
            seen = set(known)
            known += [v for v in pd.unique(series.dropna()) if _plain(v) not in seen]
        return pd.Series(
            pd.Categorical(series, categories=known),
            index=series.index,
            name=series.name,
        )
    if col.kind == "datetime":
        try:
            return pd.to_datetime(series, format="mixed")
        except (ValueError, TypeError) as exc:
            raise InvalidInputError(f"column {col.name!r}: cannot read its dates ({exc})") from exc
    return series.astype(object)


class AcceptedValues:
    """Counts the values of checked frames that reached the model only by its columns' policy:
    ``(column, "unknown_category" | "null") -> count``, without the zero counts.

    Made once per signature (a server's codec), so that a request pays only for the columns
    that accept something, with their known categories already a set.
    """

    SMALL = 64  # rows counted one by one in Python: faster than pandas for a few

    def __init__(self, signature: Signature) -> None:
        self._columns = [
            (
                col.name,
                col.accepts_unseen_nulls,
                frozenset(col.categories or ()) if col.accepts_unknown else None,
                len(col.categories or ()),
            )
            for col in signature.columns
            if col.accepts_unknown or col.accepts_unseen_nulls
        ]

    def __bool__(self) -> bool:
        return bool(self._columns)

    def count(self, frame: pd.DataFrame) -> dict[tuple[str, str], int]:
        counts: dict[tuple[str, str], int] = {}
        for name, nulls_accepted, known, known_count in self._columns:
            if name not in frame:
                continue
            series = frame[name]
            is_null = series.isna()
            if nulls_accepted and (nulls := int(is_null.sum())):
                counts[(name, "null")] = nulls
            if known is None:
                continue
            if isinstance(series.dtype, pd.CategoricalDtype):
                unknown = int((series.cat.codes >= known_count).sum())
            elif len(series) <= self.SMALL:
                pairs = zip(series.tolist(), is_null.tolist(), strict=True)
                unknown = sum(1 for value, null in pairs if not null and value not in known)
            else:
                unknown = int((~is_null & ~series.isin(list(known))).sum())
            if unknown:
                counts[(name, "unknown_category")] = unknown
        return counts


def describe_problems(problems: Sequence[Problem]) -> str:
    shown = "; ".join(p.message for p in problems[:SHOWN_IN_MESSAGE])
    more = len(problems) - SHOWN_IN_MESSAGE
    tail = f"; and {more} more" if more > 0 else ""
    count = "1 problem" if len(problems) == 1 else f"{len(problems)} problems"
    return f"input does not match the model's signature ({count}): {shown}{tail}"


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _preview(categories: Sequence[Any]) -> str:
    """A few known categories, for a message: short labels only, so that no training text
    (a sentence forced to be a category, a name) is ever echoed back."""
    count = f"{len(categories):,} known"
    labels = list(categories)[:SHOWN_CATEGORIES]
    if any(isinstance(c, str) and (len(c) > 20 or len(c.split()) > 2) for c in labels):
        return count
    shown = ", ".join(repr(c) for c in labels)
    return f"{count}: {shown}" + (", ..." if len(categories) > SHOWN_CATEGORIES else "")
