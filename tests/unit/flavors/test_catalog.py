"""FlavorCatalog: finding flavors by name, by model object and by model file; custom flavors."""

from __future__ import annotations

import importlib
import json
import zipfile
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import onnx
import pandas as pd
import pytest
import xgboost as xgb
from skl2onnx import to_onnx
from sklearn.base import BaseEstimator
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ferryman.core.signature import OutputSpec
from ferryman.errors import FlavorError, ModelFileError, UnknownFlavorError
from ferryman.flavors import (
    Flavor,
    FlavorCatalog,
    LoadContext,
    Predictor,
    check_flavor,
    get_flavor,
    register_flavor,
)

BUILTIN = ("lightgbm", "onnx", "sklearn", "xgboost")


class ConstantModel:
    """Always predicts the same number."""

    def __init__(self, value: float) -> None:
        self.value = value


class ConstantPredictor(Predictor):
    def __init__(self, value: float) -> None:
        self.value = value

    @property
    def native(self) -> Any:
        return ConstantModel(self.value)

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return np.full(len(frame), self.value)


class ConstantFlavor(Flavor):
    name = "constant"
    file_suffix = ".json"

    def handles(self, model: object) -> bool:
        return isinstance(model, ConstantModel)

    def save(self, model: object, path: Path) -> None:
        assert isinstance(model, ConstantModel)
        path.write_text(json.dumps({"constant": model.value}), encoding="utf-8")

    def describe(self, model: object) -> OutputSpec:
        return OutputSpec(kind="regressor")

    def sniff(self, path: Path) -> bool:
        try:
            return "constant" in json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, TypeError):
            return False

    def load(self, path: Path, context: LoadContext) -> Predictor:
        return ConstantPredictor(json.loads(path.read_text(encoding="utf-8"))["constant"])


class SklearnLikeEstimator(BaseEstimator):
    """An estimator from outside scikit-learn: the sklearn flavor is the fallback for it."""

    def fit(self, X: Any, y: Any) -> SklearnLikeEstimator:
        self.mean_ = float(np.mean(y))
        return self

    def predict(self, X: Any) -> np.ndarray:
        return np.full(len(X), self.mean_)


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, np.ndarray]:
    X, y = make_classification(200, 5, random_state=0)
    return pd.DataFrame(X, columns=[f"x{i}" for i in range(5)]), y


@pytest.fixture(scope="module")
def models(data: tuple[pd.DataFrame, np.ndarray]) -> dict[str, list[object]]:
    """Fitted models of each built-in flavor, by the flavor that should handle them."""
    frame, y = data
    logistic = LogisticRegression().fit(frame.to_numpy(), y)
    return {
        "sklearn": [
            LogisticRegression().fit(frame, y),
            make_pipeline(StandardScaler(), LogisticRegression()).fit(frame, y),
            SklearnLikeEstimator().fit(frame, y),
        ],
        "xgboost": [
            xgb.XGBClassifier(n_estimators=3, max_depth=2, n_jobs=1).fit(frame, y),
            xgb.train(
                {"objective": "binary:logistic", "nthread": 1},
                xgb.DMatrix(frame, label=y),
                num_boost_round=3,
            ),
        ],
        "lightgbm": [
            lgb.LGBMClassifier(n_estimators=3, num_leaves=4, n_jobs=1, verbose=-1).fit(frame, y),
            lgb.train(
                {"objective": "binary", "num_threads": 1, "verbose": -1},
                lgb.Dataset(frame, label=y),
                num_boost_round=3,
            ),
        ],
        "onnx": [to_onnx(logistic, frame.to_numpy(dtype=np.float32)[:1])],
    }


@pytest.fixture
def catalog() -> FlavorCatalog:
    return FlavorCatalog()


@pytest.mark.parametrize("name", BUILTIN)
def test_for_model_picks_the_right_flavor(
    catalog: FlavorCatalog, models: dict[str, list[object]], name: str
) -> None:
    for model in models[name]:
        assert catalog.for_model(model).name == name, type(model)


def test_for_model_refuses_an_unsupported_object(catalog: FlavorCatalog) -> None:
    with pytest.raises(FlavorError, match=r"builtins\.dict") as info:
        catalog.for_model({"weights": [1, 2, 3]})

    for name in BUILTIN:
        assert name in str(info.value)


def test_for_model_refuses_a_transformer_that_cannot_predict(catalog: FlavorCatalog) -> None:
    with pytest.raises(FlavorError, match="StandardScaler"):
        catalog.for_model(StandardScaler())


