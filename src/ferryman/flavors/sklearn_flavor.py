"""scikit-learn estimators and pipelines, saved with skops.

Loading never unpickles arbitrary code: skops loads only types it trusts by default plus those
the user trusts in settings or by argument. A file needing any other type is refused, naming it.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import skops.io as sio
from sklearn.base import BaseEstimator, is_classifier, is_regressor
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from ferryman.core.signature import OutputSpec
from ferryman.errors import FlavorError, ModelFileError, UntrustedTypeError
from ferryman.flavors.base import Flavor, LoadContext, Predictor, plain_classes


class SklearnPredictor(Predictor):
    def __init__(self, model: Any) -> None:
        self._model = model
        classes = getattr(model, "classes_", None)
        self.classes = plain_classes(classes) if classes is not None else None
        names = getattr(model, "feature_names_in_", None)
        self._feature_names = list(names) if names is not None else None

    @property
    def feature_names(self) -> tuple[str, ...] | None:
        return tuple(self._feature_names) if self._feature_names is not None else None

    @property
    def native(self) -> Any:
        return self._model

    def _input(self, frame: pd.DataFrame) -> Any:
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
        sio.dump(model, path)

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
            needed = sio.get_untrusted_types(file=path)
        except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, OSError) as exc:
            raise ModelFileError(f"{path.name} is not a readable skops file: {exc}") from exc
        refused = sorted(set(needed) - set(context.trusted_types))
        if refused:
            raise UntrustedTypeError(
                f"the model file needs types that are not trusted: {', '.join(refused)}. Loading "
                "them could run code from the file. If you trust its author, add them to "
                "trusted_types in settings (FERRYMAN_TRUSTED_TYPES), pass --trust TYPE on the "
                "command line, or trusted_types=[...] in Python",
                refused,
            )
        try:
            model = sio.load(path, trusted=list(needed))
        except (ImportError, AttributeError) as exc:
            raise ModelFileError(
                f"cannot load {path.name}: a type it needs cannot be imported ({exc}); install "
                "the package that defines it"
            ) from exc
        except (zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError) as exc:
            raise ModelFileError(f"cannot load {path.name} as a skops file: {exc}") from exc
        if not hasattr(model, "predict"):
            raise ModelFileError(
                f"{path.name} holds a {type(model).__name__}, which cannot predict"
            )
        return SklearnPredictor(model)
