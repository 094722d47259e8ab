"""A model's column names matched to the training data's, as LightGBM rewrites them."""

from __future__ import annotations

from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd

from ferryman.config import Settings
from ferryman.registry import Registry
from ferryman.registry.registration import as_training_columns


def test_a_name_whose_spaces_became_underscores_is_the_training_column() -> None:
    columns = ["mean radius", "mean area", "age"]

    assert as_training_columns(["mean_radius", "age", "mean_area"], columns) == [
        "mean radius",
        "age",
        "mean area",
    ]


def test_a_name_that_is_a_training_column_or_matches_two_is_left_alone() -> None:
    columns = ["a b", "a_b", "c d", "c d "]

    assert as_training_columns(["a_b", "c_d_", "x"], columns) == ["a_b", "c d ", "x"]


def test_lightgbm_fitted_on_columns_with_spaces_registers_and_predicts(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(rng.normal(size=(300, 3)), columns=["mean radius", "mean area", "age"])
    target = (frame["mean radius"] + frame["age"] > 0).astype(int)
    model = lgb.LGBMClassifier(n_estimators=10, num_leaves=7, verbose=-1).fit(frame, target)
    registry = Registry(Settings.load(home=tmp_path, actor="tester", record_git=False))
    try:
        version = registry.register(model, "spaced", train_data=frame)
        loaded = registry.load("spaced/1")
        answers = loaded.predict(frame.head(20))
    finally:
        registry.close()

    assert version.signature is not None
    assert version.signature.names == ["mean radius", "mean area", "age"]
    assert answers.tolist() == model.predict(frame.head(20)).tolist()
