"""Turning a model plus its training data into the parts of a new version."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from ferryman.core.profile import DataProfile
from ferryman.core.signature import Signature
from ferryman.errors import InvalidInputError, SchemaError
from ferryman.flavors import Predictor
from ferryman.schema import (
    check_input,
    fingerprint_frame,
    infer_signature,
    profile_frame,
    read_table,
    sample_rows,
)

TrainData = pd.DataFrame | pd.Series | np.ndarray | str | Path


IntArray = npt.NDArray[np.uint64]


@dataclass(frozen=True)
class TrainingFacts:
    """What registration learns from the training data."""

    signature: Signature
    profile: DataProfile
    fingerprint: str
    sample: pd.DataFrame
    head: pd.DataFrame  # the first rows, to try the model on
    row_hashes: IntArray = field(default_factory=lambda: np.zeros(0, np.uint64))  # distinct
    duplicate_share: float = 0.0  # of training rows that repeat another training row


# The column name of one text column given alone without a name (a 1-D array, a Series
# whose name is None): what records then send, e.g. {"text": "..."}
SERIES_COLUMN = "text"


def as_frame(data: TrainData, model: object | None) -> pd.DataFrame:
    """Training data as a DataFrame; arrays get the model's feature names, or f0, f1, ...

    One column given alone (a Series, a 1-D array of text) becomes a one-column frame named
    after the Series, or ``text``; :func:`is_series` tells such data apart.
    """
    if isinstance(data, (str, Path)):
        return read_table(data)
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, pd.Series):
        name = SERIES_COLUMN if data.name is None else str(data.name)
        return data.to_frame(name)
    if isinstance(data, np.ndarray):
        if data.ndim == 1 and data.dtype.kind in "OUS":
            return pd.DataFrame({SERIES_COLUMN: data})
        if data.ndim != 2:
            raise SchemaError(
                f"training data must be 2-D (rows x columns), or 1-D text for a model fitted "
                f"on one text column; got a {data.ndim}-D array of {data.dtype}"
            )
        names = getattr(model, "feature_names_in_", None)
        columns = list(names) if names is not None and len(names) == data.shape[1] else None
        return pd.DataFrame(data, columns=columns or [f"f{i}" for i in range(data.shape[1])])
    raise SchemaError(
        f"train_data must be a DataFrame, a Series, a 2-D NumPy array (1-D for text) or a "
        f"CSV/Parquet path, got {type(data).__name__}"
    )


def is_series(data: TrainData) -> bool:
    """True for one column given alone: the model was fitted on it so, and takes it so."""
    return isinstance(data, pd.Series) or (isinstance(data, np.ndarray) and data.ndim == 1)


def learn_from_data(
    data: TrainData,
    target: str | None,
    model: object | None,
    sample_cap: int,
    kinds: Mapping[str, str] | None = None,
) -> TrainingFacts:
    """Signature (with ``kinds`` overriding inferred kinds), profile, fingerprint, samples."""
    frame = as_frame(data, model)
    if frame.empty:
        raise SchemaError("training data has no rows")
    frame = frame.rename(columns=str)
    if target is not None and target not in frame.columns:
        raise SchemaError(
            f"target column {target!r} is not in the training data; its columns are "
            f"{list(frame.columns)[:20]}"
        )
    features = frame.drop(columns=[target]) if target is not None else frame
    signature = infer_signature(features, kinds)
    if is_series(data):
        signature = replace(signature, series_input=True)
    fingerprint = fingerprint_frame(frame)
    profile = profile_frame(frame, target)
    sample = sample_rows(frame, sample_cap, seed=int(fingerprint[:8], 16))
    hashes = row_hashes(features[signature.names])
    distinct = np.unique(hashes)
    return TrainingFacts(
        signature,
        profile,
        fingerprint,
        sample,
        features.head(5),
        distinct,
        1.0 - distinct.size / max(hashes.size, 1),
    )


def row_hashes(frame: pd.DataFrame) -> IntArray:
    """One 64-bit hash per row of the feature columns (to find rows shared by two frames)."""
    hashes = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return np.asarray(hashes, dtype=np.uint64)


def shared_share(frame: pd.DataFrame, facts: TrainingFacts) -> float:
    """The share of ``frame``'s rows that are also rows of the training data."""
    if facts.row_hashes.size == 0 or frame.empty:
        return 0.0
    return float(np.isin(row_hashes(frame), facts.row_hashes).mean())


