"""Data quality of live traffic, per feature: nulls, values outside the training range,
categories never seen in training, and requests refused by serving's checks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ferryman.core.profile import DataProfile
from ferryman.monitoring._json import json_safe
from ferryman.schema.inference import column_kind

NUMERIC_KINDS = ("integer", "float")


@dataclass(frozen=True, slots=True)
class FeatureQuality:
    """What one feature looked like in a window, next to what training saw."""

    feature: str
    kind: str
    rows: int
    nulls: int
    null_rate: float | None
    reference_null_rate: float | None
    out_of_range: int = 0
    out_of_range_rate: float | None = None
    unseen: int = 0
    unseen_rate: float | None = None
    rejected: int = 0
    type_errors: int = 0
    issues: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class QualityReport:
    """Per-feature quality of a window, and the requests serving refused in it."""

    model: str
    rows: int
    features: list[FeatureQuality]
    rejected_requests: int
    rejected_by_kind: dict[str, int]
    missing_from_profile: list[str]

    @property
    def issue_count(self) -> int:
        return sum(len(f.issues) for f in self.features) + (1 if self.rejected_requests else 0)

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = json_safe(asdict(self), "quality")
        return result


def assess_quality(
    model: str,
    live: pd.DataFrame,
    profile: DataProfile | None,
    features: Sequence[str],
    rejections: pd.DataFrame | None = None,
    rejected_requests: int = 0,
    *,
    null_rate_margin: float = 0.05,
    out_of_range_limit: float = 0.01,
    unseen_limit: float = 0.01,
) -> QualityReport:
    """Data quality of the ``live`` rows of ``features`` against the training ``profile``.

    ``rejections`` counts the problems serving found per column and kind (columns ``column``,
    ``kind``, ``problems``); ``rejected_requests`` is how many requests they came from. A
    feature gets an issue when its null rate exceeds the training one by more than
    ``null_rate_margin``, or more than ``out_of_range_limit`` of its values fall outside the
    training range, or more than ``unseen_limit`` of its categories were never seen in training.
    """
    refused = rejections if rejections is not None else pd.DataFrame()
    per_column = _problems_per_column(refused)
    out: list[FeatureQuality] = []
    missing: list[str] = []
    for name in features:
        column = profile.columns.get(name) if profile is not None else None
        if column is None:
            missing.append(name)
        values = live[name] if name in live.columns else pd.Series([], dtype=float)
        out.append(
            _feature_quality(
                name,
                values,
                column,
                per_column.get(name, {}),
                null_rate_margin,
                out_of_range_limit,
                unseen_limit,
            )
        )
    by_kind: dict[str, int] = {}
    if len(refused):
        sums = refused.groupby("kind")["problems"].sum()
        by_kind = {str(k): int(v) for k, v in sums.items()}
    return QualityReport(
        model=model,
        rows=len(live),
        features=out,
        rejected_requests=rejected_requests,
        rejected_by_kind=by_kind,
        missing_from_profile=missing,
    )


def _feature_quality(
    name: str,
    values: pd.Series,
    column: Any,
    problems: Mapping[str, int],
    null_rate_margin: float,
    out_of_range_limit: float,
    unseen_limit: float,
) -> FeatureQuality:
    rows = len(values)
    nulls = int(values.isna().sum())
    null_rate = nulls / rows if rows else None
    reference_null_rate = (
        column.nulls / column.count if column is not None and column.count else None
    )
    issues: list[str] = []
    kind = column.kind if column is not None else column_kind(values)
    if null_rate is not None and null_rate > (reference_null_rate or 0.0) + null_rate_margin:
        issues.append(
            f"null rate {null_rate:.1%} against {(reference_null_rate or 0.0):.1%} in training"
        )
    out_of_range = unseen = 0
    present = values.dropna()
    if column is not None and column.numeric is not None and kind in NUMERIC_KINDS:
        low, high = column.numeric.minimum, column.numeric.maximum
        if low is not None and high is not None and len(present):
            numbers = pd.to_numeric(present, errors="coerce").to_numpy(dtype=float)
            out_of_range = int(np.count_nonzero((numbers < low) | (numbers > high)))
            if out_of_range / len(present) > out_of_range_limit:
                issues.append(
                    f"{out_of_range / len(present):.1%} of values outside the training range "
                    f"[{low:g}, {high:g}]"
                )
    elif column is not None and column.categorical is not None and len(present):
        known = set(column.categorical.frequencies)
        # categories beyond the profile's most frequent ones are summed in other_count: with
        # such a tail, an unknown value may simply be rare, so only a complete list counts
        if column.categorical.other_count == 0:
            unseen = int((~present.astype(str).isin(known)).sum())
            if unseen / len(present) > unseen_limit:
                issues.append(
                    f"{unseen / len(present):.1%} of values are categories unseen in training"
                )
    type_errors = int(problems.get("wrong_type", 0))
    rejected = int(sum(problems.values()))
    if rejected:
        issues.append(f"{rejected} value(s) refused by the signature checks")
    return FeatureQuality(
        feature=name,
        kind=kind,
        rows=rows,
        nulls=nulls,
        null_rate=null_rate,
        reference_null_rate=reference_null_rate,
        out_of_range=out_of_range,
        out_of_range_rate=out_of_range / len(present) if len(present) else None,
        unseen=unseen,
        unseen_rate=unseen / len(present) if len(present) else None,
        rejected=rejected,
        type_errors=type_errors,
        issues=issues,
    )


def _problems_per_column(refused: pd.DataFrame) -> dict[str, dict[str, int]]:
    if not len(refused) or "column" not in refused.columns:
        return {}
    counts: dict[str, dict[str, int]] = {}
    sizes = refused.groupby(["column", "kind"], dropna=True)["problems"].sum()
    for key, n in sizes.items():
        pair: tuple[Any, Any] = key  # type: ignore[assignment]
        counts.setdefault(str(pair[0]), {})[str(pair[1])] = int(n)
    return counts
