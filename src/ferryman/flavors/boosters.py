"""What the XGBoost and LightGBM flavors share: a native booster, given alone or inside the
library's scikit-learn wrapper, kept in the library's own model format.

A version registered from the wrapper knows its classes; a booster or a file registered alone
gets the output its objective tells (a classifier's classes are then 0, 1, ...). A
classifier's labels are the most probable class of its probabilities. Neither library is
imported here: each flavor's module imports its own.
"""

from __future__ import annotations

from abc import abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ferryman.core.signature import OutputSpec
from ferryman.flavors.base import Flavor, LoadContext, Predictor
from ferryman.flavors.labels import label_from_proba, plain_classes

if TYPE_CHECKING:
    import pandas as pd


class BoosterFlavor(Flavor):
    """A flavor for a gradient-boosting library's booster and its scikit-learn wrapper."""

    model_types: ClassVar[tuple[type, ...]]  # the booster and the wrapper
    wrapper_type: ClassVar[type]  # the scikit-learn wrapper, which knows the classes

    def handles(self, model: object) -> bool:
        return isinstance(model, self.model_types)

    def describe(self, model: object) -> OutputSpec:
        classes = getattr(model, "classes_", None) if isinstance(model, self.wrapper_type) else None
        known = plain_classes(classes) if classes is not None else None
        return self._output(self._booster(model), known)

    def load(self, path: Path, context: LoadContext) -> Predictor:
        booster = self._read(path)
        output = context.output
        if output.kind == "other" and output.classes is None:
            output = self._output(booster, None)
        return self._predictor(booster, output)

    @abstractmethod
    def _booster(self, model: object) -> Any:
        """The native booster of ``model`` (the model itself, or the wrapper's)."""

    @abstractmethod
    def _read(self, path: Path) -> Any:
        """The booster in ``path``, or ModelFileError saying why it is not one."""

    @abstractmethod
    def _output(self, booster: Any, classes: tuple[Any, ...] | None) -> OutputSpec:
        """What the booster answers, by its objective (with ``classes`` when known)."""

    @abstractmethod
    def _predictor(self, booster: Any, output: OutputSpec) -> Predictor:
        """The predictor over a loaded booster."""


class BoosterPredictor(Predictor):
    """A loaded booster: a classifier's labels are the most probable of its probabilities.

    A subclass reads the booster's own output (``_raw``) and, when it answers other than
    probabilities, turns it into them (``_probabilities``).
    """

    def __init__(self, booster: Any, output: OutputSpec) -> None:
        self._booster = booster
        self.classes = output.classes if output.kind == "classifier" else None

    @property
    def native(self) -> Any:
        return self._booster

    @property
    def labels_follow_proba(self) -> bool:
        return self.classes is not None  # predict is the argmax of these probabilities

    @abstractmethod
    def _raw(self, frame: pd.DataFrame) -> np.ndarray:
        """What the booster predicts on ``frame``, as the library answers it."""

    def _probabilities(self, frame: pd.DataFrame) -> np.ndarray:
        """A classifier's probabilities: one column (the positive class's) for a binary one."""
        return self._raw(frame)

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray | None:
        if self.classes is None:
            return None
        proba = self._probabilities(frame)
        if proba.ndim == 1:
            return np.column_stack([1.0 - proba, proba])
        return proba

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        if self.classes is None:
            return self._raw(frame)
        proba = self.predict_proba(frame)
        assert proba is not None
        return label_from_proba(proba, self.classes)
