"""Held-out rows given at registration (``validation_data``): kept as a bounded sample with the
version, checked like input, and refused when they cannot serve as prediction drift's
reference."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from ferryman.errors import InvalidArgumentError, SchemaError
from ferryman.registry import Registry

FEATURES = ["x0", "x1", "x2", "x3"]


def _draw(rng: np.random.Generator, n: int) -> pd.DataFrame:
    frame = pd.DataFrame(rng.normal(size=(n, len(FEATURES))), columns=FEATURES)
    frame["label"] = (frame["x0"] + rng.normal(size=n) > 0).astype(int)
    return frame


def _logistic() -> LogisticRegression:
    return LogisticRegression()


def test_the_held_out_sample_is_kept_bounded_with_the_version(registry: Registry) -> None:
    rng = np.random.default_rng(9)
    train, held_out = _draw(rng, 500), _draw(rng, 30_000)
    model = _logistic().fit(train[FEATURES], train["label"])
    registry.register(model, "m", train_data=train, target="label", validation_data=held_out)
    sample = registry.validation_sample("m/1")
    assert sample is not None
    assert len(sample) == registry.settings.sample_rows
    assert list(sample.columns) == [*FEATURES, "label"]
    profile = registry.profile("m/1")
    assert profile is not None
    assert profile.validation_rows == registry.settings.sample_rows


def test_validation_data_the_registry_cannot_use_is_refused(registry: Registry) -> None:
    train = _draw(np.random.default_rng(10), 300)
    model = _logistic().fit(train[FEATURES], train["label"])
    with pytest.raises(SchemaError, match="validation data is the training data itself"):
        registry.register(model, "m", train_data=train, target="label", validation_data=train)
    with pytest.raises(SchemaError, match=r"lacks the model's columns \['x3'\]"):
        registry.register(
            model, "m", train_data=train, target="label", validation_data=train.drop(columns="x3")
        )
    broken = _draw(np.random.default_rng(11), 300)
    broken.loc[7, "x1"] = np.nan  # the training data had no nulls there
    with pytest.raises(SchemaError, match=r"does not fit the model's signature: .*row 7"):
        registry.register(model, "m", train_data=train, target="label", validation_data=broken)
    with pytest.raises(InvalidArgumentError, match="validation_data is given but train_data"):
        registry.register(model, "m", validation_data=train)
