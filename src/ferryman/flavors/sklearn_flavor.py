"""scikit-learn estimators and pipelines, saved with skops.

Loading never unpickles arbitrary code: skops loads only types it trusts by default, those
ferryman trusts by default (see trust.py) and those the user trusts. A file needing any other
type is refused, naming it.
"""

from __future__ import annotations

import copy
import importlib
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, is_classifier, is_regressor
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from ferryman.core.signature import OutputSpec
from ferryman.errors import FlavorError, ModelFileError, UntrustedTypeError
from ferryman.flavors.base import ArrayPredictor, Flavor, LoadContext, Predictor
from ferryman.flavors.labels import plain_classes
from ferryman.flavors.trust import check_importable, untrusted

# Classifiers whose predict is, in scikit-learn's own code, the class of largest probability
# (ties included); anything else (tuned thresholds, SVC with Platt scaling, ...) is asked both.
# Named, not imported: importing sklearn.ensemble only to compare would cost time and memory.
_ARGMAX_CLASSIFIERS = frozenset(
    {
        "sklearn.linear_model._logistic.LogisticRegression",
        "sklearn.ensemble._forest.RandomForestClassifier",
        "sklearn.ensemble._forest.ExtraTreesClassifier",
        "sklearn.tree._classes.DecisionTreeClassifier",
        "sklearn.tree._classes.ExtraTreeClassifier",
    }
)


class SklearnPredictor(Predictor):
    snapshot_safe = True
    _series_input = False  # what snapshots pickled before this attribute existed read

    def __init__(self, model: Any, series_input: bool = False) -> None:
        self._model = model
        classes = getattr(model, "classes_", None)
        self.classes = plain_classes(classes) if classes is not None else None
        names = getattr(model, "feature_names_in_", None)
        self._feature_names = list(names) if names is not None else None
        # fitted on one column alone (recorded at registration), or a text pipeline, which
        # can only have been fitted so: its vectorizer reads one document per row
        self._series_input = series_input or (names is None and _reads_documents(model))

    @property
    def feature_names(self) -> tuple[str, ...] | None:
        return tuple(self._feature_names) if self._feature_names is not None else None

    @property
    def native(self) -> Any:
        return self._model

    def _input(self, frame: pd.DataFrame) -> Any:
        if self._series_input:
            if frame.shape[1] != 1:
                raise ValueError(
                    f"the model takes one column alone (it was fitted on a Series or 1-D "
                    f"array); it was given {frame.shape[1]} columns {list(frame.columns)[:5]}"
                )
            return frame.iloc[:, 0]
        # A model fitted on a DataFrame wants its column names; one fitted on an array warns
        # when given names, so it gets the bare values.
        if self._feature_names is None:
            return frame.to_numpy()
        return frame[self._feature_names]

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return np.asarray(self._model.predict(self._input(frame)))

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray | None:
        if not hasattr(self._model, "predict_proba"):
            return None
        return np.asarray(self._model.predict_proba(self._input(frame)))

    @property
    def labels_follow_proba(self) -> bool:
        final = self._model[-1] if isinstance(self._model, Pipeline) else self._model
        kind = type(final)
        return f"{kind.__module__}.{kind.__qualname__}" in _ARGMAX_CLASSIFIERS

    def array_predictor(self, columns: tuple[str, ...]) -> ArrayPredictor | None:
        if self._series_input:
            return None
        if self._feature_names is not None and tuple(self._feature_names) != columns:
            return None
        return SklearnArrayPredictor(_without_input_names(self._model))


class SklearnArrayPredictor(ArrayPredictor):
    """The estimator fed a bare array. Input names were checked against the signature before,
    so the copy that sees the raw input forgets them instead of warning on every call."""

    def __init__(self, model: Any) -> None:
        self._model = model
        self._has_proba = hasattr(model, "predict_proba")

    def predict(self, rows: np.ndarray) -> np.ndarray:
        return np.asarray(self._model.predict(rows))

    def predict_proba(self, rows: np.ndarray) -> np.ndarray | None:
        return np.asarray(self._model.predict_proba(rows)) if self._has_proba else None


def _reads_documents(model: Any) -> bool:
    """True when the model's first step is a text vectorizer (CountVectorizer,
    TfidfVectorizer, HashingVectorizer), which takes one document per row."""
    first = model.steps[0][1] if isinstance(model, Pipeline) and model.steps else model
    return callable(getattr(first, "build_analyzer", None))


def _without_input_names(model: Any) -> Any:
    """A shallow copy of ``model`` whose first estimator (the one that sees the input) has no
    ``feature_names_in_``; fitted arrays are shared, not copied."""
    if isinstance(model, Pipeline) and model.steps:
        clone = copy.copy(model)
        name, first = model.steps[0]
        clone.steps = [(name, _without_input_names(first)), *model.steps[1:]]
        return clone
    if "feature_names_in_" not in getattr(model, "__dict__", {}):
        return model
    clone = copy.copy(model)
    del clone.feature_names_in_
    return clone


def _skops() -> Any:
    """skops.io, imported on first use: its import lists every scikit-learn estimator by
    importing them all (~1.4 s, ~20 MB), and a model read from a verified snapshot never
    needs it."""
    return importlib.import_module("skops.io")


class SklearnFlavor(Flavor):
    name = "sklearn"
    file_suffix = ".skops"
    module_prefixes = ("sklearn", "imblearn")
    packages = ("scikit-learn", "skops", "numpy", "scipy")

    def handles(self, model: object) -> bool:
        return isinstance(model, BaseEstimator) and hasattr(model, "predict")

    def save(self, model: object, path: Path) -> None:
        try:
            check_is_fitted(model)
        except NotFittedError as exc:
            raise FlavorError(
                f"the {type(model).__name__} is not fitted: call fit before registering it"
            ) from exc
        _skops().dump(model, path)

    def describe(self, model: object) -> OutputSpec:
        if is_classifier(model) and hasattr(model, "classes_"):
            return OutputSpec(kind="classifier", classes=plain_classes(model.classes_))
        if is_regressor(model):
            return OutputSpec(kind="regressor")
        return OutputSpec()

    def sniff(self, path: Path) -> bool:
        if not zipfile.is_zipfile(path):
            return False
        with zipfile.ZipFile(path) as archive:
            return "schema.json" in archive.namelist()

    def load(self, path: Path, context: LoadContext) -> Predictor:
        try:
            needed = _skops().get_untrusted_types(file=path)
        except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, OSError) as exc:
            raise ModelFileError(f"{path.name} is not a readable skops file: {exc}") from exc
        if context.is_registration:
            check_importable(needed)
        refused = untrusted(needed, context.trusted_types, context.has_default_trust)
        if refused:
            raise UntrustedTypeError(
                f"the model file needs types that are not trusted: {', '.join(refused)}; "
                "loading them could run code from the file",
                refused,
            )
        try:
            model = _skops().load(path, trusted=list(needed))
        except (ImportError, AttributeError) as exc:
            raise ModelFileError(
                f"a type the model file needs cannot be imported ({exc}): install the package "
                "that defines it, or put the folder of its module on PYTHONPATH"
            ) from exc
        except (zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError) as exc:
            raise ModelFileError(f"cannot load {path.name} as a skops file: {exc}") from exc
        if not hasattr(model, "predict"):
            raise ModelFileError(
                f"{path.name} holds a {type(model).__name__}, which cannot predict"
            )
        return SklearnPredictor(model, context.series_input)
