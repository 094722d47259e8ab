"""The statistics behind drift detection: pure functions of arrays, no pandas, no thresholds."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from scipy import special, stats

from ferryman.errors import InvalidArgumentError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

PSI_FLOOR = 1e-4
"""Shares below this are raised to it before PSI is computed, so an empty bin costs a large but
finite amount instead of infinity."""

KS_EXACT_MAX_N = 10_000
"""scipy's ``ks_2samp(method='auto')`` computes the exact p-value when both samples have at most
this many values, and Smirnov's asymptotic one otherwise."""

KS_EXACT_SKIP_BELOW = 1e-30
"""In scipy's exact regime, an asymptotic p-value below this is kept instead of the exact one:
the exact path costs up to 0.2 s a feature there, and the two differ by less than 1e-29
(measured: the exact value is at most about 4 times the asymptotic one when both samples have
at least ``KS_SKIP_MIN_N`` values)."""

KS_SKIP_MIN_N = 1_000

CORRECTIONS = ("holm", "bonferroni", "none")

MIN_EXPECTED = 5.0
"""Cells of a 2 x k table are pooled until each one's expected count in *both* rows (reference
and live) is at least this, the textbook condition for the chi-squared approximation."""


def population_stability_index(
    reference: Sequence[float] | FloatArray,
    live: Sequence[float] | FloatArray,
    *,
    floor: float = PSI_FLOOR,
) -> float:
    """Population Stability Index between two binned distributions.

    Parameters
    ----------
    reference, live : array-like
        Shares (or counts) of each bin, in the same bin order; each is divided by its sum.
    floor : float
        Shares below ``floor`` are raised to it (no renormalisation), so empty bins count as
        rare rather than impossible and PSI stays finite.

    Returns
    -------
    float
        ``sum((live_i - ref_i) * ln(live_i / ref_i))``: 0 for identical distributions;
        below 0.1 is usually read as stable, 0.1-0.25 as a moderate shift, above 0.25 as large.
    """
    ref = _shares(reference)
    cur = _shares(live)
    if ref.shape != cur.shape:
        raise InvalidArgumentError(
            f"PSI needs the same bins on both sides; got {ref.size} reference and {cur.size} "
            "live bins"
        )
    ref = np.maximum(ref, floor)
    cur = np.maximum(cur, floor)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def jensen_shannon_distance(
    reference: Sequence[float] | FloatArray, live: Sequence[float] | FloatArray
) -> float:
    """Jensen-Shannon distance (natural log, range 0 to sqrt(ln 2) ~ 0.833).

    Equals ``scipy.spatial.distance.jensenshannon(reference, live)``: both inputs are divided
    by their sums; empty bins need no smoothing.
    """
    p = _shares(reference)
    q = _shares(live)
    m = (p + q) / 2.0
    divergence = (special.rel_entr(p, m).sum() + special.rel_entr(q, m).sum()) / 2.0
    return float(math.sqrt(max(float(divergence), 0.0)))


def chi2_homogeneity(
    reference_counts: Sequence[float] | FloatArray,
    live_counts: Sequence[float] | FloatArray,
    *,
    ordered: bool = False,
    min_expected: float = MIN_EXPECTED,
) -> tuple[float, float]:
    """Chi-squared test that two samples come from one categorical distribution.

    A test of homogeneity on the 2 x k table of counts (``scipy.stats.chi2_contingency`` with
    ``correction=False``: Yates's correction makes two-cell tables conservative, 3.4-4.8%
    false alarms at alpha 0.05), not a goodness-of-fit test against the reference shares:
    the reference is a sample too. Sparse categories are pooled first
    (``pool_sparse_cells``), so that every cell expects at least ``min_expected`` counts in each
    row and the p-value is valid whatever the number of categories; ``min_expected=0`` tests
    the table as given. Categories empty on both sides are dropped.

    Returns
    -------
    (statistic, p_value)
        ``(0.0, 1.0)`` when fewer than two cells are left.
    """
    _, ref, live = pool_sparse_cells(
        reference_counts, live_counts, ordered=ordered, min_expected=min_expected
    )
    table = np.vstack([ref, live])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        return 0.0, 1.0
    return _pearson_chi2(table)


