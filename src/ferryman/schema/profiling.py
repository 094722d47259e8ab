"""Profile training data per column, and draw the reference sample kept with a version."""

from __future__ import annotations

from dataclasses import replace
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
    frame = frame.set_axis([str(c) for c in frame.columns], axis=1)
    kinds = {name: column_kind(frame[name]) for name in frame.columns}
    nulls = frame.isna().sum()
    numeric = _numeric_block([n for n, k in kinds.items() if k in ("integer", "float")], frame)
    columns = {}
    for name, kind in kinds.items():
        base = ColumnProfile(name=name, kind=kind, count=len(frame), nulls=int(nulls[name]))
        if name in numeric:
            columns[name] = replace(base, numeric=numeric[name])
        else:
            columns[name] = profile_column(frame[name], kind)
    return DataProfile(rows=len(frame), columns=columns, target=target)


def _numeric_block(names: list[str], frame: pd.DataFrame) -> dict[str, NumericSummary]:
    """Summaries of the numeric columns without nulls or infinities, in one NumPy pass."""
    if not names:
        return {}
    values = frame[names].to_numpy(dtype="float64")
    clean = np.isfinite(values).all(axis=0)
    if len(values) == 0 or not clean.any():
        return {}
    kept = [n for n, ok in zip(names, clean, strict=True) if ok]
    block = values[:, clean]
    qs = np.quantile(block, QUANTILES, axis=0)
    deciles = np.quantile(block, np.linspace(0.0, 1.0, HISTOGRAM_BINS + 1), axis=0)
    means = block.mean(axis=0)
    stds = block.std(axis=0, ddof=1) if len(block) > 1 else np.zeros(len(kept))
    out = {}
    for i, name in enumerate(kept):
        edges, counts = _histogram(block[:, i], deciles[:, i])
        out[name] = NumericSummary(
            mean=float(means[i]),
            std=float(stds[i]),
            minimum=float(qs[0, i]),
            maximum=float(qs[-1, i]),
            quantiles={f"{q:g}": float(v) for q, v in zip(QUANTILES, qs[:, i], strict=True)},
            bin_edges=edges,
            bin_counts=counts,
        )
    return out


def _histogram(values: np.ndarray, deciles: np.ndarray) -> tuple[list[float], list[int]]:
    edges = np.unique(deciles)
    if edges.size == 1:
        return [float(edges[0]), float(edges[0])], [int(values.size)]
    counts = np.histogram(values, bins=edges)[0]
    return [float(e) for e in edges], counts.astype(int).tolist()


def profile_column(series: pd.Series, kind: str | None = None) -> ColumnProfile:
    """Profile one column (its kind is worked out when not given)."""
    kind = kind or column_kind(series)
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
        stamps = series.dropna()
        if stamps.dt.tz is not None:
            stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
        # whatever the unit (pandas 3 defaults to microseconds), count seconds since 1970
        values = stamps.astype("datetime64[ns]").astype("int64").to_numpy(dtype="float64") / 1e9
    else:
        values = series.to_numpy(dtype="float64", na_value=np.nan)
        values = values[np.isfinite(values)]
    if values.size == 0:
        return NumericSummary(None, None, None, None, {}, [], [])
    qs = np.quantile(values, QUANTILES)
    edges, counts = _histogram(values, np.quantile(values, np.linspace(0, 1, HISTOGRAM_BINS + 1)))
    return NumericSummary(
        mean=float(values.mean()),
        std=float(values.std(ddof=1)) if values.size > 1 else 0.0,
        minimum=float(values.min()),
        maximum=float(values.max()),
        quantiles={f"{q:g}": float(v) for q, v in zip(QUANTILES, qs, strict=True)},
        bin_edges=edges,
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
