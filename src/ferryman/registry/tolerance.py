"""What a model tolerates: unknown categories and unseen nulls, found by trying it.

At registration the model, loaded back from its file, predicts on a few training rows in which
every categorical column holds a value never seen and every column without nulls in training
holds a null. If it answers (finite numbers, no error), every such column accepts them. If not,
each column is tried on its own. The answer is recorded per column in the signature; what the
user says at registration (``tolerate``) wins and is not tried.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from ferryman.core.signature import (
    TOLERANCE_FIELDS,
    TOLERANCES,
    ColumnSpec,
    Signature,
    Tolerance,
)
from ferryman.errors import InvalidArgumentError
from ferryman.flavors import ArrayPredictor, Predictor
from ferryman.schema import check_input

PROBE_ROWS = 3
ALL_COLUMNS = "*"
Overrides = Mapping[str, Mapping[str, str]]


@dataclass(frozen=True, slots=True)
class _Case:
    column: str
    field: str  # one of TOLERANCE_FIELDS
    value: Any  # what the probe puts in the column


def check_overrides(tolerate: object) -> Overrides | None:
    """``tolerate`` when it has the form ``{column: {case: policy}}``, else InvalidArgumentError
    showing that form (the names themselves are checked against the signature later)."""
    if tolerate is None:
        return None
    if isinstance(tolerate, Mapping) and all(
        isinstance(column, str)
        and isinstance(cases, Mapping)
        and all(isinstance(case, str) and isinstance(p, str) for case, p in cases.items())
        for column, cases in tolerate.items()
    ):
        return tolerate
    raise InvalidArgumentError(
        f"tolerate must map each column (or {ALL_COLUMNS!r}) to its cases and policies, e.g. "
        '{"city": {"unknown_categories": "accept", "unseen_nulls": "refuse"}}; got '
        f"{tolerate!r:.80}"
    )


def apply_overrides(signature: Signature, tolerate: Overrides | None) -> Signature:
    """The signature with the policies the user gave; ``"*"`` names every column it fits.

    A column's own entry wins over ``"*"``. An entry for a column the model lacks, a case
    that cannot arise in the column, or a policy that is not accept/refuse is an error.
    """
    if not tolerate:
        return signature
    names = signature.names
    wanted: dict[str, dict[str, Tolerance]] = {}
    for column, cases in tolerate.items():
        if column != ALL_COLUMNS and column not in names:
            raise InvalidArgumentError(
                f"a tolerance is given for column {column!r}, which the model does not take; "
                f"its columns are {names[:20]} (or {ALL_COLUMNS!r} for all of them)"
            )
        wanted[column] = {field: _policy(column, field, value) for field, value in cases.items()}
    columns = []
    for col in signature.columns:
        possible = col.tolerance()
        own = wanted.get(col.name, {})
        for field in own:
            if field not in possible:
                raise InvalidArgumentError(_cannot_arise(col, field))
        given = {
            field: policy
            for field, policy in wanted.get(ALL_COLUMNS, {}).items()
            if field in possible
        }
        given.update(own)
        columns.append(replace(col, **given) if given else col)  # type: ignore[arg-type]
    return replace(signature, columns=tuple(columns))  # series_input kept


def _policy(column: str, field: str, value: str) -> Tolerance:
    if field not in TOLERANCE_FIELDS:
        raise InvalidArgumentError(
            f"unknown tolerance {field!r} for column {column!r}; choose one of "
            f"{', '.join(TOLERANCE_FIELDS)}"
        )
    if value not in TOLERANCES:
        raise InvalidArgumentError(
            f"{field} of column {column!r} is {value!r}; choose one of {', '.join(TOLERANCES)}"
        )
    return "accept" if value == "accept" else "refuse"


def _cannot_arise(col: ColumnSpec, field: str) -> str:
    if field == "unknown_categories":
        return (
            f"column {col.name!r} is {col.kind} without a list of categories, so no value is "
            "unknown to it: unknown_categories applies to categorical columns only"
        )
    return (
        f"column {col.name!r} had nulls in training, so nulls always reach the model: "
        "unseen_nulls applies to columns without nulls in training"
    )


def probe_tolerance(predictor: Predictor, signature: Signature, rows: pd.DataFrame) -> Signature:
    """``signature`` with each policy left unset decided by trying the model on ``rows``
    (a few training rows in the signature's columns)."""
    cases = _cases(signature)
    if not cases:
        return signature
    trial = _with(signature, {(c.column, c.field): "accept" for c in cases})
    clean = check_input(trial, rows[signature.names].head(PROBE_ROWS).reset_index(drop=True))
    frames = _injected(clean, trial, cases)
    decided: dict[tuple[str, str], Tolerance]
    if _answers(predictor, pd.concat(frames, ignore_index=True)):
        decided = {(c.column, c.field): "accept" for c in cases}
    else:
        # one call per case; on bare arrays where serving would use them (no DataFrame checks
        # per call: a model failing on 20 null columns is tried 20 times in a few ms)
        fast = _array_predictor(predictor, trial)
        decided = {
            (c.column, c.field): "accept" if _answers(fast or predictor, frame) else "refuse"
            for c, frame in zip(cases, frames, strict=True)
        }
    return _with(signature, decided)


def _cases(signature: Signature) -> list[_Case]:
    cases = []
    for col in signature.columns:
        if col.categories is not None and col.unknown_categories is None:
            cases.append(_Case(col.name, "unknown_categories", _unseen_value(col.categories)))
        if not col.nullable and col.unseen_nulls is None:
            cases.append(_Case(col.name, "unseen_nulls", None))
    return [c for c in cases if c.field == "unseen_nulls" or c.value is not _NONE_LEFT]


_NONE_LEFT = object()  # every value of the column's type was seen (both booleans)


def _unseen_value(categories: tuple[Any, ...]) -> Any:
    """A value of the categories' type that training never showed."""
    known = set(categories)
    if categories and all(isinstance(c, (bool, np.bool_)) for c in categories):
        left = [b for b in (True, False) if b not in known]
        return left[0] if left else _NONE_LEFT
    numbers = [c for c in categories if isinstance(c, (int, float)) and not isinstance(c, bool)]
    if categories and len(numbers) == len(categories):
        return max(numbers) + 1
    value = "ferryman-probe-unseen"
    while value in known:
        value += "-"
    return value


def _injected(clean: pd.DataFrame, signature: Signature, cases: list[_Case]) -> list[pd.DataFrame]:
    """Per case, ``clean`` (checked rows) with the case's value in its column, converted as
    served input is (the new values are checked in one call per kind of case)."""
    values: dict[tuple[str, str], pd.Series] = {}
    for field in TOLERANCE_FIELDS:
        group = [c for c in cases if c.field == field]
        if not group:
            continue
        raw = pd.DataFrame(
            {c.column: pd.Series([c.value] * len(clean), dtype=object) for c in group}
        )
        checked = check_input(Signature(tuple(signature.column(c.column) for c in group)), raw)
        values.update({(c.column, field): checked[c.column] for c in group})
    frames = []
    for case in cases:
        frame = clean.copy()
        frame[case.column] = values[(case.column, case.field)]
        frames.append(frame)
    return frames


def _array_predictor(predictor: Predictor, signature: Signature) -> ArrayPredictor | None:
    numeric = all(
        c.kind in ("float", "integer") and c.categories is None for c in signature.columns
    )
    return predictor.array_predictor(tuple(signature.names)) if numeric else None


def _with(signature: Signature, policies: Mapping[tuple[str, str], Tolerance]) -> Signature:
    columns = []
    for col in signature.columns:
        given = {field: p for (name, field), p in policies.items() if name == col.name}
        columns.append(replace(col, **given) if given else col)  # type: ignore[arg-type]
    return replace(signature, columns=tuple(columns))  # series_input kept


def _answers(model: Predictor | ArrayPredictor, frame: pd.DataFrame) -> bool:
    """True when the model predicts on ``frame`` (checked input) without an error and with
    finite numbers."""
    data: Any = frame if isinstance(model, Predictor) else frame.to_numpy(dtype=np.float64)
    classes = model.classes if isinstance(model, Predictor) else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the answer decides, not what the library says
        try:
            outputs: list[np.ndarray | None] = [model.predict(data)]
            if classes is not None or isinstance(model, ArrayPredictor):
                outputs.append(model.predict_proba(data))
        except Exception:  # noqa: BLE001 - any failure means the model does not cope
            return False
    for output in outputs:
        if output is None:
            continue
        values = np.asarray(output)
        if values.dtype.kind in "fc" and not np.isfinite(values).all():
            return False
    return len(np.asarray(outputs[0])) == len(frame)
