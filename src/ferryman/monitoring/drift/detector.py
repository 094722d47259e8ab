"""Data drift: is a window of live data distributed like the training data, feature by feature?

A feature is drifted only when the difference is both *significant* (its test's p-value,
corrected for testing many features at once, is below ``alpha``) and *large* (its PSI,
normalised Wasserstein or Jensen-Shannon distance passes its threshold). See docs/drift.md.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd
from pandas.api import types as ptypes

from ferryman.config import DriftThresholds, FeatureThresholds
from ferryman.core.profile import DataProfile
from ferryman.errors import FerrymanError, InvalidArgumentError
from ferryman.monitoring._json import json_safe
from ferryman.monitoring.drift.features import Measured, measure_categorical, measure_numeric
from ferryman.monitoring.drift.reference import (
    CategoricalReference,
    NumericReference,
    build_categorical,
    build_numeric,
    categorical_counts,
    numeric_values,
)
from ferryman.monitoring.drift.stats import (
    adjust_pvalues,
    chi2_homogeneity,
    jensen_shannon_distance,
    population_stability_index,
)

__all__ = [
    "DriftDetector",
    "DriftReport",
    "FeatureDrift",
    "NotFittedError",
    "adjust_pvalues",
    "chi2_homogeneity",
    "compare_together",
    "jensen_shannon_distance",
    "population_stability_index",
]

KINDS = ("numeric", "categorical")
_NUMERIC_PROFILE_KINDS = frozenset({"integer", "float", "datetime"})  # signature kinds
_CATEGORICAL_PROFILE_KINDS = frozenset({"boolean", "string", "category"})
_CORRECTION_NAMES = {"holm": "Holm-adjusted", "bonferroni": "Bonferroni-adjusted", "none": ""}


class NotFittedError(FerrymanError):
    """A drift detector was asked to compare before it was fitted."""


@dataclass(frozen=True, slots=True)
class FeatureDrift:
    """The drift of one feature in one comparison.

    ``live_rows`` counts the live values tested; ``live_nulls`` the null (or non-finite) ones left
    out. Statistics that do not apply to the feature's kind are None. ``bins``,
    ``reference_shares`` and ``live_shares`` describe the PSI buckets, for plots.
    """

    feature: str
    kind: str
    reference_rows: int
    live_rows: int
    live_nulls: int
    psi: float
    p_value: float
    p_adjusted: float
    effect: str
    effect_value: float
    effect_threshold: float
    drifted: bool
    reason: str
    ks_statistic: float | None = None
    ks_pvalue: float | None = None
    wasserstein: float | None = None
    chi2_statistic: float | None = None
    chi2_pvalue: float | None = None
    jensen_shannon: float | None = None
    unseen_share: float | None = None
    bins: list[str] = field(default_factory=list)
    reference_shares: list[float] = field(default_factory=list)
    live_shares: list[float] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (no NaN or infinity: those become None)."""
        result: dict[str, Any] = json_safe(asdict(self), "feature drift")
        return result


