"""Which input columns a scoring job reads as features, which identify rows, what it writes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from ferryman.errors import InvalidInputError
from ferryman.registry import LoadedModel
from ferryman.schema import Problem, describe_problems, validate
from ferryman.serving.scoring.readers import InputFile

ROW_COLUMN = "row"
REASON_COLUMN = "reason"


@dataclass(frozen=True)
class Plan:
    """The columns of one scoring job, settled before any row is read.

    ``id_name`` is the id column, or ``row`` for row numbers (``_row`` if the input has a
    ``row`` column of its own). Rejects have the id, ``reason``, then the other input columns.
    """

    features: list[str]
    id_column: str | None
    id_name: str
    reason_name: str
    inputs: list[str]
    text_columns: list[str]
    output_columns: list[str]
    output_types: dict[str, pa.DataType]
    rejects_columns: list[str]
    rejects_types: dict[str, pa.DataType]

    @classmethod
    def make(cls, model: LoadedModel, table: InputFile, id_column: str | None) -> Plan:
        """The plan for ``model`` on ``table``; a column-level problem is InvalidInputError."""
        columns = table.columns
        if id_column is not None and id_column not in columns:
            raise InvalidInputError(
                f"id column {id_column!r} is not in {table.path}; its columns are "
                f"{', '.join(columns)}"
            )
        labels = [f"proba_{c}" for c in model.classes or ()]
        if id_column in ("prediction", *labels):
            raise InvalidInputError(
                f"id column {id_column!r} would clash with the output's own {id_column!r} column"
            )
        features = _features(model, table, id_column)
        id_name = id_column if id_column is not None else _free_name(ROW_COLUMN, columns)
        reason_name = _free_name(REASON_COLUMN, columns)
        id_type = _id_type(table, id_column, features)
        text = model.signature.text_columns if model.signature is not None else []
        if id_column is not None and id_column not in features and table.kind == "csv":
            text.append(id_column)  # ids are copied as written: "007" stays "007"
        inputs = [c for c in columns if c != id_column]
        output_types = dict.fromkeys(labels, pa.float64())
        prediction = _prediction_type(model)
        if prediction is not None:
            output_types["prediction"] = prediction
        rejects_types = dict.fromkeys([reason_name, *inputs], pa.string())
        if id_type is not None:
            output_types[id_name] = rejects_types[id_name] = id_type
        return cls(
            features=features,
            id_column=id_column,
            id_name=id_name,
            reason_name=reason_name,
            inputs=inputs,
            text_columns=text,
            output_columns=[id_name, "prediction", *labels],
            output_types=output_types,
            rejects_columns=[id_name, reason_name, *inputs],
            rejects_types=rejects_types,
        )


def _features(model: LoadedModel, table: InputFile, id_column: str | None) -> list[str]:
    """The input columns the model takes; a column-level problem fails the job here."""
    signature = model.signature
    expected = signature.names if signature is not None else model.predictor.feature_names
    target = model.version.output.target
    # the id and target columns are dropped before validating, unless the model takes them
    extra = {c for c in (id_column, target) if c is not None and c not in (expected or ())}
    given = [c for c in table.columns if c not in extra]
    if signature is not None:
        problems = validate(signature, pd.DataFrame(columns=given))
    elif expected is not None:
        problems = [
            Problem(None, name, "missing_column", f"missing column {name!r}")
            for name in expected
            if name not in given
        ]
    else:
        return given
    if problems:
        message = _column_message(str(model.version.ref), table, problems, list(expected or []))
        raise InvalidInputError(message, problems)
    return list(expected) if expected is not None else given


def _column_message(
    ref: str, table: InputFile, problems: list[Problem], expected: list[str]
) -> str:
    """One sentence for the whole file: which columns are missing, unknown or repeated."""
    kinds = {
        "missing_column": "missing",
        "unknown_column": "unknown",
        "duplicate_column": "repeated",
    }
    parts = []
    for kind, word in kinds.items():
        names = [p.column for p in problems if p.kind == kind and p.column is not None]
        if names:
            parts.append(f"{word} {_names(names)}")
    others = [p for p in problems if p.kind not in kinds]
    if others:
        parts.append(describe_problems(others))
    return (
        f"{table.path} does not have the columns {ref} takes: {'; '.join(parts)}. It takes "
        f"{_names(expected)}; a target column is ignored, and one more column can be kept as "
        "the id column"
    )


def _names(names: list[str], shown: int = 10) -> str:
    text = ", ".join(repr(n) for n in names[:shown])
    return text + (f" and {len(names) - shown} more" if len(names) > shown else "")


def _free_name(name: str, taken: Sequence[str]) -> str:
    """``name``, or ``_name`` (``__name``...) when the input already has such a column."""
    while name in taken:
        name = f"_{name}"
    return name


def _id_type(table: InputFile, id_column: str | None, features: list[str]) -> pa.DataType | None:
    if id_column is None:
        return pa.int64()
    if table.kind == "parquet":
        return table.arrow_types[id_column]
    return pa.string() if id_column not in features else None


def _prediction_type(model: LoadedModel) -> pa.DataType | None:
    if model.classes is not None:
        try:
            return pa.array(np.asarray(model.classes)).type
        except pa.ArrowException:
            return None
    return pa.float64() if model.version.output.kind == "regressor" else None
