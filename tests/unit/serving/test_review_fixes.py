"""Regressions from the serving review: each test fails on the code before its fix."""

from __future__ import annotations

import asyncio
import logging
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import FixedThresholdClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from ferryman.config import Settings
from ferryman.registry import Registry
from ferryman.serving.pool import ModelPool, PoolSettings
from ferryman.serving.served import ServedVersion


def test_a_tuned_threshold_classifier_answers_its_own_predict(
    registry: Registry, cancer_frame: pd.DataFrame
) -> None:
    features = cancer_frame.drop(columns="target")
    base = make_pipeline(StandardScaler(), LogisticRegression(C=0.01, max_iter=1000))
    model = FixedThresholdClassifier(base, threshold=0.9).fit(features, cancer_frame.target)
    registry.register(model, "tuned", train_data=cancer_frame, target="target")
    served = ServedVersion(registry.load("tuned/1"))
    served.warm(registry.reference_sample("tuned/1"))
    rows = np.asarray(features, dtype=np.float64)
    item = served.codec.encode(features.to_dict(orient="records"))
    (answer,) = served.run([item])
    expected = model.predict(features)
    assert (np.asarray(answer.labels) != expected).sum() == 0
    assert len(rows) == len(answer.labels)


def test_a_forest_gives_labels_and_probabilities_in_one_pass(
    registry: Registry, cancer_frame: pd.DataFrame
) -> None:
    features = cancer_frame.drop(columns="target")
    model = RandomForestClassifier(n_estimators=5, random_state=0).fit(
        features, cancer_frame.target
    )
    registry.register(model, "forest", train_data=cancer_frame, target="target")
    served = ServedVersion(registry.load("forest/1"))
    served.warm(registry.reference_sample("forest/1"))
    assert served._labels_from_proba is True
    (answer,) = served.run([served.codec.encode(features.to_dict(orient="records"))])
    assert list(answer.labels) == model.predict(features).tolist()


def test_without_training_data_calls_run_in_a_thread(
    registry: Registry, cancer_model: Pipeline
) -> None:
    registry.register(cancer_model, "bare")
    served = ServedVersion(registry.load("bare/1"))
    served.warm(None)
    assert served.warmed
    assert served.inline is False


def test_a_version_that_fails_to_load_is_tried_once_per_alias_move(
    home: Path, cancer_model: Pipeline, cancer_frame: pd.DataFrame, caplog: pytest.LogCaptureFixture
) -> None:
    registry = Registry(Settings.load(home=home, record_git=False, snapshot_models=False))
    try:
        registry.register(cancer_model, "cancer", train_data=cancer_frame, target="target",
                          aliases=["production"])  # fmt: skip
        broken = registry.register(cancer_model, "cancer", train_data=cancer_frame, target="target")
        registry.cache.clear()
        blob = registry.artifacts.local_path(broken.artifact_sha256, broken.artifact_size)
        shutil.copyfile(blob, home / "kept")
        Path(blob).write_bytes(b"not a model")

        async def main() -> tuple[int, list[str]]:
            pool = ModelPool(registry, PoolSettings(poll_interval=0))
            await pool.start()
            try:
                registry.set_alias("cancer", "production", 2)
                changed = [name for _ in range(5) for name in await pool.refresh()]
                return pool.served("cancer").number, changed
            finally:
                await pool.stop()

        with caplog.at_level(logging.ERROR, logger="ferryman.serving"):
            number, changed = asyncio.run(main())
    finally:
        registry.close()
    assert number == 1
    assert changed == []
    failures = [r for r in caplog.records if "cannot load cancer/2" in r.getMessage()]
    assert len(failures) == 1
