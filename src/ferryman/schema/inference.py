"""Infer a Signature from training data: names, order, kinds, categories, nulls, ranges."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from ferryman.core.signature import ColumnKind, ColumnSpec, Signature
from ferryman.errors import SchemaError, UnsupportedColumnTypeError

# A text column is treated as categorical (unknown values are then refused) when it has few
# distinct values: at most MAX_CATEGORIES, and either at most ALWAYS_CATEGORICAL or at most half
# as many as it has values. Columns of near-unique text (ids) stay plain strings, and so does
# free text, however small the data: values of TEXT_WORDS words or more (or TEXT_CHARS
# characters), typically, that repeat less than TEXT_REPEATS times on average.
MAX_CATEGORIES = 1000
ALWAYS_CATEGORICAL = 20
TEXT_WORDS = 3
TEXT_CHARS = 40
TEXT_REPEATS = 5
TEXT_SAMPLE = 1000  # distinct values looked at to tell free text

# What a column's inferred kind may be overridden with at registration; "text" is "string".
KIND_OVERRIDES = {"text": "string", "string": "string", "category": "category"}


def column_kind(series: pd.Series) -> ColumnKind:
    """The ferryman kind of a column, or UnsupportedColumnTypeError naming it."""
    dtype = series.dtype
    if isinstance(dtype, pd.SparseDtype):
        raise UnsupportedColumnTypeError(
            f"column {series.name!r} is sparse ({dtype}); make it dense before registering"
        )
    if isinstance(dtype, pd.CategoricalDtype):
        return "category"
    if ptypes.is_bool_dtype(dtype):
        return "boolean"
    if ptypes.is_integer_dtype(dtype):
        return "integer"
    if ptypes.is_float_dtype(dtype):
        return "float"
    if ptypes.is_datetime64_any_dtype(dtype):
        return "datetime"
    if ptypes.is_string_dtype(dtype) or ptypes.is_object_dtype(dtype):
        return _object_kind(series)
    raise UnsupportedColumnTypeError(
        f"column {series.name!r} has type {dtype}, which ferryman cannot describe; convert it "
        "to numbers, booleans, text, category or datetime before registering"
    )


def _object_kind(series: pd.Series) -> ColumnKind:
    values = series.dropna()
    kinds = {type(v) for v in values.head(100_000)}
    if not kinds or kinds <= {str}:
        return "string"
    if kinds <= {bool, np.bool_}:
        return "boolean"
    if kinds & {list, tuple, dict, set, np.ndarray}:
        raise UnsupportedColumnTypeError(
            f"column {series.name!r} holds lists, arrays or mappings in its cells; each cell "
            "must hold one value: split it into columns or encode it before registering"
        )
    names = ", ".join(sorted(k.__name__ for k in kinds))
    raise UnsupportedColumnTypeError(
        f"column {series.name!r} holds values of types {names}; a column must hold one kind "
        "of value (numbers, booleans, text, category or datetime): convert it before registering"
    )


def _number(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def infer_column(
    series: pd.Series,
    kind: ColumnKind | None = None,
    nullable: bool | None = None,
    known_range: tuple[float | None, float | None] | None = None,
    as_category: bool | None = None,
) -> ColumnSpec:
    """Describe one column; ``kind``, ``nullable`` and ``known_range`` skip work done already.

    ``as_category`` decides for a text column whether it is categorical (None: inferred).
    """
    kind = kind or column_kind(series)
    if nullable is None:
        nullable = bool(series.isna().any())
    categories: tuple[Any, ...] | None = None
    minimum, maximum = known_range if known_range is not None else (None, None)
    if kind == "category":
        categories = tuple(_plain(v) for v in series.cat.categories)
    elif kind == "string" and as_category is not False:
        distinct = series.dropna().unique()
        count = int(series.notna().sum())
        few = len(distinct) <= MAX_CATEGORIES and (
            len(distinct) <= ALWAYS_CATEGORICAL or len(distinct) * 2 <= count
        )
        if as_category or (few and not looks_like_text(distinct, count)):
            categories = tuple(sorted(str(v) for v in distinct))
    elif kind in ("integer", "float") and known_range is None:
        finite = series[np.isfinite(series.astype("float64"))] if kind == "float" else series
        if finite.notna().any():
            minimum, maximum = _number(finite.min()), _number(finite.max())
    return ColumnSpec(
        name=str(series.name),
        kind=kind,
        dtype=str(series.dtype),
        nullable=nullable,
        categories=categories,
        minimum=minimum,
        maximum=maximum,
    )


def looks_like_text(distinct: np.ndarray, count: int) -> bool:
    """True when a text column's distinct values read as free text rather than labels: they
    are several words long (or long), and most of them are not repeated many times."""
    if len(distinct) == 0 or len(distinct) * TEXT_REPEATS <= count:
        return False
    values = [str(v) for v in distinct[:TEXT_SAMPLE]]
    words = float(np.median([len(v.split()) for v in values]))
    chars = float(np.median([len(v) for v in values]))
    return words >= TEXT_WORDS or (chars >= TEXT_CHARS and words > 1)


def check_kinds(kinds: Mapping[str, str], frame: pd.DataFrame) -> dict[str, bool]:
    """Kind overrides checked against the training data: column -> is categorical."""
    names = [str(c) for c in frame.columns]
    choices = ", ".join(sorted(KIND_OVERRIDES))
    out: dict[str, bool] = {}
    for name, wanted in kinds.items():
        if name not in names:
            raise SchemaError(
                f"a kind is given for column {name!r}, which the training data lacks; its "
                f"columns are {names[:20]}"
            )
        if wanted not in KIND_OVERRIDES:
            raise SchemaError(
                f"the kind given for column {name!r} is {wanted!r}; choose one of {choices}"
            )
        inferred = column_kind(frame[name])
        if inferred == "category" and KIND_OVERRIDES[wanted] == "category":
            continue  # pandas categories are categories already
        if inferred != "string":
            raise SchemaError(
                f"column {name!r} holds {inferred} values; only a column of text can be made "
                f"{wanted} (convert it with astype(str) before fitting to use it as text)"
            )
        category = KIND_OVERRIDES[wanted] == "category"
        distinct = int(frame[name].nunique())
        if category and distinct > MAX_CATEGORIES:
            raise SchemaError(
                f"column {name!r} has {distinct:,} distinct values; a category column has at "
                f"most {MAX_CATEGORIES:,}: leave it as text"
            )
        out[name] = category
    return out


def infer_signature(frame: pd.DataFrame, kinds: Mapping[str, str] | None = None) -> Signature:
    """Describe each column of ``frame``, in order; ``kinds`` overrides inferred kinds of text
    columns: ``"text"`` (never categorical) or ``"category"`` (its values are the categories).
    """
    names = [str(c) for c in frame.columns]
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise SchemaError(f"training data has duplicate column names: {', '.join(dupes)}")
    if not names:
        raise SchemaError("training data has no columns")
    frame = frame.set_axis(names, axis=1)
    categorical = check_kinds(kinds or {}, frame)
    kinds_of = {name: column_kind(frame[name]) for name in names}
    nullable = frame.isna().any()
    numeric = [n for n in names if kinds_of[n] in ("integer", "float")]
    ranges: dict[str, tuple[float | None, float | None]] = {}
    if numeric:
        values = frame[numeric].astype("float64").replace([np.inf, -np.inf], np.nan)
        lows, highs = values.min(), values.max()
        ranges = {n: (_number(lows[n]), _number(highs[n])) for n in numeric}
    return Signature(
        tuple(
            infer_column(
                frame[n], kinds_of[n], bool(nullable[n]), ranges.get(n), categorical.get(n)
            )
            for n in names
        )
    )


def _plain(value: Any) -> Any:
    """A JSON-friendly Python value for a category label."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value