def align_to_model(facts: TrainingFacts, names: Sequence[str] | None) -> TrainingFacts:
    """Make the signature the model's own columns, in its order, when the model records them.

    Training columns the model does not use are left out (the profile keeps them); columns
    the model needs but the data lacks are an error. Models that record no names take the
    training data's columns in order: that order is then the contract.
    """
    if not names:
        return facts
    names = as_training_columns(names, facts.signature.names)
    missing = [n for n in names if n not in facts.signature.names]
    if missing:
        raise SchemaError(
            f"the model was fitted on columns the training data lacks: {missing[:10]}; pass the "
            "data the model was trained on (with its target column named)"
        )
    if list(names) == facts.signature.names:
        return facts
    signature = replace(facts.signature, columns=tuple(facts.signature.column(n) for n in names))
    return replace(facts, signature=signature)


def as_training_columns(names: Sequence[str], columns: Sequence[str]) -> list[str]:
    """The model's column names as the training data spells them.

    LightGBM keeps a name with each space replaced by "_" (``mean radius`` becomes
    ``mean_radius``) and predicts by position: such a name stands for the one training column
    it was made from.
    """
    known = set(columns)
    spelled: dict[str, list[str]] = {}
    for column in columns:
        spelled.setdefault(column.replace(" ", "_"), []).append(column)
    return [
        spelled[name][0] if name not in known and len(spelled.get(name, ())) == 1 else name
        for name in names
    ]


def check_model_accepts(predictor: Predictor, facts: TrainingFacts) -> None:
    """Predict on a few training rows, so a model and data that do not fit fail now; the
    error gives the model's own exception and the input it was given."""
    rows = check_input(facts.signature, facts.head[facts.signature.names])
    try:
        predictor.predict(rows)
    except Exception as exc:
        text = str(exc).strip()
        cause = type(exc).__name__ + (f": {text.splitlines()[0]}" if text else "")
        raise SchemaError(
            f"the model failed to predict on the first {_rows(len(rows))} of its training "
            f"data, given {_given_as(facts.signature)}: {cause}. Check that the training data "
            "is what the model was fitted on: the same columns "
            "(with the target column named, and left out of the input), in the same form (a "
            "DataFrame; a Series for a model fitted on one column alone)"
        ) from exc


def _rows(count: int) -> str:
    return "row" if count == 1 else f"{count} rows"


def _given_as(signature: Signature) -> str:
    """How the model was handed its input, for an error message."""
    described = [f"{c.name!r} ({c.kind})" for c in signature.columns[:8]]
    more = f" and {len(signature.columns) - 8} more" if len(signature.columns) > 8 else ""
    if signature.series_input:
        return f"one column alone (1-D): {described[0]}"
    count = len(signature.columns)
    return f"as a table of {count} column{'s' if count != 1 else ''}: {', '.join(described)}{more}"


def held_out_sample(
    data: TrainData, facts: TrainingFacts, model: object | None, sample_cap: int
) -> pd.DataFrame:
    """Up to ``sample_cap`` rows of held-out data, in the signature's columns (and the target's,
    when present), checked against the signature: prediction drift's reference.

    The model's answers on these rows, which it was not fitted on, are what its live answers
    are compared with; its answers on its own training rows are not a fair reference (a forest
    scores its training rows near 0 and 1).
    """
    frame = as_frame(data, model).rename(columns=str)
    if frame.empty:
        raise SchemaError("validation data has no rows")
    names = facts.signature.names
    missing = [n for n in names if n not in frame.columns]
    if missing:
        raise SchemaError(
            f"validation data lacks the model's columns {missing[:10]}; pass held-out rows "
            "with the same columns as the training data"
        )
    fingerprint = fingerprint_frame(frame)
    if fingerprint == facts.fingerprint:
        raise SchemaError(
            "validation data is the training data itself; pass rows the model was not "
            "fitted on (e.g. a held-out share of the data)"
        )
    shared = shared_share(frame[names], facts)
    # data with few distinct rows repeats them by nature: only far more sharing than the
    # training data has with itself means the held-out rows were taken from it
    if shared > max(0.5, facts.duplicate_share + 0.25):
        raise SchemaError(
            f"{shared:.0%} of the validation rows are also training rows; pass rows the model "
            "was not fitted on (e.g. a held-out share of the data), or prediction drift "
            "compares live answers with answers on the training data"
        )
    try:  # every row, so that the rows named are the user's own
        checked = check_input(facts.signature, frame[names])
    except InvalidInputError as exc:
        first = str(exc).strip().splitlines()[0]
        raise SchemaError(
            f"validation data does not fit the model's signature: {first}; fix or drop those "
            "rows (the server refuses them too)"
        ) from exc
    target = facts.profile.target
    if target is not None and target in frame.columns:
        checked[target] = frame[target].to_numpy()
    return sample_rows(checked, sample_cap, seed=int(fingerprint[:8], 16))


def write_sample(sample: pd.DataFrame, folder: Path, name: str = "sample") -> Path:
    path = folder / f"{name}.parquet"
    sample.to_parquet(path, index=False)
    return path
