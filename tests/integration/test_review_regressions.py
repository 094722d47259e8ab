"""Regression tests for the review fixes, at the SDK/Registry level (real SQLite, real files)."""

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
from ferryman.schema import read_table


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


def damage_database(path: Path) -> None:
    """Garbage over every page after the first two (the header page and the one after it)."""
    data = path.read_bytes()
    page = int.from_bytes(data[16:18], "big") or 65536
    start = 2 * page
    garbage = (bytes(range(256)) * (len(data) // 256 + 1))[: len(data) - start]
    path.write_bytes(data[:start] + garbage)


def blob(home: Path, sha256: str) -> Path:
    return home / "artifacts" / "sha256" / sha256[:2] / sha256[2:]


def flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.fixture
def cancer_rows(cancer_frame: pd.DataFrame) -> pd.DataFrame:
    return cancer_frame.drop(columns="target").head(2)


@pytest.fixture
def int_frame() -> pd.DataFrame:
    """40 rows: an integer column ``n``, a float column ``x`` and a 0/1 ``y``."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=40)
    return pd.DataFrame({"n": np.arange(40, dtype="int64"), "x": x, "y": (x > 0).astype(int)})


@pytest.fixture
def int_registry(registry: Registry, int_frame: pd.DataFrame) -> Registry:
    """Model ``m`` version 1: a logistic regression over ``n`` and ``x``, target ``y``."""
    model = LogisticRegression().fit(int_frame[["n", "x"]], int_frame["y"])
    registry.register(model, "m", train_data=int_frame, target="y")
    return registry


@pytest.fixture
def cancer_registry(
    registry: Registry, cancer_model: Pipeline, cancer_frame: pd.DataFrame
) -> Registry:
    """Model ``cancer`` version 1, registered with its training data and target."""
    registry.register(cancer_model, "cancer", train_data=cancer_frame, target="target")
    return registry


# --- 2. integer overflow and infinities ---------------------------------------------------------
def test_an_integer_beyond_int64_is_refused_naming_row_and_column(int_registry: Registry) -> None:
    model = int_registry.load("m/1")

    with pytest.raises(errors.InvalidInputError) as caught:
        model.predict([{"n": 1, "x": 0.5}, {"n": 2**70, "x": 0.5}])

    assert [(p.row, p.column) for p in caught.value.problems] == [(1, "n")]
    assert "row 1" in str(caught.value)
    assert "'n'" in str(caught.value)


def test_a_float_too_big_for_an_integer_column_is_refused(int_registry: Registry) -> None:
    model = int_registry.load("m/1")

    with pytest.raises(errors.InvalidInputError) as caught:
        model.predict(pd.DataFrame({"n": [1e20], "x": [0.5]}))

    assert [(p.row, p.column) for p in caught.value.problems] == [(0, "n")]


@pytest.mark.parametrize(
    "data",
    [
        pd.DataFrame({"n": [1, 2, 3], "x": [0.5, np.inf, -np.inf]}),
        [{"n": 1, "x": 0.5}, {"n": 2, "x": float("inf")}, {"n": 3, "x": float("-inf")}],
    ],
    ids=["frame", "records"],
)
def test_infinities_in_a_float_column_are_not_finite(int_registry: Registry, data: object) -> None:
    model = int_registry.load("m/1")

    with pytest.raises(errors.InvalidInputError) as caught:
        model.predict(data)  # type: ignore[arg-type]

    assert [(p.row, p.column, p.kind) for p in caught.value.problems] == [
        (1, "x", "not_finite"),
        (2, "x", "not_finite"),
    ]


# --- 3. zero-row input --------------------------------------------------------------------------
def test_empty_input_gives_empty_results(
    cancer_registry: Registry, cancer_frame: pd.DataFrame
) -> None:
    model = cancer_registry.load("cancer/1")
    empty = cancer_frame.drop(columns="target").iloc[:0]

    assert model.predict(empty).shape == (0,)
    assert model.predict_proba(empty).shape == (0, 2)
    frame = model.predict_frame(empty)
    assert list(frame.columns) == ["prediction", "proba_0", "proba_1"]
    assert len(frame) == 0


# --- 4. a model that fails ----------------------------------------------------------------------
def test_a_model_failing_on_checked_input_is_a_one_line_error_naming_the_rows(
    cancer_registry: Registry, cancer_frame: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = cancer_registry.load("cancer/1")

    def boom(frame: pd.DataFrame) -> np.ndarray:
        raise ValueError("boom\nsecond line")

    monkeypatch.setattr(model.predictor, "predict", boom)

    with pytest.raises(errors.InvalidInputError) as caught:
        model.predict(cancer_frame.drop(columns="target").head(3))

    message = str(caught.value)
    assert message == "model cancer/1 cannot predict on rows 0, 1, 2: boom"
    assert [p.row for p in caught.value.problems] == [0, 1, 2]


# --- 5. deleting a model ------------------------------------------------------------------------
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


# --- 6. aliases at registration -----------------------------------------------------------------
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


# --- 7. a corrupt blob is repaired --------------------------------------------------------------
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


# --- 8. no reference sample ---------------------------------------------------------------------
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


# --- 9. the model's columns, not the data's -----------------------------------------------------
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


# --- 10. the target column in the input ---------------------------------------------------------
def test_the_target_column_in_predict_input_is_ignored(
    cancer_registry: Registry, cancer_frame: pd.DataFrame
) -> None:
    model = cancer_registry.load("cancer/1")
    with_target = cancer_frame.head(4)
    expected = model.predict(with_target.drop(columns="target"))

    assert model.predict(with_target).tolist() == expected.tolist()
    records = with_target.to_dict(orient="records")
    assert "target" in records[0]
    assert model.predict(records).tolist() == expected.tolist()
    assert model.predict_frame(with_target)["prediction"].tolist() == expected.tolist()


# --- 13. version numbers in references ----------------------------------------------------------
def test_a_version_alias_written_with_at_says_how_to_write_it(
    registry: Registry, cancer_model: Pipeline
) -> None:
    registry.register(cancer_model, "m")

    with pytest.raises(errors.InvalidReferenceError, match="'m/3'"):
        registry.resolve("m@3")


# --- 14. a damaged database ---------------------------------------------------------------------
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


# --- 18. odd training data and unfitted models --------------------------------------------------
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


# --- 19. a damaged reference sample -------------------------------------------------------------
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


# --- 20. detection by content, repeated headers -------------------------------------------------
def test_a_skops_file_named_onnx_registers_as_sklearn(
    registry: Registry, cancer_model: Pipeline, cancer_rows: pd.DataFrame, tmp_path: Path
) -> None:
    path = tmp_path / "something.onnx"
    sio.dump(cancer_model, path)

    version = registry.register_file(path, "m")

    assert version.flavor == "sklearn"
    assert registry.load("m/1").predict(cancer_rows).shape == (2,)


def test_a_csv_with_a_repeated_header_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text("a,a,b\n1,2,3\n")

    with pytest.raises(errors.DataFileError, match="repeated"):
        read_table(path)


# --- 21. tree ensembles -------------------------------------------------------------------------
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
