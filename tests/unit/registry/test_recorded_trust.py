"""Trust given at registration is kept with the version, audited, and used by every load."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from ferryman.config import Settings
from ferryman.errors import InvalidArgumentError, UnimportableTypeError, UntrustedTypeError
from ferryman.registry import Registry


class Halver(TransformerMixin, BaseEstimator):
    """A transformer of the user's own: skops trusts it only when told to."""

    def fit(self, X: Any, y: Any = None) -> Halver:
        return self

    def transform(self, X: Any) -> np.ndarray:
        return np.asarray(X, dtype=float) / 2.0


HALVER = f"{__name__}.Halver"


@pytest.fixture
def features(cancer_frame: pd.DataFrame) -> pd.DataFrame:
    return cancer_frame.drop(columns="target")


@pytest.fixture
def halving(cancer_frame: pd.DataFrame, features: pd.DataFrame) -> Pipeline:
    model = make_pipeline(StandardScaler(), Halver(), LogisticRegression())
    return model.fit(features, cancer_frame["target"])


def _fresh(home: Path, **settings: Any) -> Registry:
    """Another process's registry: nothing in memory, no snapshots to skip the checked load."""
    return Registry(Settings.load(snapshot_models=False, record_git=False, **settings))


def test_trust_given_at_registration_applies_to_every_later_load(
    home: Path, halving: Pipeline, features: pd.DataFrame
) -> None:
    registry = _fresh(home)
    version = registry.register(halving, "halving", trusted_types=[HALVER, f" {HALVER}"])

    assert version.trusted_types == (HALVER,)
    assert version.trusted_by == "tester"
    later = _fresh(home)
    loaded = later.load("halving/1")  # no trust passed: the version's own is used
    np.testing.assert_array_equal(loaded.predict(features), halving.predict(features))
    shown = later.resolve("halving/1")
    assert (shown.trusted_types, shown.trusted_by) == ((HALVER,), "tester")
    event = next(e for e in later.history("halving") if e.kind == "version.trusted")
    assert (event.version, event.actor, event.after) == (1, "tester", {"trusted_types": [HALVER]})


def test_trust_from_the_settings_is_not_recorded_with_the_version(
    home: Path, halving: Pipeline
) -> None:
    registry = _fresh(home, trusted_types=[HALVER])
    version = registry.register(halving, "halving")

    assert version.trusted_types == ()
    assert [e.kind for e in registry.history("halving")] == ["version.created", "model.created"]
    with pytest.raises(UntrustedTypeError) as info:
        _fresh(home).load("halving/1")
    message = str(info.value)
    assert message.startswith(
        f"halving/1: the model file needs types that are not trusted: {HALVER}"
    )
    assert "pass trusted_types=[...] to trust them for this run" in message
    assert "--trust" not in message  # the Python API has no such option
    assert _fresh(home).load("halving/1", trusted_types=[HALVER]) is not None


def test_a_refused_registration_says_how_to_trust_in_python(home: Path, halving: Pipeline) -> None:
    registry = _fresh(home)

    with pytest.raises(UntrustedTypeError) as info:
        registry.register(halving, "halving")

    message = str(info.value)
    assert HALVER in message
    assert "pass trusted_types=[...]: the trust is kept with the version" in message
    assert registry.list_models().items == []


def test_a_malformed_trusted_type_is_refused_before_any_work(home: Path, halving: Pipeline) -> None:
    registry = _fresh(home)

    with pytest.raises(InvalidArgumentError, match="'Halver' is not a type name"):
        registry.register(halving, "halving", trusted_types=["Halver"])
    assert registry.list_models().items == []


def test_a_class_defined_in_a_function_is_refused_at_registration(
    home: Path, cancer_frame: pd.DataFrame, features: pd.DataFrame
) -> None:
    class Doubler(Halver):
        def transform(self, X: Any) -> np.ndarray:
            return np.asarray(X, dtype=float) * 2.0

    model = make_pipeline(StandardScaler(), Doubler(), LogisticRegression())
    model.fit(features, cancer_frame["target"])
    registry = _fresh(home)

    for trusted in ([], [f"{__name__}.Doubler"]):  # trusting it would not help: say so first
        with pytest.raises(UnimportableTypeError, match=rf"{__name__}\.Doubler is not a top-level"):
            registry.register(model, "doubling", trusted_types=trusted)
    assert registry.list_models().items == []


def test_default_trust_is_part_of_the_cache_key(home: Path, cancer_frame: pd.DataFrame) -> None:
    from sklearn.ensemble import RandomForestClassifier

    forest = RandomForestClassifier(n_estimators=3, random_state=0)
    forest.fit(cancer_frame.drop(columns="target"), cancer_frame["target"])
    _fresh(home).register(forest, "forest")
    strict = Registry(Settings.load(trust_sklearn_internals=False, record_git=False))

    with pytest.raises(UntrustedTypeError) as info:
        strict.load("forest/1")  # the snapshot of the trusting load is not used
    assert "sklearn.tree._tree.Tree" in str(info.value)
    assert "trust_sklearn_internals is off" in str(info.value)
