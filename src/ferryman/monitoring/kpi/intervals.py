"""95% intervals of live KPIs, computed from the counts and sums the KPI query already has.

- proportions (accuracy; binary precision and recall): the Wilson score interval;
- F1, ROC AUC, log loss, MAE, RMSE, the mean business value, and macro averages over
  classes: a normal approximation (estimate +- z standard errors), clipped to the KPI's range.
  F1's standard error comes from the delta method over the multinomial confusion counts, ROC
  AUC's from Hanley & McNeil (1982), a macro average's from its classes' as if independent,
  RMSE's from the interval of the mean squared error (then the square root).

R² has no interval (its standard error needs the labels' fourth moments). See docs/monitoring.md.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

Z95 = 1.959963984540054  # the standard normal's 97.5% quantile
Interval = tuple[float, float]


def wilson(successes: int, trials: int, z: float = Z95) -> Interval | None:
    """The Wilson score interval of ``successes / trials``; None without trials."""
    if trials <= 0:
        return None
    p = successes / trials
    z2 = z * z
    centre = (p + z2 / (2 * trials)) / (1 + z2 / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / (1 + z2 / trials)
    return max(0.0, centre - half), min(1.0, centre + half)


def normal(
    estimate: float, se: float, low: float = -math.inf, high: float = math.inf
) -> Interval | None:
    """``estimate`` +- z standard errors, clipped to [low, high]; None if not finite."""
    if not (math.isfinite(estimate) and math.isfinite(se)) or se < 0:
        return None
    return max(low, estimate - Z95 * se), min(high, estimate + Z95 * se)


def f1_se(tp: int, fp: int, fn: int, total: int) -> float:
    """Delta-method standard error of F1 = 2tp / (2tp + fp + fn) over multinomial counts."""
    if total <= 0 or 2 * tp + fp + fn == 0:
        return 0.0
    a, b, c = tp / total, fp / total, fn / total
    d = 2 * a + b + c
    grad = (2 * (b + c) / d**2, -2 * a / d**2, -2 * a / d**2)
    shares = (a, b, c)
    var = 0.0
    for i in range(3):
        for j in range(3):
            cov = shares[i] * (1 - shares[i]) if i == j else -shares[i] * shares[j]
            var += grad[i] * grad[j] * cov
    return math.sqrt(max(var, 0.0) / total)


def proportion_se(successes: int, trials: int) -> float:
    """The plug-in standard error of a proportion (0 without trials)."""
    if trials <= 0:
        return 0.0
    p = successes / trials
    return math.sqrt(p * (1 - p) / trials)


def macro_se(ses: Sequence[float]) -> float:
    """The standard error of a mean over classes, each class's estimate taken as independent."""
    return math.sqrt(sum(se * se for se in ses)) / len(ses) if ses else 0.0


def auc_interval(auc: float, positives: int, negatives: int) -> Interval | None:
    """Hanley & McNeil's normal interval of ROC AUC."""
    if positives <= 0 or negatives <= 0:
        return None
    q1 = auc / (2 - auc)
    q2 = 2 * auc * auc / (1 + auc)
    var = (
        auc * (1 - auc) + (positives - 1) * (q1 - auc * auc) + (negatives - 1) * (q2 - auc * auc)
    ) / (positives * negatives)
    return normal(auc, math.sqrt(max(var, 0.0)), 0.0, 1.0)


def mean_interval(total: float, squares: float, n: int, low: float = -math.inf) -> Interval | None:
    """Normal interval of a mean from the sum and the sum of squares of ``n`` values."""
    if n < 2:
        return None
    mean = total / n
    var = max(squares / n - mean * mean, 0.0) * n / (n - 1)
    return normal(mean, math.sqrt(var / n), low)


def rmse_interval(sse: float, fourth: float, n: int) -> Interval | None:
    """RMSE's interval: the square roots of the mean squared error's normal interval."""
    mse = mean_interval(sse, fourth, n, low=0.0)
    return None if mse is None else (math.sqrt(mse[0]), math.sqrt(mse[1]))
