"""Root cause: which features most likely explain a drift or a KPI drop.

Each feature's drift size (its PSI in the window) is weighted by how much the model relies on
it. Reliance comes from the model itself when it reports one importance per input column
(tree ensembles' ``feature_importances_``, linear models' ``coef_`` over standardised inputs),
and otherwise from permutation on the reference sample: shuffle one column, measure how much
the model's answers move. No labels are needed, so it works before ground truth arrives.

A KPI drop triggers it (beside drift) only when it is clear: at least ``DEFAULT_MIN_LABELS``
labelled answers, and the KPI's whole 95% interval more than ``KPI_DROP`` worse than what the
version scored at registration.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ferryman.config import DEFAULT_MIN_LABELS
from ferryman.monitoring._json import json_safe

if TYPE_CHECKING:  # types only: importing this module loads no SciPy or DuckDB
    from ferryman.monitoring.drift.detector import FeatureDrift
    from ferryman.monitoring.window import VersionKpis

KPI_DROP = 0.05  # how much worse than registered a live KPI must be to call for a root cause
LOWER_IS_BETTER = frozenset({"log_loss", "mae", "rmse"})
PERMUTATION_ROWS = 2_000
PERMUTATION_REPEATS = 3


@dataclass(frozen=True, slots=True)
class Importance:
    """How much the model relies on each input column (shares summing to 1) and how that
    was found: ``model`` (its own importances) or ``permutation``."""

    shares: dict[str, float]
    method: str


@dataclass(frozen=True, slots=True)
class Suspect:
    """One feature in the ranking, with the evidence behind its place."""

    rank: int
    feature: str
    score: float
    drift_size: float
    importance: float
    drifted: bool
    evidence: str


@dataclass(frozen=True, slots=True)
class RootCause:
    """Features ranked by drift size times importance, most responsible first."""

    model: str
    importance_method: str
    suspects: list[Suspect]
    summary: str

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = json_safe(asdict(self), "root cause")
        return data


def estimate_importance(
    native: Any,
    predict: Callable[[pd.DataFrame], np.ndarray],
    reference: pd.DataFrame,
    columns: Sequence[str],
    *,
    rows: int = PERMUTATION_ROWS,
    repeats: int = PERMUTATION_REPEATS,
    seed: int = 0,
) -> Importance:
    """The model's reliance on each of ``columns``.

    ``predict`` maps a frame of ``columns`` to one answer per row, or to a rows x classes array
    of probabilities. The model's own importances are used when it has exactly one per column;
    otherwise each column of (up to ``rows`` of) ``reference`` is shuffled ``repeats`` times and
    the mean change of the answers is its importance.
    """
    own = _own_importance(native, reference, columns)
    if own is not None:
        return Importance(_shares(own, columns), "model")
    frame = reference[list(columns)]
    if len(frame) > rows:
        frame = frame.sample(n=rows, random_state=seed)
    frame = frame.reset_index(drop=True)
    base = np.asarray(predict(frame))
    scale = _scale(base)
    rng = np.random.default_rng(seed)
    raw: dict[str, float] = {}
    for name in columns:
        moved = 0.0
        for _ in range(repeats):
            shuffled = frame.copy()
            shuffled[name] = frame[name].to_numpy()[rng.permutation(len(frame))]
            moved += _change(base, np.asarray(predict(shuffled))) / scale
        raw[name] = moved / repeats
    return Importance(_shares(raw, columns), "permutation")


def rank_causes(
    model: str,
    drift_features: Sequence[FeatureDrift],
    importance: Importance,
    *,
    top: int | None = None,
) -> RootCause:
    """Rank features by drift size (PSI, else normalised Wasserstein or Jensen-Shannon) times
    importance. ``drift_features`` are the drift of each tested feature. Drifted features come
    first; the score orders within each group."""
    suspects: list[tuple[bool, float, Suspect]] = []
    for record in drift_features:
        name = record.feature
        size = _drift_size(record)
        weight = importance.shares.get(name, 0.0)
        drifted = bool(record.drifted)
        evidence = (
            f"drift size {size:.3f} x importance {weight:.3f}"
            f" ({importance.method}); {record.reason or 'no drift test result'}"
        )
        suspect = Suspect(0, name, size * weight, size, weight, drifted, evidence)
        suspects.append((drifted, size * weight, suspect))
    suspects.sort(key=lambda item: (not item[0], -item[1], item[2].feature))
    ranked = [
        Suspect(i + 1, s.feature, s.score, s.drift_size, s.importance, s.drifted, s.evidence)
        for i, (_, _, s) in enumerate(suspects[:top] if top else suspects)
    ]
    return RootCause(model, importance.method, ranked, _summary(ranked))


def _summary(ranked: Sequence[Suspect]) -> str:
    drifted = [s for s in ranked if s.drifted]
    if not drifted:
        return "no feature drifted in this window; the ranking shows where to look first"
    names = ", ".join(s.feature for s in drifted[:3])
    return f"{len(drifted)} drifted feature(s); most responsible: {names}"


def _drift_size(record: FeatureDrift) -> float:
    for value in (record.psi, record.wasserstein, record.jensen_shannon):
        if isinstance(value, int | float) and math.isfinite(value):
            return float(value)
    return 0.0


def _own_importance(
    native: Any, reference: pd.DataFrame, columns: Sequence[str]
) -> dict[str, float] | None:
    values = getattr(native, "feature_importances_", None)
    if values is None:
        coef = getattr(native, "coef_", None)
        if coef is None:
            return None
        weights = np.abs(np.atleast_2d(np.asarray(coef, dtype=float))).mean(axis=0)
        if len(weights) != len(columns):
            return None
        try:  # a coefficient means little without the spread of its input
            spread = reference[list(columns)].astype(float).std().to_numpy()
        except (TypeError, ValueError):
            return None
        values = weights * np.nan_to_num(spread)
    values = np.asarray(values, dtype=float).ravel()
    if len(values) != len(columns) or not np.isfinite(values).all():
        return None
    return dict(zip(columns, values.tolist(), strict=True))


def _shares(raw: Mapping[str, float], columns: Sequence[str]) -> dict[str, float]:
    total = sum(max(raw.get(c, 0.0), 0.0) for c in columns)
    if total <= 0:
        return {c: 1.0 / len(columns) for c in columns} if columns else {}
    return {c: max(raw.get(c, 0.0), 0.0) / total for c in columns}


def _change(base: np.ndarray, moved: np.ndarray) -> float:
    """Mean movement of the answers: probabilities and numbers by absolute difference,
    labels by the share that changed."""
    if base.dtype.kind in "fiu" and moved.dtype.kind in "fiu":
        return float(np.mean(np.abs(moved.astype(float) - base.astype(float))))
    return float(np.mean(moved != base))


def _scale(base: np.ndarray) -> float:
    if base.ndim > 1 or base.dtype.kind not in "fiu":
        return 1.0  # probabilities and labels are already on a 0-1 scale
    spread = float(np.std(base))
    return spread if spread > 0 else 1.0


def kpi_dropped(versions: Iterable[VersionKpis], min_labels: int = DEFAULT_MIN_LABELS) -> bool:
    """True when a live KPI is clearly worse than what the version scored at registration.

    Clearly: the version's window has at least ``min_labels`` labelled answers, and the KPI's
    whole 95% interval is more than ``KPI_DROP`` on the worse side of the registered value
    (a KPI without an interval never counts).
    """
    for row in versions:
        if not row.is_whole_window or row.live.labelled < min_labels:
            continue
        intervals = row.live.intervals
        for name, registered in row.registered.items():
            interval = intervals.get(name)
            if interval is None or not isinstance(registered, int | float):
                continue
            low, high = interval
            if name in LOWER_IS_BETTER:
                if low > registered + KPI_DROP:
                    return True
            elif high < registered - KPI_DROP:
                return True
    return False