def _pearson_chi2(table: FloatArray) -> tuple[float, float]:
    """``scipy.stats.chi2_contingency(table, correction=False)`` for a 2 x k table without
    empty margins, computed directly (scipy's wrapper costs 2 ms a call)."""
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    dof = table.shape[1] - 1
    statistic = float(np.sum((table - expected) ** 2 / expected))
    return statistic, float(special.chdtrc(dof, statistic))


def pool_sparse_cells(
    reference_counts: Sequence[float] | FloatArray,
    live_counts: Sequence[float] | FloatArray,
    *,
    ordered: bool = False,
    min_expected: float = MIN_EXPECTED,
) -> tuple[IntArray, FloatArray, FloatArray]:
    """Pool the categories of a 2 x k table until each cell expects ``min_expected`` per row.

    A cell's expected count in the smaller row is ``combined * smaller / total``; it must be at
    least ``min_expected``, so a cell needs ``combined >= min_expected * total / smaller``.
    The pooling looks only at the combined counts (reference + live) of each category: under
    the null hypothesis these are what the test conditions on (the two samples are exchangeable
    given them), so pooling by them leaves the test valid, unlike pooling by either row alone.

    * unordered (categories): every category below the need goes into one pool, with the next
      smallest categories added while the pool itself is below it;
    * ``ordered`` (the distinct values of a discrete number, ascending): neighbouring values are
      merged from the lowest up, each cell closed once it has enough; a remainder at the top
      joins the last cell.

    Returns
    -------
    (cells, reference, live)
        ``cells[i]`` is the cell of category ``i`` (-1 when it is empty on both sides), and the
        reference and live counts of each cell, ``0 .. cells.max()``.
    """
    ref = _counts(reference_counts)
    live = _counts(live_counts)
    if ref.shape != live.shape:
        raise InvalidArgumentError(
            f"a 2 x k table needs the same categories in both rows; got {ref.size} reference "
            f"and {live.size} live counts"
        )
    combined = ref + live
    smaller = min(float(ref.sum()), float(live.sum()))
    need = min_expected * float(combined.sum()) / smaller if smaller > 0 else 0.0
    if combined.size == 0:
        cells = np.zeros(0, dtype=np.intp)
    elif ordered:
        cells = _ordered_cells(combined, need)
    else:
        cells = _unordered_cells(combined, need)
    cells[combined == 0] = -1
    used = np.unique(cells[cells >= 0])
    cells = np.where(cells >= 0, np.searchsorted(used, cells), -1).astype(np.intp)
    k = used.size
    kept = cells >= 0
    return (
        cells,
        np.bincount(cells[kept], weights=ref[kept], minlength=k).astype(np.float64),
        np.bincount(cells[kept], weights=live[kept], minlength=k).astype(np.float64),
    )


def _unordered_cells(combined: FloatArray, need: float) -> IntArray:
    """Cell 0 is the pool (possibly empty); the other categories keep a cell each."""
    k = combined.size
    order = np.argsort(combined, kind="stable")
    running = np.cumsum(combined[order])
    pooled = int(np.searchsorted(combined[order], need, side="left"))
    if 0 < pooled < k and 0 < running[pooled - 1] < need:
        # the pool is itself sparse: take in the next smallest categories until it is not
        pooled = min(int(np.searchsorted(running, need, side="left")) + 1, k)
    cells = np.empty(k, dtype=np.intp)
    cells[order[:pooled]] = 0
    cells[order[pooled:]] = np.arange(1, k - pooled + 1)
    return cells


def _ordered_cells(combined: FloatArray, need: float) -> IntArray:
    """Runs of neighbouring values, each with a combined count of at least ``need``."""
    k = combined.size
    running = np.cumsum(combined)
    ends: list[int] = []
    reached = 0.0
    while True:
        end = int(np.searchsorted(running, reached + need, side="left"))
        if ends:
            end = max(end, ends[-1] + 1)
        if end >= k:
            break
        ends.append(end)
        reached = float(running[end])
    if not ends:
        ends = [k - 1]
    ends[-1] = k - 1  # a sparse remainder at the top joins the last cell
    return np.searchsorted(np.asarray(ends), np.arange(k), side="left").astype(np.intp)