@dataclass(frozen=True, slots=True)
class DriftReport:
    """The drift of every feature of one live window against the reference.

    ``share`` is ``drifted_count / tested_count`` (0 when nothing was tested); ``skipped`` maps
    each feature that was not tested to the reason why. ``family_size`` is how many tests were
    corrected together for multiple testing (more than ``tested_count`` when other tests, such
    as the model's outputs, shared the correction; see :func:`compare_together`).
    """

    features: list[FeatureDrift]
    skipped: dict[str, str]
    share: float
    drifted_count: int
    tested_count: int
    live_rows: int
    reference_rows: int
    thresholds: dict[str, Any]
    family_size: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def drifted(self) -> list[str]:
        """Names of the drifted features."""
        return [f.feature for f in self.features if f.drifted]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (no NaN or infinity: those become None)."""
        return {
            "features": [f.to_dict() for f in self.features],
            "skipped": dict(self.skipped),
            "share": json_safe(self.share),
            "drifted_count": self.drifted_count,
            "tested_count": self.tested_count,
            "live_rows": self.live_rows,
            "reference_rows": self.reference_rows,
            "thresholds": self.thresholds,
            "family_size": self.family_size,
            "warnings": list(self.warnings),
        }


class DriftDetector:
    """Compare windows of live data with a reference sample of the training data.

    Parameters
    ----------
    thresholds : DriftThresholds, optional
        Significance level, multiple-testing correction, effect-size thresholds and the fewest
        live values a feature needs (``ferryman.config.DriftThresholds``; its defaults if None).
    features : mapping of str to FeatureThresholds, optional
        Per-feature overrides of the effect-size thresholds, and ``ignore=True`` to leave a
        feature out.

    Examples
    --------
    >>> detector = DriftDetector(features={"age": FeatureThresholds(psi=0.2)})  # doctest: +SKIP
    >>> report = detector.fit(reference_sample, profile).compare(live_window)  # doctest: +SKIP
    >>> report.drifted  # doctest: +SKIP
    ['income']
    """

    def __init__(
        self,
        thresholds: DriftThresholds | None = None,
        features: Mapping[str, FeatureThresholds] | None = None,
    ) -> None:
        self.thresholds = thresholds
        self.features = features

    def fit(
        self,
        reference_sample: pd.DataFrame,
        profile: DataProfile | None = None,
        kinds: Mapping[str, str] | None = None,
    ) -> DriftDetector:
        """Learn the reference: sorted numeric values, PSI bins and shares, category counts.

        Parameters
        ----------
        reference_sample : DataFrame
            Rows of the training data (ferryman keeps up to 10,000 with each version). Every
            column is a feature.
        profile : DataProfile, optional
            The training profile: its kinds, and its quantile bins (counted on all the
            training rows) become the PSI bins. Without it the sample's deciles are used.
        kinds : mapping of str to str, optional
            ``"numeric"`` or ``"categorical"`` per column, over the profile's kinds and, for
            columns without a profile, over the dtype (numbers are numeric; booleans, text and
            categories categorical).

        Returns
        -------
        DriftDetector
            ``self``, fitted.
        """
        if not isinstance(reference_sample, pd.DataFrame):
            raise InvalidArgumentError(
                f"the reference sample must be a pandas DataFrame, not "
                f"{type(reference_sample).__name__}"
            )
        overrides = dict(self.features or {})
        kinds_given = dict(kinds or {})
        for name, kind in kinds_given.items():
            if kind not in KINDS:
                raise InvalidArgumentError(
                    f"kind {kind!r} of column {name!r} is not known; choose one of "
                    f"{', '.join(KINDS)}"
                )
        frame = reference_sample.set_axis([str(c) for c in reference_sample.columns], axis=1)
        numeric: dict[str, NumericReference] = {}
        categorical: dict[str, CategoricalReference] = {}
        skipped: dict[str, str] = {}
        for name in frame.columns:
            if overrides.get(name, FeatureThresholds()).ignore:
                continue
            column = profile.columns.get(name) if profile is not None else None
            kind = kinds_given.get(name) or _kind_of(frame[name], column.kind if column else None)
            if kind == "numeric":
                values = numeric_values(frame[name])
                if values is None:
                    skipped[name] = (
                        f"reference values of type {frame[name].dtype} are not numbers; "
                        f"pass kinds={{{name!r}: 'categorical'}} to treat them as categories"
                    )
                    continue
                numeric[name] = build_numeric(values, column.numeric if column else None)
            else:
                categorical[name] = build_categorical(
                    categorical_counts(frame[name]), column.categorical if column else None
                )
        if profile is not None:
            for name in profile.columns:
                if (
                    name not in frame.columns
                    and not overrides.get(name, FeatureThresholds()).ignore
                ):
                    skipped[name] = "in the training profile but not in the reference sample"
        self.numeric_ = numeric
        self.categorical_ = categorical
        self.skipped_ = skipped
        self.reference_rows_ = len(frame)
        self.feature_names_ = list(frame.columns)
        return self

    def compare(self, live: pd.DataFrame) -> DriftReport:
        """Test every reference feature of ``live`` for drift.

        Nulls are left out of the tests and counted (a rising null rate is a data-quality
        finding, not drift). A feature missing from ``live``, entirely null there, or with fewer
        than ``thresholds.min_rows`` values is skipped with the reason, not reported as drifted.

        Returns
        -------
        DriftReport
        """
        return compare_together([(self, live)])[0]

    def _measure(self, live: pd.DataFrame) -> tuple[list[Measured], dict[str, str]]:
        """The tests of every reference feature of ``live``, before any correction."""
        if not hasattr(self, "numeric_"):
            raise NotFittedError(
                "this DriftDetector is not fitted yet; call fit(reference_sample, profile) first"
            )
        if not isinstance(live, pd.DataFrame):
            raise InvalidArgumentError(
                f"live data must be a pandas DataFrame, not {type(live).__name__}"
            )
        min_rows = (self.thresholds or DriftThresholds()).min_rows
        overrides = dict(self.features or {})
        live = live.set_axis([str(c) for c in live.columns], axis=1)
        skipped = dict(self.skipped_)
        tested: list[Measured] = []
        for name, ref in self.numeric_.items():
            outcome = measure_numeric(name, ref, live, min_rows)
            if isinstance(outcome, str):
                skipped[name] = outcome
            else:
                tested.append(outcome)
        for name, cat in self.categorical_.items():
            outcome = measure_categorical(name, cat, live, min_rows)
            if isinstance(outcome, str):
                skipped[name] = outcome
            else:
                tested.append(outcome)
        for name in live.columns:
            ignored = overrides.get(name, FeatureThresholds()).ignore
            if name not in self.feature_names_ and name not in skipped and not ignored:
                skipped[name] = "not in the reference sample, so there is nothing to compare"
        return tested, skipped

    def _report(
        self,
        tested: list[Measured],
        adjusted: list[float],
        skipped: dict[str, str],
        live_rows: int,
        family_size: int,
    ) -> DriftReport:
        thresholds = self.thresholds or DriftThresholds()
        overrides = dict(self.features or {})
        records = [
            _decide(t, float(p), thresholds, overrides.get(t.feature))
            for t, p in zip(tested, adjusted, strict=True)
        ]
        order = {name: i for i, name in enumerate(self.feature_names_)}
        records.sort(key=lambda r: order[r.feature])
        drifted = sum(r.drifted for r in records)
        thresholds_dict: dict[str, Any] = thresholds.model_dump()
        thresholds_dict["features"] = {
            name: value.model_dump(exclude_none=True) for name, value in overrides.items()
        }
        return DriftReport(
            features=records,
            skipped=skipped,
            share=drifted / len(records) if records else 0.0,
            drifted_count=drifted,
            tested_count=len(records),
            live_rows=live_rows,
            reference_rows=self.reference_rows_,
            thresholds=thresholds_dict,
            family_size=family_size,
            warnings=reference_warnings(live_rows, self.reference_rows_),
        )


REFERENCE_PER_WINDOW = 10  # reference rows per window row that keep every reference near alpha


def reference_warnings(live_rows: int, reference_rows: int) -> list[str]:
    """A warning when the window is large next to the reference sample (see docs/drift.md).

    The tests' error rate is alpha on average over reference draws, but for the one reference
    a version has it drifts away from alpha as the window grows next to it: with a window of a
    tenth of the reference, 19 of 20 simulated references stayed at or under 2 x alpha; at half
    the reference or more, 15-30% of references went past it.
    """
    if reference_rows <= 0 or live_rows * REFERENCE_PER_WINDOW <= reference_rows:
        return []
    return [
        f"the window has {live_rows:,} rows, more than a tenth of the reference's "
        f"{reference_rows:,}: the false-alarm rate for this one reference may be well above "
        "alpha; use a shorter window, or register with more reference rows (training rows up "
        "to sample_rows for features, held-out rows for prediction drift)"
    ]


def compare_together(parts: Sequence[tuple[DriftDetector, pd.DataFrame]]) -> list[DriftReport]:
    """Compare several fitted detectors with their live frames as ONE family of tests.

    The p-values of every test of every part are corrected together (Holm or Bonferroni, as
    the first detector's thresholds say), so the chance that *any* of them is wrongly flagged
    stays at most ``alpha`` over all parts: the monitor tests a model's features and its
    outputs this way. Each part's decisions then use its own effect-size thresholds.

    Returns
    -------
    list of DriftReport
        One per part, in order; each report's ``family_size`` is the number of tests corrected
        together.
    """
    if not parts:
        return []
    measured = [detector._measure(live) for detector, live in parts]
    correction = (parts[0][0].thresholds or DriftThresholds()).correction
    p_values = [t.p_value for tested, _ in measured for t in tested]
    adjusted = [float(p) for p in adjust_pvalues(p_values, correction)]
    reports = []
    start = 0
    for (detector, live), (tested, skipped) in zip(parts, measured, strict=True):
        own = adjusted[start : start + len(tested)]
        start += len(tested)
        reports.append(detector._report(tested, own, skipped, len(live), len(p_values)))
    return reports


def _kind_of(series: pd.Series, profile_kind: str | None) -> str:
    if profile_kind in _NUMERIC_PROFILE_KINDS:
        return "numeric"
    if profile_kind in _CATEGORICAL_PROFILE_KINDS:
        return "categorical"
    dtype = series.dtype
    if ptypes.is_bool_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype):
        return "categorical"
    if ptypes.is_numeric_dtype(dtype) or ptypes.is_datetime64_any_dtype(dtype):
        return "numeric"
    return "categorical"


def _decide(
    tested: Measured,
    p_adjusted: float,
    thresholds: DriftThresholds,
    override: FeatureThresholds | None,
) -> FeatureDrift:
    limits = {
        "psi": thresholds.psi,
        "wasserstein": thresholds.wasserstein,
        "jensen_shannon": thresholds.jensen_shannon,
    }
    if override is not None:
        for key in limits:
            value = getattr(override, key)
            if value is not None:
                limits[key] = value
    effects = [(name, value, limits[name]) for name, value in tested.effects]
    passing = [e for e in effects if e[1] >= e[2]]
    effect = passing[0] if passing else max(effects, key=lambda e: _ratio(e[1], e[2]))
    significant = p_adjusted < thresholds.alpha
    drifted = significant and bool(passing)
    test = tested.test
    adjusted = _CORRECTION_NAMES[thresholds.correction]
    p_text = f"{test} p={p_adjusted:.2g}" + (f" ({adjusted})" if adjusted else "")
    if drifted:
        reason = f"{_effect_text(*effect, '>=')} and {p_text} < {thresholds.alpha:g}"
    elif not significant:
        reason = f"{p_text} >= {thresholds.alpha:g}: no significant difference"
    else:
        small = " and ".join(_effect_text(*e, "<") for e in effects)
        reason = f"{p_text} < {thresholds.alpha:g} but {small}: too small to matter"
    return FeatureDrift(
        feature=tested.feature,
        kind=tested.kind,
        live_rows=tested.live_rows,
        live_nulls=tested.live_nulls,
        p_value=tested.p_value,
        p_adjusted=p_adjusted,
        effect=effect[0],
        effect_value=effect[1],
        effect_threshold=effect[2],
        drifted=drifted,
        reason=reason,
        **tested.fields,
    )


_EFFECT_NAMES = {"psi": "PSI", "wasserstein": "Wasserstein/std", "jensen_shannon": "JS"}


def _effect_text(name: str, value: float, limit: float, op: str) -> str:
    return f"{_EFFECT_NAMES[name]} {value:.2f} {op} {limit:.2f}"


def _ratio(value: float, limit: float) -> float:
    return value / limit if limit > 0 else math.inf
