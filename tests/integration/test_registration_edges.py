"""Registering and reading back models: version numbers, aliases, signatures in the model's
order, stored files that were damaged, and formats told apart (real SQLite, real files)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from ferryman import errors
from ferryman.config import Settings
from ferryman.registry import Registry
from store_damage import damage_database


@contextmanager
def fresh(settings: Settings) -> Iterator[Registry]:
    """A second Registry on the same store: nothing comes from the first one's model cache."""
    registry = Registry(settings)
    try:
        yield registry
    finally:
        registry.close()


def read_model(settings: Settings, read: Callable[[Registry], object]) -> None:
    with fresh(settings) as registry:
        read(registry)


def blob(home: Path, sha256: str) -> Path:
    return home / "artifacts" / "sha256" / sha256[:2] / sha256[2:]


def flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.fixture
def cancer_rows(cancer_frame: pd.DataFrame) -> pd.DataFrame:
    return cancer_frame.drop(columns="target").head(2)


def test_a_deleted_model_does_not_reuse_version_numbers(
    registry: Registry, cancer_model: Pipeline
) -> None:
    registry.register(cancer_model, "m")
    registry.register(cancer_model, "m")
    registry.delete_model("m")

    version = registry.register(cancer_model, "m")

    assert version.version == 3
    assert [v.version for v in registry.list_versions("m")] == [3]
    with pytest.raises(errors.VersionNotFoundError):
        registry.resolve("m/1")
    kinds = [e.kind for e in reversed(registry.history("m").items)]
    assert kinds == [
        "model.created",
        "version.created",
        "version.created",
        "model.deleted",
        "model.created",
        "version.created",
    ]


def test_register_points_aliases_at_the_new_version(
    registry: Registry, cancer_model: Pipeline
) -> None:
    registry.register(cancer_model, "m")

    version = registry.register(cancer_model, "m", aliases=["staging", "production"])

    assert version.version == 2
    assert sorted(version.aliases) == ["production", "staging"]
    assert registry.resolve("m@staging").version == 2
    assert registry.resolve("m").version == 2


@pytest.mark.parametrize("alias", ["bad alias", "123", "latest"])
def test_an_invalid_alias_registers_nothing(
    registry: Registry, cancer_model: Pipeline, alias: str
) -> None:
    with pytest.raises(errors.InvalidNameError):
        registry.register(cancer_model, "m", aliases=[alias])

    with pytest.raises(errors.ModelNotFoundError):
        registry.get_model("m")
    assert registry.list_models().items == []


def test_registering_the_same_file_again_repairs_a_corrupt_blob(
    home: Path,
    settings: Settings,
    registry: Registry,
    cancer_model: Pipeline,
    cancer_rows: pd.DataFrame,
    tmp_path: Path,
) -> None:
    path = tmp_path / "model.skops"
    sio.dump(cancer_model, path)
    first = registry.register_file(path, "m")
    flip_a_byte(blob(home, first.artifact_sha256))
    with fresh(settings) as other, pytest.raises(errors.ArtifactError):
        other.load("m/1")

    second = registry.register_file(path, "m")

    assert second.artifact_sha256 == first.artifact_sha256
    with fresh(settings) as other:
        for ref in ("m/2", "m/1"):
            assert other.load(ref).predict(cancer_rows).shape == (2,)


def test_sample_rows_zero_still_registers_with_training_data(
    home: Path, cancer_model: Pipeline, cancer_frame: pd.DataFrame
) -> None:
    settings = Settings.load(home=home, actor="tester", record_git=False, sample_rows=0)
    with fresh(settings) as registry:
        version = registry.register(cancer_model, "m", train_data=cancer_frame, target="target")

        assert version.signature is not None
        assert len(version.signature.names) == 30
        sample = registry.reference_sample("m/1")
        assert sample is None or len(sample) == 0
        profile = registry.profile("m/1")
        assert profile is not None
        assert profile.sample_rows == 0


def test_the_signature_is_the_model_columns_in_the_model_order(registry: Registry) -> None:
    rng = np.random.default_rng(1)
    data = pd.DataFrame(
        {"b": rng.normal(size=30), "extra": rng.normal(size=30), "a": rng.normal(size=30)}
    )
    data["target"] = (data["a"] > 0).astype(int)
    model = LogisticRegression().fit(data[["a", "b"]], data["target"])

    version = registry.register(model, "m", train_data=data, target="target")

    assert version.signature is not None
    assert version.signature.names == ["a", "b"]
    loaded = registry.load("m/1")
    assert loaded.predict([{"a": 1.0, "b": 0.0}, {"b": 0.0, "a": -1.0}]).tolist() == [1, 0]


def test_a_model_column_missing_from_the_training_data_is_a_schema_error(
    registry: Registry,
) -> None:
    rng = np.random.default_rng(2)
    data = pd.DataFrame({"a": rng.normal(size=30), "b": rng.normal(size=30)})
    model = LogisticRegression().fit(data, data["a"] > 0)

    with pytest.raises(errors.SchemaError, match="'a'"):
        registry.register(model, "m", train_data=data.rename(columns={"a": "A"}))
    assert registry.list_models().items == []


