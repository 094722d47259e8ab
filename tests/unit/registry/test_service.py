"""The registry service over a real SQLite file and artifact folder."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline

from ferryman.errors import (
    AliasError,
    AliasNotFoundError,
    InvalidArgumentError,
    InvalidInputError,
    InvalidNameError,
    InvalidQueryError,
    InvalidReferenceError,
    ModelNotFoundError,
    SchemaError,
    VersionNotFoundError,
)
from ferryman.registry import Registry


def test_register_records_everything_a_version_holds(
    registry: Registry, cancer_frame: pd.DataFrame, cancer_model: Pipeline
) -> None:
    version = registry.register(
        cancer_model,
        "cancer",
        train_data=cancer_frame,
        target="target",
        metrics={"accuracy": 0.97, "auc": np.float64(0.99)},
        params={"C": 1.0, "solver": "lbfgs", "layers": (3, 4)},
        tags={"team": "risk", "stage": 2},
        description="first try",
    )
    assert (version.model, version.version, version.flavor) == ("cancer", 1, "sklearn")
    assert len(version.artifact_sha256) == 64
    assert version.artifact_size > 0
    assert version.metrics == {"accuracy": 0.97, "auc": 0.99}
    assert version.params == {"C": 1.0, "solver": "lbfgs", "layers": [3, 4]}
    assert version.tags == {"team": "risk", "stage": "2"}
    assert version.description == "first try"
    assert version.created_by == "tester"
    assert version.signature is not None
    features = [c for c in cancer_frame.columns if c != "target"]
    assert version.signature.names == features
    assert version.output.kind == "classifier"
    assert version.output.classes == (0, 1)
    assert version.output.target == "target"
    assert version.data_fingerprint is not None
    assert len(version.data_fingerprint) == 64
    assert version.has_profile
    env = version.environment
    assert env["python"].count(".") == 2
    assert env["packages"]["scikit-learn"]
    assert env["packages"]["skops"]


def test_profile_and_reference_sample_are_kept(
    home: object, cancer_frame: pd.DataFrame, cancer_model: Pipeline
) -> None:
    from ferryman.config import Settings

    registry = Registry(Settings.load(sample_rows=100, record_git=False))
    registry.register(cancer_model, "cancer", train_data=cancer_frame, target="target")
    profile = registry.profile("cancer/1")
    assert profile is not None
    assert profile.rows == len(cancer_frame)
    assert profile.target == "target"
    radius = profile.columns["mean radius"]
    assert radius.numeric is not None
    assert sum(radius.numeric.bin_counts) == len(cancer_frame)
    assert radius.numeric.quantiles["0.5"] == pytest.approx(cancer_frame["mean radius"].median())
    sample = registry.reference_sample("cancer/1")
    assert sample is not None
    assert len(sample) == 100 == profile.sample_rows
    assert list(sample.columns) == list(cancer_frame.columns)
    # every sampled row is a real training row
    merged = sample.merge(cancer_frame.drop_duplicates(), how="left", indicator=True)
    assert (merged["_merge"] == "both").all()


def test_versions_are_numbered_per_model(registry: Registry, cancer_model: Pipeline) -> None:
    numbers = [registry.register(cancer_model, "a").version for _ in range(3)]
    assert numbers == [1, 2, 3]
    assert registry.register(cancer_model, "b").version == 1
    assert registry.get_model("a").version_count == 3
    assert registry.get_model("a").latest_version == 3


def test_references_resolve_in_every_form(registry: Registry, cancer_model: Pipeline) -> None:
    for _ in range(3):
        registry.register(cancer_model, "m")
    registry.set_alias("m", "production", 2)
    registry.set_alias("m", "challenger", 3)
    assert registry.resolve("m").version == 2
    assert registry.resolve("m@production").version == 2
    assert registry.resolve("m@challenger").version == 3
    assert registry.resolve("m/1").version == 1
    assert registry.resolve("m@latest").version == 3
    assert registry.resolve("m/2").aliases == ("production",)


@pytest.mark.parametrize(
    ("ref", "error"),
    [
        ("nope", ModelNotFoundError),
        ("m/9", VersionNotFoundError),
        ("m@staging", AliasNotFoundError),
        ("m/0", InvalidReferenceError),
        ("m@", InvalidReferenceError),
        ("bad name", InvalidReferenceError),
        ("", InvalidReferenceError),
    ],
)
def test_bad_references_raise_specific_errors(
    registry: Registry, cancer_model: Pipeline, ref: str, error: type[Exception]
) -> None:
    registry.register(cancer_model, "m")
    with pytest.raises(error):
        registry.resolve(ref)


def test_missing_alias_error_says_how_to_set_it(registry: Registry, cancer_model: Pipeline) -> None:
    registry.register(cancer_model, "m")
    with pytest.raises(AliasNotFoundError, match=r"ferryman alias set m production"):
        registry.load("m")


def test_promotion_and_rollback(registry: Registry, cancer_model: Pipeline) -> None:
    for _ in range(3):
        registry.register(cancer_model, "m")
    registry.set_alias("m", "production", 1)
    registry.set_alias("m", "production", 3)
    move = registry.rollback("m")
    assert (move.from_version, move.to_version, move.kind) == (3, 1, "rollback")
    assert registry.resolve("m").version == 1
    with pytest.raises(AliasError, match="no earlier version"):
        registry.rollback("m")
    kinds = [e.kind for e in registry.history("m", kinds=["alias.set", "alias.rollback"])]
    assert kinds == ["alias.rollback", "alias.set", "alias.set"]


@pytest.mark.parametrize("alias", ["123", "latest", "bad alias", ""])
def test_invalid_aliases_are_refused(
    registry: Registry, cancer_model: Pipeline, alias: str
) -> None:
    registry.register(cancer_model, "m")
    with pytest.raises(InvalidNameError):
        registry.set_alias("m", alias, 1)
    assert registry.get_model("m").aliases == {}


@pytest.mark.parametrize("version", [0, -1, "x", 1.5, True])
def test_invalid_version_numbers_are_refused(
    registry: Registry, cancer_model: Pipeline, version: object
) -> None:
    registry.register(cancer_model, "m")
    with pytest.raises(InvalidQueryError):
        registry.set_alias("m", "production", version)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["has space", "slash/name", "at@sign", "-leading", "x" * 129, ""])
def test_invalid_model_names_are_refused(
    registry: Registry, cancer_model: Pipeline, name: str
) -> None:
    with pytest.raises(InvalidNameError):
        registry.register(cancer_model, name)
    assert len(registry.list_models()) == 0


@pytest.mark.parametrize(
    "metrics", [{"acc": "high"}, {"acc": float("nan")}, {"acc": True}, {"bad key": 1.0}]
)
def test_invalid_metrics_are_refused_before_anything_is_written(
    registry: Registry, cancer_model: Pipeline, metrics: dict[str, object]
) -> None:
    with pytest.raises((InvalidArgumentError, InvalidNameError)):
        registry.register(cancer_model, "m", metrics=metrics)  # type: ignore[arg-type]
    assert len(registry.list_models()) == 0


def test_training_data_problems_are_schema_errors(
    registry: Registry, cancer_frame: pd.DataFrame, cancer_model: Pipeline
) -> None:
    with pytest.raises(SchemaError, match="target column 'label'"):
        registry.register(cancer_model, "m", train_data=cancer_frame, target="label")
    with pytest.raises(SchemaError, match="fitted on columns"):
        registry.register(cancer_model, "m", train_data=cancer_frame.iloc[:, :5])
    odd = cancer_frame.assign(when=pd.to_timedelta(np.arange(len(cancer_frame)), unit="s"))
    with pytest.raises(SchemaError, match="'when'"):
        registry.register(cancer_model, "m", train_data=odd, target="target")
    assert len(registry.list_models()) == 0


def test_numpy_training_data_gets_column_names(registry: Registry) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3))
    model = LinearRegression().fit(x, x @ [1.0, 2.0, 3.0])
    version = registry.register(model, "lin", train_data=x)
    assert version.signature is not None
    assert version.signature.names == ["f0", "f1", "f2"]
    assert version.output.kind == "regressor"
    registry.set_alias("lin", "production", 1)
    loaded = registry.load("lin")
    frame = pd.DataFrame(x[:4], columns=["f0", "f1", "f2"])
    np.testing.assert_allclose(loaded.predict(frame), model.predict(x[:4]))


def test_load_predicts_like_the_original(
    registry: Registry, cancer_frame: pd.DataFrame, cancer_model: Pipeline
) -> None:
    registry.register(cancer_model, "m", train_data=cancer_frame, target="target")
    loaded = registry.load("m/1")
    features = cancer_frame.drop(columns="target")
    np.testing.assert_array_equal(loaded.predict(features), cancer_model.predict(features))
    np.testing.assert_allclose(
        loaded.predict_proba(features.head(10)), cancer_model.predict_proba(features.head(10))
    )
    records = features.head(3).to_dict("records")
    np.testing.assert_array_equal(loaded.predict(records), cancer_model.predict(features.head(3)))
    # a single record and shuffled column order are fine
    shuffled = features.head(2)[list(reversed(features.columns))]
    np.testing.assert_array_equal(loaded.predict(shuffled), cancer_model.predict(features.head(2)))
    assert loaded.predict(records[0]).shape == (1,)
    table = loaded.predict_frame(features.head(4))
    assert list(table.columns) == ["prediction", "proba_0", "proba_1"]
    assert loaded.version.ref == "m/1"


def test_load_validates_input_against_the_signature(
    registry: Registry, cancer_frame: pd.DataFrame, cancer_model: Pipeline
) -> None:
    registry.register(cancer_model, "m", train_data=cancer_frame, target="target")
    loaded = registry.load("m/1")
    record = cancer_frame.drop(columns="target").iloc[0].to_dict()
    bad = [
        dict(record, **{"mean radius": "big"}),
        {k: v for k, v in record.items() if k != "mean area"},
    ]
    with pytest.raises(InvalidInputError) as caught:
        loaded.predict(bad)
    problems = caught.value.problems
    assert any(p.row == 0 and p.column == "mean radius" for p in problems)
    assert any(p.row == 1 and p.column == "mean area" for p in problems)
    assert loaded.validate([record]) == []


def test_second_load_comes_from_the_cache(registry: Registry, cancer_model: Pipeline) -> None:
    registry.register(cancer_model, "m")
    # registering loads the saved file back to check it: that load is kept
    registry.load("m/1")
    assert (registry.cache.misses, registry.cache.hits) == (0, 1)
    registry.cache.clear()
    first = registry.load("m/1")
    second = registry.load("m/1")
    assert second.predictor is first.predictor
    assert (registry.cache.misses, registry.cache.hits) == (1, 2)


def test_regressor_has_no_probabilities(registry: Registry) -> None:
    x = np.arange(20.0).reshape(10, 2)
    registry.register(LinearRegression().fit(x, x.sum(axis=1)), "reg")
    loaded = registry.load("reg/1")
    assert not loaded.is_classifier
    with pytest.raises(Exception, match="not a classifier"):
        loaded.predict_proba(x)


def test_listing_filters_by_metric_and_tag(registry: Registry, cancer_model: Pipeline) -> None:
    for i, acc in enumerate([0.7, 0.9, 0.95]):
        registry.register(cancer_model, "m", metrics={"acc": acc}, tags={"even": str(i % 2 == 0)})
    good = registry.list_versions("m", metrics=["acc>=0.9"])
    assert [v.version for v in good] == [3, 2]
    even = registry.list_versions("m", tags={"even": "True"})
    assert [v.version for v in even] == [3, 1]
    with pytest.raises(InvalidQueryError, match="NAME OP NUMBER"):
        registry.list_versions("m", metrics=["acc about 0.9"])


def test_tags_and_deletion_are_audited(registry: Registry, cancer_model: Pipeline) -> None:
    registry.register(cancer_model, "m")
    registry.register(cancer_model, "m")
    registry.set_version_tags("m/1", {"reviewed": "yes"})
    registry.update_model("m", description="churn model", set_tags={"team": "a"})
    registry.delete_version("m/2")
    kinds = [e.kind for e in registry.history("m")]
    assert kinds[:3] == ["version.deleted", "model.updated", "version.updated"]
    with pytest.raises(VersionNotFoundError):
        registry.resolve("m/2")
    assert registry.register(cancer_model, "m").version == 3


def test_models_fitted_on_arrays_do_not_warn_when_loaded(registry: Registry) -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(80, 4))
    model = LogisticRegression().fit(x, x[:, 0] > 0)
    registry.register(model, "arr", train_data=x)
    loaded = registry.load("arr/1")  # warnings are errors in this suite
    assert loaded.predict(pd.DataFrame(x[:5], columns=[f"f{i}" for i in range(4)])).shape == (5,)


def test_tree_ensembles_load_with_default_trust(
    registry: Registry, cancer_frame: pd.DataFrame
) -> None:
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier

    features, target = cancer_frame.drop(columns="target"), cancer_frame["target"]
    for model in (
        RandomForestClassifier(n_estimators=5, random_state=0),
        HistGradientBoostingClassifier(max_iter=5),
    ):
        model.fit(features, target)
        version = registry.register(model, "trees", train_data=cancer_frame, target="target")
        registry.cache.clear()
        loaded = registry.load(version.ref)
        np.testing.assert_array_equal(loaded.predict(features), model.predict(features))


def test_without_sklearn_internals_a_forest_needs_explicit_trust(
    home: object, cancer_frame: pd.DataFrame
) -> None:
    from sklearn.ensemble import RandomForestClassifier

    from ferryman.config import Settings
    from ferryman.errors import UntrustedTypeError

    registry = Registry(Settings.load(trust_sklearn_internals=False, record_git=False))
    features = cancer_frame.drop(columns="target")
    forest = RandomForestClassifier(n_estimators=3, random_state=0).fit(
        features, cancer_frame["target"]
    )
    with pytest.raises(UntrustedTypeError, match=r"sklearn\.tree\._tree\.Tree"):
        registry.register(forest, "forest")
    assert registry.list_models().items == []  # refused before anything was recorded
    version = registry.register(forest, "forest", trusted_types=["sklearn.tree._tree.Tree"])
    assert version.version == 1
