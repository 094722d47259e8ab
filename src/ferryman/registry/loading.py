"""A loaded model version: one prediction interface whatever its flavor."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from ferryman.core.records import ModelVersion
from ferryman.core.signature import Signature
from ferryman.errors import NotAClassifierError
from ferryman.flavors import Predictor
from ferryman.registry.failures import run_located
from ferryman.schema import Problem, check_input, input_error, to_frame, validate
from ferryman.schema.validation import Records

T = TypeVar("T")


class LoadedModel:
    """A registered version, ready to predict on a DataFrame or a list of records.

    Input is checked against the version's signature first; a problem raises
    InvalidInputError listing each one with its row and column.
    """

    def __init__(self, version: ModelVersion, predictor: Predictor) -> None:
        self.version = version
        self.predictor = predictor

    def __repr__(self) -> str:
        return f"<LoadedModel {self.version.ref} ({self.version.flavor})>"

    @property
    def native(self) -> Any:
        """The underlying library object (estimator, booster, ONNX session)."""
        return self.predictor.native

    @property
    def signature(self) -> Signature | None:
        return self.version.signature

    @property
    def classes(self) -> tuple[Any, ...] | None:
        return self.predictor.classes

    @property
    def is_classifier(self) -> bool:
        return self.predictor.classes is not None

    def validate(self, data: Records) -> list[Problem]:
        """Every problem of ``data`` against the signature (empty when all is well)."""
        if self.signature is None:
            return []
        return validate(self.signature, data)

    def prepare(self, data: Records) -> pd.DataFrame:
        """Input as the frame the model takes, or InvalidInputError listing every problem.

        A target column in the input is ignored. Without a signature (registered without
        training data), only the columns the model itself records are checked.
        """
        data = self._without_target(data)
        if self.signature is not None:
            return check_input(self.signature, data)
        names = self.predictor.feature_names
        frame, problems = to_frame(data, names)
        if not problems and names:
            problems = [
                Problem(None, name, "missing_column", f"missing column {name!r}")
                for name in names
                if name not in frame.columns
            ]
        if problems:
            raise input_error(problems)
        return frame[list(names)] if names else frame

    def _without_target(self, data: Records) -> Records:
        target = self.version.output.target
        if target is None:
            return data
        if isinstance(data, pd.DataFrame):
            return data.drop(columns=[target]) if target in data.columns else data
        if isinstance(data, Mapping):
            return {k: v for k, v in data.items() if k != target} if target in data else data
        if isinstance(data, list) and any(isinstance(r, Mapping) and target in r for r in data):
            return [
                {k: v for k, v in r.items() if k != target} if isinstance(r, Mapping) else r
                for r in data
            ]
        return data

    def _run(self, method: Callable[[pd.DataFrame], T], frame: pd.DataFrame) -> T:
        """``method(frame)``; a failure of the model names the rows it fails on (422)."""
        advice = ""
        if self.signature is None:  # unchecked input is what the library objects to
            advice = (
                "It was registered without training data, so its input cannot be checked in "
                "advance; register it with train_data for clear input checks"
            )
        return run_located(method, frame, self.version.ref, advice)

    def predict(self, data: Records) -> np.ndarray:
        """One prediction per row: class labels for a classifier, numbers for a regressor."""
        frame = self.prepare(data)
        if frame.empty:
            return np.empty(0, dtype=object if self.classes is not None else float)
        return self._run(self.predictor.predict, frame)

    def predict_proba(self, data: Records) -> np.ndarray:
        """Class probabilities, one column per class in ``classes`` order."""
        if self.classes is None:
            raise NotAClassifierError(
                f"model {self.version.ref} is not a classifier; it has no class probabilities"
            )
        frame = self.prepare(data)
        if frame.empty:
            return np.empty((0, len(self.classes)))
        proba = self._run(self.predictor.predict_proba, frame)
        if proba is None:
            raise NotAClassifierError(f"model {self.version.ref} answers no class probabilities")
        return proba

    def predict_frame(self, data: Records) -> pd.DataFrame:
        """Predictions as a table: ``prediction``, then ``proba_<class>`` for classifiers."""
        frame = self.prepare(data)
        if frame.empty:
            columns = ["prediction"] + [f"proba_{c}" for c in self.classes or ()]
            return pd.DataFrame(columns=columns, index=frame.index)
        out = pd.DataFrame(
            {"prediction": self._run(self.predictor.predict, frame)}, index=frame.index
        )
        proba = self._run(self.predictor.predict_proba, frame) if self.classes else None
        if proba is not None and self.classes is not None:
            for i, label in enumerate(self.classes):
                out[f"proba_{label}"] = proba[:, i]
        return out