@pytest.mark.parametrize("name", BUILTIN)
@pytest.mark.parametrize("with_suffix", [True, False], ids=["suffix", "no-suffix"])
def test_for_file_recognises_each_flavors_file(
    catalog: FlavorCatalog,
    models: dict[str, list[object]],
    tmp_path: Path,
    name: str,
    with_suffix: bool,
) -> None:
    flavor = catalog.get(name)
    for i, model in enumerate(models[name]):
        path = tmp_path / (f"model{i}{flavor.file_suffix}" if with_suffix else f"model{i}")
        flavor.save(model, path)

        assert catalog.for_file(path).name == name


@pytest.mark.parametrize("kind", ["random", "text", "empty", "plain-zip"])
def test_for_file_refuses_an_unknown_file(
    catalog: FlavorCatalog, tmp_path: Path, kind: str
) -> None:
    path = tmp_path / "mystery"
    if kind == "random":
        path.write_bytes(np.random.default_rng(0).bytes(1000))
    elif kind == "text":
        path.write_text("hello\nworld\n", encoding="utf-8")
    elif kind == "empty":
        path.write_bytes(b"")
    else:
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("readme.txt", "hi")

    with pytest.raises(ModelFileError, match="mystery"):
        catalog.for_file(path)


def test_for_file_of_a_missing_file(catalog: FlavorCatalog, tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="missing"):
        catalog.for_file(tmp_path / "missing")


def test_get_unknown_flavor_lists_the_known_ones(catalog: FlavorCatalog) -> None:
    with pytest.raises(UnknownFlavorError, match="'nope'") as info:
        catalog.get("nope")

    for name in BUILTIN:
        assert name in str(info.value)
    assert isinstance(info.value, FlavorError)


@pytest.mark.parametrize("name", BUILTIN)
def test_get_builtin_flavor(catalog: FlavorCatalog, name: str) -> None:
    flavor = catalog.get(name)

    assert flavor.name == name
    assert catalog.get(name) is flavor
    assert catalog.is_available(name)


def test_names_lists_the_builtin_flavors(catalog: FlavorCatalog) -> None:
    assert set(BUILTIN) <= set(catalog.names())


def test_registered_flavor_is_found_by_name_model_and_file(
    catalog: FlavorCatalog, tmp_path: Path
) -> None:
    flavor = ConstantFlavor()
    catalog.register(flavor)
    path = tmp_path / "const"
    flavor.save(ConstantModel(2.5), path)

    assert catalog.get("constant") is flavor
    assert catalog.for_model(ConstantModel(1.0)) is flavor
    assert catalog.for_file(path) is flavor
    assert "constant" in catalog.names()


def test_registered_flavor_passes_the_conformance_check() -> None:
    check_flavor(ConstantFlavor(), ConstantModel(4.0), pd.DataFrame({"x": [1.0, 2.0, 3.0]}))


def test_registering_does_not_touch_other_catalogs(catalog: FlavorCatalog) -> None:
    catalog.register(ConstantFlavor())

    with pytest.raises(UnknownFlavorError):
        FlavorCatalog().get("constant")


def test_registering_again_replaces_the_flavor(catalog: FlavorCatalog) -> None:
    first, second = ConstantFlavor(), ConstantFlavor()
    catalog.register(first)
    catalog.register(second)

    assert catalog.get("constant") is second
    assert catalog.for_model(ConstantModel(1.0)) is second
    assert catalog.names().count("constant") == 1


def test_registered_flavor_is_tried_before_builtins(
    catalog: FlavorCatalog, data: tuple[pd.DataFrame, np.ndarray]
) -> None:
    class EveryEstimator(ConstantFlavor):
        name = "every-estimator"

        def handles(self, model: object) -> bool:
            return isinstance(model, BaseEstimator)

    frame, y = data
    catalog.register(EveryEstimator())

    assert catalog.for_model(LogisticRegression().fit(frame, y)).name == "every-estimator"


def test_only_flavors_can_be_registered(catalog: FlavorCatalog) -> None:
    with pytest.raises(FlavorError, match=r"not a ferryman\.flavors\.Flavor"):
        catalog.register(object())  # type: ignore[arg-type]


def test_register_flavor_uses_the_process_catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    module = importlib.import_module("ferryman.flavors.catalog")
    monkeypatch.setattr(module, "catalog", FlavorCatalog())
    flavor = ConstantFlavor()

    register_flavor(flavor)

    assert get_flavor("constant") is flavor
    assert module.catalog.for_model(ConstantModel(0.0)) is flavor


def test_onnx_model_proto_is_the_onnx_flavor(catalog: FlavorCatalog) -> None:
    assert catalog.for_model(onnx.ModelProto()).name == "onnx"
