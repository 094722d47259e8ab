"""A check any flavor plug-in can run on itself (like scikit-learn's check_estimator)."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ferryman.flavors.base import Flavor, LoadContext


def check_flavor(
    flavor: Flavor, model: object, frame: pd.DataFrame, *, trusted_types: Sequence[str] = ()
) -> None:
    """Save ``model`` with ``flavor``, load it back, and check that it predicts as before.

    The file is loaded trusting what the registry trusts by default (``numpy.dtype`` and
    scikit-learn's own classes, see ``trust_sklearn_internals``) plus ``trusted_types``.
    Raises AssertionError describing the first broken rule.
    """
    if not flavor.name or not isinstance(flavor.name, str):
        raise AssertionError("a flavor needs a non-empty name")
    if not flavor.handles(model):
        raise AssertionError(f"flavor {flavor.name!r} does not handle {type(model).__name__}")
    output = flavor.describe(model)
    with tempfile.TemporaryDirectory(prefix="ferryman-check-") as tmp:
        path = Path(tmp) / f"model{flavor.file_suffix}"
        flavor.save(model, path)
        if not path.is_file() or path.stat().st_size == 0:
            raise AssertionError(f"flavor {flavor.name!r} wrote no file")
        if not flavor.sniff(path):
            raise AssertionError(f"flavor {flavor.name!r} does not recognise its own file")
        context = LoadContext(trusted_types=tuple(trusted_types), output=output)
        first = flavor.load(path, context)
        second = flavor.load(path, context)
        predicted = first.predict(frame)
        if len(predicted) != len(frame):
            raise AssertionError(
                f"predict returned {len(predicted)} rows for {len(frame)} input rows"
            )
        if not np.array_equal(np.asarray(predicted), np.asarray(second.predict(frame))):
            raise AssertionError("two loads of the same file predict differently")
        proba = first.predict_proba(frame)
        if output.is_classifier:
            if proba is None:
                raise AssertionError("a classifier must answer predict_proba")
            classes = first.classes or ()
            if proba.shape != (len(frame), len(classes)):
                raise AssertionError(
                    f"predict_proba shape {proba.shape}, expected {(len(frame), len(classes))}"
                )
            if not np.allclose(proba.sum(axis=1), 1.0, atol=1e-4):
                raise AssertionError("class probabilities of a row must sum to 1")
