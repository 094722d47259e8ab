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


def test_held_out_rows_taken_from_the_training_rows_are_refused(registry: Registry) -> None:
    train = _draw(np.random.default_rng(12), 400)
    model = _logistic().fit(train[FEATURES], train["label"])
    subset = train.sample(50, random_state=1)
    with pytest.raises(SchemaError, match="100% of the validation rows are also training rows"):
        registry.register(model, "m", train_data=train, target="label", validation_data=subset)


def test_few_distinct_rows_may_repeat_training_rows_in_held_out_data(registry: Registry) -> None:
    rng = np.random.default_rng(13)

    def draw(n: int) -> pd.DataFrame:  # 16 possible rows: every held-out row is in training
        frame = pd.DataFrame(rng.integers(0, 2, size=(n, len(FEATURES))), columns=FEATURES)
        frame["label"] = (frame["x0"] + rng.integers(0, 2, n) > 1).astype(int)
        return frame

    train, held_out = draw(400), draw(200)
    model = _logistic().fit(train[FEATURES], train["label"])
    version = registry.register(
        model, "m", train_data=train, target="label", validation_data=held_out
    )
    assert registry.validation_sample(version.ref) is not None