def adjust_pvalues(p_values: Sequence[float] | FloatArray, correction: str) -> FloatArray:
    """p-values corrected for testing several features at once.

    ``holm`` (Holm-Bonferroni step-down, controls the family-wise error rate, never less
    powerful than Bonferroni), ``bonferroni`` (``min(1, m * p)``) or ``none``.
    """
    p = np.asarray(p_values, dtype=np.float64)
    m = p.size
    if correction == "none" or m == 0:
        return p.copy()
    if correction == "bonferroni":
        return np.minimum(p * m, 1.0)
    if correction == "holm":
        order = np.argsort(p, kind="stable")
        scaled = p[order] * (m - np.arange(m))
        stepped = np.minimum(np.maximum.accumulate(scaled), 1.0)
        out = np.empty(m)
        out[order] = stepped
        return out
    raise InvalidArgumentError(
        f"unknown multiple-testing correction {correction!r}; choose one of "
        f"{', '.join(CORRECTIONS)}"
    )


def ks_and_wasserstein(ref_sorted: FloatArray, live_sorted: FloatArray) -> tuple[float, float]:
    """Two-sample KS statistic and Wasserstein-1 distance of two sorted, finite samples.

    One merge of the two samples gives both: the gap between the empirical CDFs at every point
    (its largest absolute value is KS's D, evaluated at the last of each run of equal values) and
    its integral over the line (the Wasserstein distance, as ``scipy.stats.wasserstein_distance``).
    """
    n1, n2 = ref_sorted.size, live_sorted.size
    total = n1 + n2
    # reference values go before equal live values; inside a run of ties the order does not matter
    at = np.arange(n1) + np.searchsorted(live_sorted, ref_sorted, side="left")
    is_ref = np.zeros(total, dtype=bool)
    is_ref[at] = True
    merged = np.empty(total)
    merged[at] = ref_sorted
    merged[~is_ref] = live_sorted
    ref_below = np.cumsum(is_ref)
    gap = np.abs(ref_below / n1 - (np.arange(1, total + 1) - ref_below) / n2)
    steps = np.diff(merged)
    run_ends = np.append(steps != 0, True)
    statistic = float(gap[run_ends].max())
    distance = float(np.sum(gap[:-1] * steps))
    return statistic, distance


def ks_pvalue(
    statistic: float, ref_sorted: FloatArray, live_sorted: FloatArray
) -> tuple[float, float]:
    """Two-sided KS p-value exactly as ``scipy.stats.ks_2samp(ref, live)`` (method 'auto').

    scipy is exact when both samples have at most 10,000 values and asymptotic otherwise; the
    asymptotic case is computed here directly, the exact one by scipy itself, except when the
    asymptotic p-value is already below 1e-30 with both samples of 1,000 values or more (see
    ``KS_EXACT_SKIP_BELOW``).

    Returns
    -------
    (statistic, p_value)
        The statistic as scipy reports it (rounded to its lattice in the exact case).
    """
    n1, n2 = ref_sorted.size, live_sorted.size
    if statistic == 0.0:
        return 0.0, 1.0
    if max(n1, n2) > KS_EXACT_MAX_N:
        return statistic, float(ks_asymptotic_pvalue(np.array([statistic]), n1, n2)[0])
    if min(n1, n2) >= KS_SKIP_MIN_N:
        asymptotic = float(ks_asymptotic_pvalue(np.array([statistic]), n1, n2)[0])
        if asymptotic < KS_EXACT_SKIP_BELOW:
            return statistic, asymptotic
    with warnings.catch_warnings():
        # when scipy's exact path overflows it warns and falls back to the asymptotic one
        warnings.simplefilter("ignore", RuntimeWarning)
        result = stats.ks_2samp(ref_sorted, live_sorted)
    return float(result.statistic), float(result.pvalue)


def ks_asymptotic_pvalue(statistics: FloatArray, n1: int, n2: int) -> FloatArray:
    """Smirnov's two-sided p-value as scipy computes it for large samples (vectorised)."""
    effective = np.round(n1 * n2 / (n1 + n2))
    return np.asarray(np.clip(stats.kstwo.sf(statistics, effective), 0.0, 1.0), dtype=np.float64)


def _shares(values: Sequence[float] | FloatArray) -> FloatArray:
    arr = _counts(values)
    total = arr.sum()
    if total <= 0:
        raise InvalidArgumentError("a distribution needs a positive total; got all zeros")
    return arr / total


def _counts(values: Sequence[float] | FloatArray) -> FloatArray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1 or not np.isfinite(arr).all() or (arr < 0).any():
        raise InvalidArgumentError(
            "bin shares or counts must be a flat list of finite, non-negative numbers"
        )
    return arr
