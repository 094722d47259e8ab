"""What a drift detector learns from the reference: per-column values, bins and counts."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from ferryman.core.profile import CategoricalSummary, NumericSummary
from ferryman.monitoring.drift.stats import FloatArray

SAMPLE_BINS = 10
"""PSI bins of a numeric column without a profile: the deciles of the reference sample, as the
training profile's histogram (``ferryman.schema.profiling``) uses."""

DISCRETE_MAX_VALUES = 30
"""A numeric column whose reference sample has at most this many distinct values, some of them
repeated, is discrete: it is tested with chi-squared on its value counts, not with KS (whose
p-value assumes no ties and is far too conservative on counts and codes)."""


@dataclass(frozen=True, slots=True)
class NumericReference:
    """A numeric feature's reference: sorted finite values, PSI bins and their shares.

    Bin ``j`` holds ``inner_edges[j-1] <= x < inner_edges[j]``; the outer bins reach to
    -inf and +inf, so live values beyond the training range land in the end bins.
    ``distinct`` and ``distinct_counts`` are the distinct values (ascending) and their counts
    when there are at most ``DISCRETE_MAX_VALUES`` of them, else None.
    """

    sorted_values: FloatArray
    inner_edges: FloatArray
    shares: FloatArray
    labels: list[str]
    scale: float
    distinct: FloatArray | None = None
    distinct_counts: FloatArray | None = None


@dataclass(frozen=True, slots=True)
class CategoricalReference:
    """A categorical feature's reference: the categories seen and their counts in the sample."""

    categories: list[str]
    counts: FloatArray
    total: int
    lookup: pd.Index


def numeric_values(series: pd.Series) -> FloatArray | None:
    """A fresh float64 copy of a column, NaN for nulls and non-finite values; None if not numeric.

    Datetimes become seconds since 1970 (UTC), as in the training profile.
    """
    dtype = series.dtype
    if ptypes.is_datetime64_any_dtype(dtype):
        stamps = series
        if getattr(stamps.dt, "tz", None) is not None:
            stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
        as_ns = stamps.astype("datetime64[ns]")
        nulls = as_ns.isna().to_numpy()
        values = as_ns.astype("int64").to_numpy(dtype=np.float64) / 1e9
        values[nulls] = np.nan
        return values
    if not (ptypes.is_numeric_dtype(dtype) or ptypes.is_bool_dtype(dtype)):
        return None
    values = np.array(series.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)
    values[~np.isfinite(values)] = np.nan
    return values


def categorical_counts(series: pd.Series) -> pd.Series:
    """Non-null value counts keyed by the value as text (as the training profile keys them)."""
    counts = series.value_counts(dropna=True, sort=False)
    if (counts.to_numpy() == 0).any():  # the unused categories of a pandas Categorical
        counts = counts[counts.to_numpy() > 0]
    if not (ptypes.is_string_dtype(counts.index.dtype) and counts.index.is_unique):
        counts = counts.groupby(counts.index.astype(str), sort=False).sum()
    return counts


def build_numeric(values: FloatArray, summary: NumericSummary | None) -> NumericReference:
    """Sort the reference values and fix the PSI bins: the profile's when given, else deciles."""
    finite = np.sort(values[~np.isnan(values)])
    if summary is not None and len(summary.bin_edges) >= 2 and sum(summary.bin_counts) > 0:
        edges = np.asarray(summary.bin_edges, dtype=np.float64)
        counts = np.asarray(summary.bin_counts, dtype=np.float64)
    elif finite.size:
        edges = np.unique(np.quantile(finite, np.linspace(0.0, 1.0, SAMPLE_BINS + 1)))
        if edges.size == 1:
            edges = np.array([edges[0], edges[0]])
            counts = np.array([float(finite.size)])
        else:
            counts = np.histogram(finite, bins=edges)[0].astype(np.float64)
    else:
        return NumericReference(finite, np.array([]), np.array([1.0]), ["all"], 1.0, None, None)
    if edges[0] == edges[-1]:
        # a constant column: below, at, and above its one value
        value = float(edges[0])
        inner = np.array([value, np.nextafter(value, np.inf)])
        counts = np.array([0.0, counts.sum(), 0.0])
        labels = [f"< {value:.4g}", f"= {value:.4g}", f"> {value:.4g}"]
    else:
        inner = edges[1:-1]
        bounds = ["-inf", *(f"{e:.4g}" for e in inner), "inf"]
        labels = [f"[{a}, {b})" for a, b in pairwise(bounds)]
    distinct, distinct_counts = distinct_values(finite)
    # a handful of distinct values, with ties: without any, KS's p-value is the right one
    is_discrete = distinct.size <= DISCRETE_MAX_VALUES and distinct.size < finite.size
    return NumericReference(
        sorted_values=finite,
        inner_edges=inner,
        shares=counts / counts.sum(),
        labels=labels,
        scale=_scale(finite),
        distinct=distinct if is_discrete else None,
        distinct_counts=distinct_counts if is_discrete else None,
    )


def distinct_values(sorted_values: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The distinct values of a sorted array and how often each occurs."""
    if sorted_values.size == 0:
        return sorted_values, np.zeros(0)
    starts = np.flatnonzero(sorted_values[1:] != sorted_values[:-1]) + 1
    bounds = np.concatenate(([0], starts, [sorted_values.size]))
    return sorted_values[bounds[:-1]], np.diff(bounds).astype(np.float64)


def _scale(finite: FloatArray) -> float:
    """The reference std, or for a constant column its absolute value (1 when that is 0)."""
    if finite.size >= 2:
        std = float(np.std(finite, ddof=1))
        if std > 0:
            return std
    if finite.size and finite[0] != 0:
        return abs(float(finite[0]))
    return 1.0


def build_categorical(
    counts: pd.Series, summary: CategoricalSummary | None
) -> CategoricalReference:
    """Categories and counts of the sample; the profile's top categories count as seen too."""
    categories = [str(c) for c in counts.index]
    values = [float(v) for v in counts.to_numpy()]
    if summary is not None:
        known = set(categories)
        extra = [c for c in summary.frequencies if c not in known]
        categories.extend(extra)
        values.extend(0.0 for _ in extra)
    return CategoricalReference(
        categories=categories,
        counts=np.asarray(values, dtype=np.float64),
        total=int(sum(values)),
        lookup=pd.Index(categories, dtype=object),
    )
