"""The flavor plug-in interface: how a model format is saved, recognised, loaded and run."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ferryman.core.signature import OutputSpec

if TYPE_CHECKING:  # for the signatures only: the registry uses this module without pandas
    import numpy as np
    import pandas as pd


@dataclass(frozen=True)
class LoadContext:
    """What a flavor may use when loading: types the user trusts and what the registry knows.

    ``has_default_trust``: the types ``ferryman.flavors.trust`` trusts by default are trusted
    too (the setting ``trust_sklearn_internals``). ``is_registration``: the file is being
    registered, so types no other process could import are refused.
    ``series_input``: the model takes its one input column alone (1-D), as it was fitted.
    """

    trusted_types: tuple[str, ...] = ()
    output: OutputSpec = field(default_factory=OutputSpec)
    has_default_trust: bool = True
    is_registration: bool = False
    series_input: bool = False


class Predictor(ABC):
    """A loaded model. Takes a DataFrame whose columns are in signature order."""

    classes: tuple[Any, ...] | None = None
    # True when the object may be kept as a signed pickle snapshot (registry/snapshots.py)
    snapshot_safe: ClassVar[bool] = False

    @property
    def labels_follow_proba(self) -> bool:
        """True when ``predict`` is, by construction, the most probable class of
        ``predict_proba`` (so serving may compute both in one pass). False when unsure: a
        tuned threshold or a calibrated SVC answers otherwise near the boundary."""
        return False

    @property
    def feature_names(self) -> tuple[str, ...] | None:
        """The input columns the model itself knows, in order, if it records them."""
        return None

    @property
    @abstractmethod
    def native(self) -> Any:
        """The library's own model object."""

    @abstractmethod
    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Predictions, one per row: class labels for classifiers, numbers for regressors."""

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray | None:
        """Class probabilities (rows x classes, in ``classes`` order), or None if it has none."""
        return None

    def array_predictor(self, columns: tuple[str, ...]) -> ArrayPredictor | None:
        """A way to predict on a 2-D float array whose columns are ``columns`` in order.

        Serving uses it to skip building a DataFrame per request. A flavor returns None when
        its model needs a DataFrame (the default); serving checks at warm-up that both ways
        answer the same before it relies on this one.
        """
        return None


class ArrayPredictor(ABC):
    """Predictions on a 2-D float64 array whose columns are in signature order."""

    @abstractmethod
    def predict(self, rows: np.ndarray) -> np.ndarray:
        """Same answers as ``Predictor.predict`` on the same rows as a DataFrame."""

    @abstractmethod
    def predict_proba(self, rows: np.ndarray) -> np.ndarray | None:
        """Same answers as ``Predictor.predict_proba`` on the same rows as a DataFrame."""


class Flavor(ABC):
    """A model format. Subclass it and register it to add a format; see docs/flavors.md.

    ``module_prefixes`` lets ferryman recognise a model object by its class's module without
    importing optional libraries; ``packages`` are the distributions recorded with a version.
    """

    name: ClassVar[str]
    file_suffix: ClassVar[str] = ""
    module_prefixes: ClassVar[tuple[str, ...]] = ()
    packages: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def handles(self, model: object) -> bool:
        """True if ``model`` is an object this flavor can save."""

    @abstractmethod
    def save(self, model: object, path: Path) -> None:
        """Write ``model`` to the file ``path`` (one file)."""

    @abstractmethod
    def describe(self, model: object) -> OutputSpec:
        """Whether ``model`` is a classifier (and its classes) or a regressor."""

    @abstractmethod
    def sniff(self, path: Path) -> bool:
        """True if the file at ``path`` looks like this flavor's format (cheap check)."""

    @abstractmethod
    def load(self, path: Path, context: LoadContext) -> Predictor:
        """Load the file at ``path``; raise ModelFileError if it is not valid."""

    def describe_loaded(self, predictor: Predictor) -> OutputSpec:
        """What a model loaded from a file answers (by default, ``describe`` of its object)."""
        return self.describe(predictor.native)
