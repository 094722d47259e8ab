"""Check input against a Signature, listing every problem with its row and column."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from functools import partial
from itertools import chain
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from ferryman.core.signature import ColumnSpec, Signature
from ferryman.errors import InvalidInputError

Records = pd.DataFrame | np.ndarray | Sequence[Mapping[str, Any]] | Mapping[str, Any]
SHOWN_IN_MESSAGE = 5
MAX_PROBLEMS = 100  # problems an error lists; the rest are only counted
SHOWN_NAMES = 10  # expected column names listed in an unknown-column message
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


class ProblemList:
    """Problems as they are found: the first ``limit`` kept, the others only counted
    (``more``), so that hostile input costs a count, not a message, per problem."""

    __slots__ = ("items", "limit", "more")

    def __init__(self, limit: int | None = None) -> None:
        self.items: list[Problem] = []
        self.limit = limit
        self.more = 0

    @property
    def is_full(self) -> bool:
        return self.limit is not None and len(self.items) >= self.limit

    def __len__(self) -> int:
        return len(self.items) + self.more

    def add(self, problem: Problem) -> None:
        if self.is_full:
            self.more += 1
        else:
            self.items.append(problem)

    def add_rows(self, rows: Sequence[int] | np.ndarray, make: Callable[[int], Problem]) -> None:
        """A problem per row of ``rows``, made only for those that are kept."""
        room = len(rows) if self.limit is None else max(0, self.limit - len(self.items))
        self.items.extend(make(int(i)) for i in rows[:room])
        self.more += max(0, len(rows) - room)


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
    return find_problems(signature, data).items


def find_problems(signature: Signature, data: Records, limit: int | None = None) -> ProblemList:
    """The problems of ``data`` against ``signature`` (see ``validate``): the first ``limit``
    of them, and how many more. Linear in the input, however many problems it has."""
    found = ProblemList(limit)
    expected = signature.names
    occurrences: Counter[str] = Counter()
    if isinstance(data, (pd.DataFrame, np.ndarray)):
        frame, problems = to_frame(data, expected)
        rows = None
        present = [str(c) for c in frame.columns]
    else:
        # records: their keys are read first, so that a record of thousands of unknown
        # columns never becomes a frame of thousands of columns
        records = [data] if isinstance(data, Mapping) else data
        problems = _not_records(records)
        rows = [] if problems else list(records)
        if rows:
            # how many records have each key, in one pass (C code)
            occurrences = Counter(chain.from_iterable(rows))
            if not set(map(type, occurrences)) <= {str}:
                rows = [{str(k): v for k, v in r.items()} for r in rows]
                occurrences = Counter(chain.from_iterable(rows))
            present = list(occurrences)
            frame = pd.DataFrame()
        else:  # no rows: nothing is missing
            frame, _ = to_frame([], expected)
            present, rows = list(expected), None
    if problems:
        for problem in problems:
            found.add(problem)
        return found
    counts = Counter(present)
    duplicated = sorted(name for name, n in counts.items() if n > 1)
    if duplicated:
        for name in duplicated:
            found.add(
                Problem(None, name, "duplicate_column", f"column {name!r} appears more than once")
            )
        return found
    known = set(expected)
    listed = _names_preview(expected)
    unknown = [name for name in present if name not in known]
    found.add_rows(
        range(len(unknown)),
        lambda i: Problem(
            None,
            unknown[i],
            "unknown_column",
            f"unknown column {unknown[i]!r}; expected {listed}",
        ),
    )
    if rows is not None:
        frame = _records_frame(rows, [c for c in expected if c in counts])
    for col in signature.columns:
        if col.name not in counts:
            found.add(Problem(None, col.name, "missing_column", f"missing column {col.name!r}"))
            continue
        absent: set[int] = set()
        if rows is not None and occurrences[col.name] < len(rows):
            absent = {i for i, r in enumerate(rows) if col.name not in r}
            found.add_rows(sorted(absent), partial(_missing_value, column=col.name))
        _check_column(col, frame[col.name], absent, found)
    return found


def _missing_value(row: int, column: str) -> Problem:
    return Problem(row, column, "missing_value", f"row {row} has no value for {column!r}")


def _not_records(data: Any) -> list[Problem]:
    """What stops ``data`` from being records (raises for a type that is not a list)."""
    if isinstance(data, (str, bytes)) or not isinstance(data, Sequence):
        raise InvalidInputError(
            f"input must be a DataFrame, a record (mapping) or a list of records, "
            f"got {type(data).__name__}"
        )
    return [
        Problem(i, None, "not_a_record", f"row {i} is {type(record).__name__}, not a record")
        for i, record in enumerate(data)
        if not isinstance(record, Mapping)
    ]


def _records_frame(rows: list[Mapping[str, Any]], columns: list[str]) -> pd.DataFrame:
    """The frame of ``columns`` of ``rows``."""
    if not columns:
        return pd.DataFrame(index=range(len(rows)))
    return pd.DataFrame.from_records(rows, columns=columns)


def _names_preview(names: Sequence[str]) -> str:
    if len(names) <= SHOWN_NAMES:
        return str(list(names))
    shown = ", ".join(repr(n) for n in names[:SHOWN_NAMES])
    return f"[{shown}, ...] ({len(names)} columns)"


def _check_column(col: ColumnSpec, series: pd.Series, skip: set[int], found: ProblemList) -> None:
    fits = _dtype_fits(col, series)
    cells = series.to_numpy(dtype=object) if not fits or col.categories is not None else None
    values = None if fits else cells
    is_null = series.isna().to_numpy()
    bad_type: set[int] = set()  # rows whose type is wrong: no category check for them
    if values is not None:
        for i, value in enumerate(values):
            if is_null[i] or i in skip:
                continue
            if col.kind == "float" and _is_infinite(value):
                bad_type.add(i)
                found.add_rows([i], lambda i: _infinite(i, col.name))
            elif not _value_fits(col, value):
                bad_type.add(i)
                if found.is_full:
                    found.more += 1
                    continue
                found.add(
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
        found.add_rows(
            outside,
            lambda i: Problem(
                i,
                col.name,
                "wrong_type",
                f"row {i}, column {col.name!r}: {numbers[i]} is outside the range of "
                f"{_integer_dtype(col)}",
            ),
        )
    if col.kind == "float" and values is None and ptypes.is_float_dtype(series.dtype):
        infinite = np.flatnonzero(np.isinf(series.to_numpy()))
        found.add_rows(infinite, lambda i: _infinite(i, col.name))
    if not col.accepts_nulls:
        nulls = np.flatnonzero(is_null)
        if skip:
            nulls = np.array([i for i in nulls if int(i) not in skip], dtype=np.intp)
        found.add_rows(
            nulls,
            lambda i: Problem(
                i,
                col.name,
                "null",
                f"row {i}, column {col.name!r}: null, but training data had no nulls here",
            ),
        )
    if col.categories is not None and not col.accepts_unknown:
        known = set(col.categories)
        assert cells is not None
        for i, value in enumerate(cells):
            if is_null[i] or i in skip or i in bad_type:
                continue
            if _plain(value) not in known:
                if found.is_full:
                    found.more += 1
                    continue
                found.add(
                    Problem(
                        i,
                        col.name,
                        "unknown_category",
                        f"row {i}, column {col.name!r}: {_short(value)} was never seen in "
                        f"training ({_preview(col.categories)})",
                    )
                )


def _infinite(row: int, column: str) -> Problem:
    return Problem(row, column, "not_finite", f"row {row}, column {column!r}: infinite")


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
    found = find_problems(signature, data, MAX_PROBLEMS)
    if found:
        raise input_error(found)
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


def describe_problems(problems: Sequence[Problem], unlisted: int = 0) -> str:
    """The error message: how many problems (``unlisted`` of them not in ``problems``),
    the first few."""
    total = len(problems) + unlisted
    shown = "; ".join(p.message for p in problems[:SHOWN_IN_MESSAGE])
    more = total - min(len(problems), SHOWN_IN_MESSAGE)
    tail = f"; and {more} more" if more > 0 else ""
    count = "1 problem" if total == 1 else f"{total} problems"
    return f"input does not match the model's signature ({count}): {shown}{tail}"


def input_error(problems: ProblemList | Sequence[Problem]) -> InvalidInputError:
    """InvalidInputError listing the first ``MAX_PROBLEMS`` problems and counting the rest."""
    if isinstance(problems, ProblemList):
        listed, more = problems.items, problems.more
    else:
        listed, more = list(problems[:MAX_PROBLEMS]), max(0, len(problems) - MAX_PROBLEMS)
    return InvalidInputError(describe_problems(listed, more), listed, more=more)


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
