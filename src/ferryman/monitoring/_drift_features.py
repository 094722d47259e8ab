"""Per-feature drift statistics of one live window, before the decision."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ferryman.monitoring._drift_reference import (
    CategoricalReference,
    NumericReference,
    categorical_counts,
    numeric_values,
)
from ferryman.monitoring._drift_stats import (
    FloatArray,
    chi2_homogeneity,
    jensen_shannon_distance,
    ks_and_wasserstein,
    ks_pvalue,
    population_stability_index,
)


@dataclass(frozen=True, slots=True)
class Measured:
    """Statistics of one feature before the multiple-testing correction."""

    feature: str
    kind: str
    live_rows: int
    live_nulls: int
    p_value: float
    effects: tuple[tuple[str, float], ...]
    fields: dict[str, Any]


def _live_skip(values: int, nulls: int, min_rows: int) -> str | None:
    if values == 0:
        return f"all {nulls:,} live values are null; see data quality for the null rate"
    if values < min_rows:
        return (
            f"only {values:,} non-null live values, fewer than min_rows={min_rows:,}; "
            "use a longer window or lower min_rows"
        )
    return None


def measure_numeric(
    name: str, ref: NumericReference, live: pd.DataFrame, min_rows: int
) -> Measured | str:
    if name not in live.columns:
        return "missing from the live data"
    if ref.sorted_values.size == 0:
        return "the reference sample has no non-null values"
    values = numeric_values(live[name])
    if values is None:
        return f"live values of type {live[name].dtype} are not numbers"
    values.sort()
    finite = int(np.count_nonzero(~np.isnan(values)))
    nulls = values.size - finite
    reason = _live_skip(finite, nulls, min_rows)
    if reason is not None:
        return reason
    live_sorted = values[:finite]
    raw_d, distance = ks_and_wasserstein(ref.sorted_values, live_sorted)
    statistic, p_value = ks_pvalue(raw_d, ref.sorted_values, live_sorted)
    below = np.searchsorted(live_sorted, ref.inner_edges, side="left")
    live_counts = np.diff(np.concatenate(([0], below, [finite]))).astype(np.float64)
    live_shares = live_counts / finite
    psi = population_stability_index(ref.shares, live_shares)
    wasserstein = distance / ref.scale
    return Measured(
        feature=name,
        kind="numeric",
        live_rows=finite,
        live_nulls=nulls,
        p_value=p_value,
        effects=(("psi", psi), ("wasserstein", wasserstein)),
        fields={
            "reference_rows": int(ref.sorted_values.size),
            "psi": psi,
            "ks_statistic": statistic,
            "ks_pvalue": p_value,
            "wasserstein": wasserstein,
            "bins": ref.labels,
            "reference_shares": _rounded(ref.shares),
            "live_shares": _rounded(live_shares),
        },
    )


def measure_categorical(
    name: str, ref: CategoricalReference, live: pd.DataFrame, min_rows: int
) -> Measured | str:
    if name not in live.columns:
        return "missing from the live data"
    if ref.total == 0:
        return "the reference sample has no non-null values"
    counts = categorical_counts(live[name])
    total = int(counts.sum())
    nulls = len(live) - total
    reason = _live_skip(total, nulls, min_rows)
    if reason is not None:
        return reason
    aligned = counts.reindex(ref.categories, fill_value=0).to_numpy(dtype=np.float64)
    unseen = float(total - aligned.sum())
    live_counts = np.append(aligned, unseen)
    ref_counts = np.append(ref.counts, 0.0)
    chi2, p_value = chi2_homogeneity(ref_counts, live_counts)
    psi = population_stability_index(ref_counts, live_counts)
    js = jensen_shannon_distance(ref_counts, live_counts)
    labels, ref_shares, live_shares = _top_buckets(ref.categories, ref_counts, live_counts)
    return Measured(
        feature=name,
        kind="categorical",
        live_rows=total,
        live_nulls=nulls,
        p_value=p_value,
        effects=(("psi", psi), ("jensen_shannon", js)),
        fields={
            "reference_rows": ref.total,
            "psi": psi,
            "chi2_statistic": chi2,
            "chi2_pvalue": p_value,
            "jensen_shannon": js,
            "unseen_share": unseen / total,
            "bins": labels,
            "reference_shares": ref_shares,
            "live_shares": live_shares,
        },
    )


_PLOT_BUCKETS = 20


def _top_buckets(
    categories: list[str], ref_counts: FloatArray, live_counts: FloatArray
) -> tuple[list[str], list[float], list[float]]:
    """At most 20 categories for plots (the largest on either side), the rest summed."""
    ref = ref_counts / ref_counts.sum()
    cur = live_counts / live_counts.sum()
    labels = [*categories, "(unseen)"]
    if len(labels) <= _PLOT_BUCKETS:
        return labels, _rounded(ref), _rounded(cur)
    keep = np.sort(np.argsort(-np.maximum(ref[:-1], cur[:-1]), kind="stable")[: _PLOT_BUCKETS - 2])
    rest = np.ones(len(categories), dtype=bool)
    rest[keep] = False
    return (
        [*(labels[i] for i in keep), "(other)", "(unseen)"],
        _rounded(np.concatenate((ref[keep], [ref[:-1][rest].sum(), ref[-1]]))),
        _rounded(np.concatenate((cur[keep], [cur[:-1][rest].sum(), cur[-1]]))),
    )


def _rounded(values: FloatArray) -> list[float]:
    return [round(float(v), 6) for v in values]
