"""Profile training data per column, and draw the reference sample kept with a version."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ferryman.core.profile import (
    CategoricalSummary,
    ColumnProfile,
    DataProfile,
    NumericSummary,
)
from ferryman.schema.inference import column_kind

QUANTILES = (0.0, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1.0)
HISTOGRAM_BINS = 10
TOP_CATEGORIES = 100


def profile_frame(frame: pd.DataFrame, target: str | None = None) -> DataProfile:
    """Counts, nulls, quantiles and a quantile-binned histogram for numeric columns; value
    frequencies for categorical ones."""
    columns = {str(name): profile_column(frame[name].rename(str(name))) for name in frame.columns}
    return DataProfile(rows=len(frame), columns=columns, target=target)


def profile_column(series: pd.Series) -> ColumnProfile:
    kind = column_kind(series)
    nulls = int(series.isna().sum())
    base: dict[str, Any] = {
        "name": str(series.name),
        "kind": kind,
        "count": len(series),
        "nulls": nulls,
    }
    if kind in ("integer", "float", "datetime"):
        return ColumnProfile(**base, numeric=_numeric(series, kind))
    return ColumnProfile(**base, categorical=_categorical(series))


def _numeric(series: pd.Series, kind: str) -> NumericSummary:
    if kind == "datetime":
        values = series.dropna().astype("int64").to_numpy(dtype="float64") / 1e9
    else:
        values = series.to_numpy(dtype="float64", na_value=np.nan)
        values = values[np.isfinite(values)]
    if values.size == 0:
        return NumericSummary(None, None, None, None, {}, [], [])
    qs = np.quantile(values, QUANTILES)
    edges = np.unique(np.quantile(values, np.linspace(0.0, 1.0, HISTOGRAM_BINS + 1)))
    if edges.size == 1:
        counts = [int(values.size)]
        edges = np.array([edges[0], edges[0]])
    else:
        counts = np.histogram(values, bins=edges)[0].astype(int).tolist()
    return NumericSummary(
        mean=float(values.mean()),
        std=float(values.std(ddof=1)) if values.size > 1 else 0.0,
        minimum=float(values.min()),
        maximum=float(values.max()),
        quantiles={f"{q:g}": float(v) for q, v in zip(QUANTILES, qs, strict=True)},
        bin_edges=[float(e) for e in edges],
        bin_counts=counts,
    )


def _categorical(series: pd.Series) -> CategoricalSummary:
    counts = series.dropna().astype(str).value_counts()
    top = counts.head(TOP_CATEGORIES)
    return CategoricalSummary(
        frequencies={str(k): int(v) for k, v in top.items()},
        other_count=int(counts.iloc[TOP_CATEGORIES:].sum()),
        distinct=len(counts),
    )


def sample_rows(frame: pd.DataFrame, cap: int, seed: int) -> pd.DataFrame:
    """A uniform random sample of at most ``cap`` rows (all of them when there are fewer)."""
    if len(frame) <= cap:
        return frame.reset_index(drop=True)
    rng = np.random.default_rng(seed)
    picked = np.sort(rng.choice(len(frame), size=cap, replace=False))
    return frame.iloc[picked].reset_index(drop=True)
