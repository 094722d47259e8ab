"""Per-feature drift statistics of one live window, before the decision."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from ferryman.monitoring.drift.reference import (
    CategoricalReference,
    NumericReference,
    categorical_counts,
    distinct_values,
    numeric_values,
)
from ferryman.monitoring.drift.stats import (
    FloatArray,
    chi2_homogeneity,
    jensen_shannon_distance,
    ks_and_wasserstein,
    ks_pvalue,
    pool_sparse_cells,
    population_stability_index,
)


@dataclass(frozen=True, slots=True)
class Measured:
    """Statistics of one feature before the multiple-testing correction.

    ``test`` names the test behind ``p_value``: ``"KS"``, or ``"chi-squared"`` for categorical
    and discrete numeric features.
    """

    feature: str
    kind: str
    test: str
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
    if ref.distinct is not None and ref.distinct_counts is not None:
        test = "chi-squared"
        statistic, ks_p = raw_d, None
        chi2, p_value = _discrete_chi2(ref.distinct, ref.distinct_counts, live_sorted)
    else:
        test = "KS"
        statistic, p_value = ks_pvalue(raw_d, ref.sorted_values, live_sorted)
        chi2, ks_p = None, p_value
    below = np.searchsorted(live_sorted, ref.inner_edges, side="left")
    live_counts = np.diff(np.concatenate(([0], below, [finite]))).astype(np.float64)
    live_shares = live_counts / finite
    psi = population_stability_index(ref.shares, live_shares)
    wasserstein = distance / ref.scale
    return Measured(
        feature=name,
        kind="numeric",
        test=test,
        live_rows=finite,
        live_nulls=nulls,
        p_value=p_value,
        effects=(("psi", psi), ("wasserstein", wasserstein)),
        fields={
            "reference_rows": int(ref.sorted_values.size),
            "psi": psi,
            "ks_statistic": statistic,
            "ks_pvalue": ks_p,
            "chi2_statistic": chi2,
            "chi2_pvalue": None if chi2 is None else p_value,
            "wasserstein": wasserstein,
            "bins": ref.labels,
            "reference_shares": _rounded(ref.shares),
            "live_shares": _rounded(live_shares),
        },
    )


def _discrete_chi2(
    ref_values: FloatArray, ref_counts: FloatArray, live_sorted: FloatArray
) -> tuple[float, float]:
    """Chi-squared on the counts of each distinct value, neighbouring sparse values merged."""
    live_values, live_counts = distinct_values(live_sorted)
    values = np.union1d(ref_values, live_values)
    ref_table = np.zeros(values.size)
    ref_table[np.searchsorted(values, ref_values)] = ref_counts
    live_table = np.zeros(values.size)
    live_table[np.searchsorted(values, live_values)] = live_counts
    return chi2_homogeneity(ref_table, live_table, ordered=True)


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
    # every category is a column of its own, unseen ones too: pooling sparse columns by their
    # combined counts then puts rare new categories with the reference's rare ones
    where = ref.lookup.get_indexer(counts.index)
    live_counts = counts.to_numpy(dtype=np.float64)
    seen = where >= 0
    unseen_labels = [str(c) for c in counts.index[~seen]]
    ref_table = np.concatenate((ref.counts, np.zeros(len(unseen_labels))))
    live_table = np.zeros(ref_table.size)
    live_table[where[seen]] = live_counts[seen]
    live_table[ref.counts.size :] = live_counts[~seen]
    unseen = float(live_counts[~seen].sum())
    cells, ref_cells, live_cells = pool_sparse_cells(ref_table, live_table)
    chi2, p_value = chi2_homogeneity(ref_cells, live_cells)
    psi = population_stability_index(ref_cells, live_cells)
    js = jensen_shannon_distance(ref_cells, live_cells)
    labels = _cell_labels([*ref.categories, *unseen_labels], cells, ref_cells.size)
    labels, ref_shares, live_shares = _top_buckets(labels, ref_cells, live_cells)
    return Measured(
        feature=name,
        kind="categorical",
        test="chi-squared",
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
_OTHER = "(other)"


def _cell_labels(categories: list[str], cells: npt.NDArray[np.intp], k: int) -> list[str]:
    """A cell holding one category is named after it; a pool of several is ``(other)``."""
    members = np.bincount(cells[cells >= 0], minlength=k)
    alone = (cells >= 0) & (members[np.maximum(cells, 0)] == 1)
    labels = np.full(k, _OTHER, dtype=object)
    labels[cells[alone]] = np.asarray(categories, dtype=object)[alone]
    return [str(label) for label in labels]


def _top_buckets(
    labels: list[str], ref_counts: FloatArray, live_counts: FloatArray
) -> tuple[list[str], list[float], list[float]]:
    """The test's cells for plots, largest first: at most 20, the smallest summed in (other)."""
    ref = ref_counts / ref_counts.sum()
    cur = live_counts / live_counts.sum()
    is_other = np.array([label == _OTHER for label in labels], dtype=bool)
    order = np.lexsort((-np.maximum(ref, cur), is_other))
    named = [i for i in order.tolist() if not is_other[i]]
    keep = (
        named if len(named) + int(is_other.any()) <= _PLOT_BUCKETS else named[: _PLOT_BUCKETS - 1]
    )
    rest = np.ones(len(labels), dtype=bool)
    rest[keep] = False
    out_labels = [labels[i] for i in keep]
    out_ref, out_cur = list(ref[keep]), list(cur[keep])
    if rest.any():
        out_labels.append(_OTHER)
        out_ref.append(float(ref[rest].sum()))
        out_cur.append(float(cur[rest].sum()))
    return out_labels, _rounded(np.asarray(out_ref)), _rounded(np.asarray(out_cur))


def _rounded(values: FloatArray) -> list[float]:
    return [round(float(v), 6) for v in values]