def test_a_lightgbm_file_with_a_renamed_training_column_is_a_schema_error(
    registry: Registry, tmp_path: Path
) -> None:
    rng = np.random.default_rng(7)
    data = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60)})
    data["y"] = (data["a"] > 0).astype(int)
    model = lgb.LGBMClassifier(n_estimators=3, n_jobs=1, verbose=-1, min_child_samples=5)
    model.fit(data[["a", "b"]], data["y"])
    path = tmp_path / "model.txt"
    model.booster_.save_model(path)

    with pytest.raises(errors.SchemaError, match="'a'"):
        registry.register_file(path, "m", train_data=data.rename(columns={"a": "A"}), target="y")
    assert registry.list_models().items == []


def test_a_version_alias_written_with_at_says_how_to_write_it(
    registry: Registry, cancer_model: Pipeline
) -> None:
    registry.register(cancer_model, "m")

    with pytest.raises(errors.InvalidReferenceError, match="'m/3'"):
        registry.resolve("m@3")


@pytest.mark.parametrize(
    "read",
    [
        lambda r: r.get_model("m"),
        lambda r: r.list_models(),
        lambda r: r.list_versions("m"),
        lambda r: r.resolve("m/1"),
        lambda r: r.history("m"),
        lambda r: r.alias_history("m"),
        lambda r: r.set_alias("m", "staging", 1),
    ],
    ids=["get_model", "list_models", "list_versions", "resolve", "history", "aliases", "set_alias"],
)
def test_a_damaged_database_is_a_store_error(
    home: Path, settings: Settings, cancer_model: Pipeline, read: Callable[[Registry], object]
) -> None:
    with fresh(settings) as registry:
        registry.register(cancer_model, "m", tags={"k": "v"}, metrics={"acc": 0.9})
    damage_database(home / "ferryman.db")

    with pytest.raises(errors.StoreError):
        read_model(settings, read)


def test_integer_column_labels_train_and_predict(registry: Registry) -> None:
    rng = np.random.default_rng(3)
    values = rng.normal(size=(30, 3))
    frame = pd.DataFrame(values)
    model = LogisticRegression().fit(frame, values[:, 0] > 0)

    version = registry.register(model, "m", train_data=frame)

    assert version.signature is not None
    assert version.signature.names == ["0", "1", "2"]
    predicted = registry.load("m/1").predict(pd.DataFrame(values[:5]))
    assert predicted.tolist() == model.predict(frame.head(5)).tolist()


def test_a_sparse_training_column_is_unsupported(registry: Registry) -> None:
    rng = np.random.default_rng(4)
    dense = pd.DataFrame({"a": rng.normal(size=30), "b": [0.0] * 29 + [1.0]})
    model = LogisticRegression().fit(dense, dense["a"] > 0)
    sparse = dense.assign(b=pd.arrays.SparseArray(dense["b"].to_numpy()))

    with pytest.raises(errors.UnsupportedColumnTypeError, match="'b'"):
        registry.register(model, "m", train_data=sparse)
    assert registry.list_models().items == []


def test_an_unfitted_model_is_refused(registry: Registry) -> None:
    with pytest.raises(errors.FlavorError, match="not fitted"):
        registry.register(LogisticRegression(), "m")
    assert registry.list_models().items == []


def test_a_truncated_reference_sample_is_an_artifact_error(
    home: Path, cancer_registry: Registry
) -> None:
    profile = cancer_registry.profile("cancer/1")
    assert profile is not None
    assert profile.sample_sha256 is not None
    path = blob(home, profile.sample_sha256)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])

    with pytest.raises(errors.ArtifactError):
        cancer_registry.reference_sample("cancer/1")


def test_a_skops_file_named_onnx_registers_as_sklearn(
    registry: Registry, cancer_model: Pipeline, cancer_rows: pd.DataFrame, tmp_path: Path
) -> None:
    path = tmp_path / "something.onnx"
    sio.dump(cancer_model, path)

    version = registry.register_file(path, "m")

    assert version.flavor == "sklearn"
    assert registry.load("m/1").predict(cancer_rows).shape == (2,)


def test_a_random_forest_registers_and_loads_with_default_settings(
    settings: Settings, registry: Registry, cancer_frame: pd.DataFrame
) -> None:
    features = cancer_frame.drop(columns="target")
    forest = RandomForestClassifier(n_estimators=3, max_depth=2, random_state=0, n_jobs=1)
    forest.fit(features, cancer_frame["target"])

    registry.register(forest, "forest", train_data=cancer_frame, target="target")

    with fresh(settings) as other:  # not the predictor cached at registration
        predicted = other.load("forest/1").predict(features.head(5))
    assert predicted.tolist() == forest.predict(features.head(5)).tolist()
