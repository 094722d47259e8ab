"""check_flavor: passes a sound flavor, names the rule a broken flavor breaks, and passes
every flavor ferryman ships on the models data scientists give it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from flavor_support import LIGHTGBM_TREES, XGBOOST_TREES, ZIPMAP, convert, regression
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier

from ferryman.core.signature import OutputSpec
from ferryman.errors import UntrustedTypeError
from ferryman.flavors import Flavor, LoadContext, Predictor, check_flavor, get_flavor
from ferryman.flavors.sklearn_flavor import SklearnFlavor


class Weights:
    """A tiny linear classifier: p(class 1) = sigmoid(frame @ weights)."""

    def __init__(self, weights: list[float]) -> None:
        self.weights = weights


class WeightsPredictor(Predictor):
    classes = (0, 1)

    def __init__(self, weights: list[float]) -> None:
        self.weights = np.asarray(weights)

    @property
    def native(self) -> Any:
        return Weights(self.weights.tolist())

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray | None:
        p = 1.0 / (1.0 + np.exp(-(frame.to_numpy() @ self.weights)))
        return np.column_stack([1.0 - p, p])

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        proba = self.predict_proba(frame)
        assert proba is not None
        return np.argmax(proba, axis=1)


class WeightsFlavor(Flavor):
    name = "weights"
    file_suffix = ".json"

    def handles(self, model: object) -> bool:
        return isinstance(model, Weights)

    def save(self, model: object, path: Path) -> None:
        assert isinstance(model, Weights)
        path.write_text(json.dumps({"weights": model.weights}), encoding="utf-8")

    def describe(self, model: object) -> OutputSpec:
        return OutputSpec(kind="classifier", classes=(0, 1))

    def sniff(self, path: Path) -> bool:
        return "weights" in json.loads(path.read_text(encoding="utf-8"))

    def load(self, path: Path, context: LoadContext) -> Predictor:
        return WeightsPredictor(json.loads(path.read_text(encoding="utf-8"))["weights"])


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(np.random.default_rng(0).normal(size=(20, 3)), columns=["a", "b", "c"])


MODEL = Weights([0.5, -1.0, 2.0])


def test_a_sound_flavor_passes(frame: pd.DataFrame) -> None:
    check_flavor(WeightsFlavor(), MODEL, frame)


def test_wrong_number_of_rows(frame: pd.DataFrame) -> None:
    class ShortPredictor(WeightsPredictor):
        def predict(self, frame: pd.DataFrame) -> np.ndarray:
            return super().predict(frame)[:-1]

    class Broken(WeightsFlavor):
        def load(self, path: Path, context: LoadContext) -> Predictor:
            return ShortPredictor(MODEL.weights)

    with pytest.raises(AssertionError, match="predict returned 19 rows for 20 input rows"):
        check_flavor(Broken(), MODEL, frame)


def test_a_flavor_without_a_name() -> None:
    class Broken(WeightsFlavor):
        name = ""

    with pytest.raises(AssertionError, match="non-empty name"):
        check_flavor(Broken(), MODEL, pd.DataFrame({"a": [1.0]}))


def test_a_flavor_that_does_not_handle_the_model(frame: pd.DataFrame) -> None:
    with pytest.raises(AssertionError, match="does not handle dict"):
        check_flavor(WeightsFlavor(), {"weights": [1.0]}, frame)


def test_a_flavor_that_writes_no_file(frame: pd.DataFrame) -> None:
    class Broken(WeightsFlavor):
        def save(self, model: object, path: Path) -> None:
            path.write_bytes(b"")

    with pytest.raises(AssertionError, match="wrote no file"):
        check_flavor(Broken(), MODEL, frame)


def test_a_flavor_that_does_not_recognise_its_file(frame: pd.DataFrame) -> None:
    class Broken(WeightsFlavor):
        def sniff(self, path: Path) -> bool:
            return False

    with pytest.raises(AssertionError, match="does not recognise its own file"):
        check_flavor(Broken(), MODEL, frame)


def test_loads_that_predict_differently(frame: pd.DataFrame) -> None:
    class Broken(WeightsFlavor):
        loads = 0

        def load(self, path: Path, context: LoadContext) -> Predictor:
            self.loads += 1
            return WeightsPredictor(
                MODEL.weights if self.loads == 1 else [-w for w in MODEL.weights]
            )

    with pytest.raises(AssertionError, match="predict differently"):
        check_flavor(Broken(), MODEL, frame)


def test_a_classifier_without_probabilities(frame: pd.DataFrame) -> None:
    class NoProba(WeightsPredictor):
        def predict(self, frame: pd.DataFrame) -> np.ndarray:
            return np.zeros(len(frame), dtype=int)

        def predict_proba(self, frame: pd.DataFrame) -> np.ndarray | None:
            return None

    class Broken(WeightsFlavor):
        def load(self, path: Path, context: LoadContext) -> Predictor:
            return NoProba(MODEL.weights)

    with pytest.raises(AssertionError, match="must answer predict_proba"):
        check_flavor(Broken(), MODEL, frame)


def test_probabilities_of_the_wrong_shape(frame: pd.DataFrame) -> None:
    class ThreeClasses(WeightsPredictor):
        classes = (0, 1, 2)

    class Broken(WeightsFlavor):
        def load(self, path: Path, context: LoadContext) -> Predictor:
            return ThreeClasses(MODEL.weights)

    with pytest.raises(AssertionError, match=r"predict_proba shape \(20, 2\), expected \(20, 3\)"):
        check_flavor(Broken(), MODEL, frame)


def test_probabilities_that_do_not_sum_to_one(frame: pd.DataFrame) -> None:
    class Doubled(WeightsPredictor):
        def predict_proba(self, frame: pd.DataFrame) -> np.ndarray | None:
            proba = super().predict_proba(frame)
            assert proba is not None
            return proba * 2

    class Broken(WeightsFlavor):
        def load(self, path: Path, context: LoadContext) -> Predictor:
            return Doubled(MODEL.weights)

    with pytest.raises(AssertionError, match="sum to 1"):
        check_flavor(Broken(), MODEL, frame)


def test_a_regressor_needs_no_probabilities(frame: pd.DataFrame) -> None:
    class Scores(WeightsPredictor):
        classes = None

        def predict(self, frame: pd.DataFrame) -> np.ndarray:
            return frame.to_numpy() @ self.weights

        def predict_proba(self, frame: pd.DataFrame) -> np.ndarray | None:
            return None

    class Regressor(WeightsFlavor):
        def describe(self, model: object) -> OutputSpec:
            return OutputSpec(kind="regressor")

        def load(self, path: Path, context: LoadContext) -> Predictor:
            return Scores(MODEL.weights)

    check_flavor(Regressor(), MODEL, frame)


class Doubler(BaseEstimator, TransformerMixin):  # type: ignore[misc]
    """A transformer of the user's own: skops loads it only when told to trust it."""

    def fit(self, x: Any, y: Any = None) -> Doubler:
        return self

    def transform(self, x: Any) -> Any:
        return np.asarray(x) * 2.0


def _cancer() -> tuple[pd.DataFrame, pd.Series]:
    data = load_breast_cancer(as_frame=True)
    return data.data.head(200), data.target.head(200)


def test_a_type_of_the_users_own_is_checked_once_trusted() -> None:
    x, y = _cancer()
    model = make_pipeline(Doubler(), LogisticRegression(max_iter=5000)).fit(x, y)
    with pytest.raises(UntrustedTypeError, match="Doubler"):
        check_flavor(SklearnFlavor(), model, x.head(20))
    check_flavor(SklearnFlavor(), model, x.head(20), trusted_types=[f"{__name__}.Doubler"])


# -- every flavor ferryman ships ------------------------------------------------------------
# Each case is a model as a data scientist fits it, and the rows it is checked on; the flavor
# tests assert what each flavor answers beyond what the check asks.

Data = tuple[pd.DataFrame, np.ndarray]


class Sets(NamedTuple):
    """The flavor tests' data sets (conftest.py)."""

    binary: Data
    three_class: Data
    mixed: Data


Fitted = tuple[object, pd.DataFrame]  # a model, and the rows it is checked on
TEXT_LABELS = np.array(["low", "mid", "high"])


def _fitted(model: Any, data: Data, *, as_array: bool = False) -> Fitted:
    frame, y = data
    return model.fit(frame.to_numpy() if as_array else frame, y), frame


def _column_transformer_pipeline(mixed: Data) -> Fitted:
    prep = ColumnTransformer(
        [
            ("text", OneHotEncoder(handle_unknown="ignore"), ["colour"]),
            ("numbers", StandardScaler(), ["a", "b", "c", "d"]),
        ]
    )
    return _fitted(make_pipeline(prep, LogisticRegression()), mixed)


def _cancer_tree(model: Any) -> Fitted:
    x, y = _cancer()
    return model.fit(x, y), x.head(20)


def _xgboost_booster(data: Data, params: dict[str, Any]) -> Fitted:
    frame, y = data
    params = {"max_depth": 2, "nthread": 1, **params}
    return xgb.train(params, xgb.DMatrix(frame, label=y), num_boost_round=5), frame


def _lightgbm_booster(data: Data) -> Fitted:
    frame, y = data
    params = {"objective": "binary", "num_leaves": 4, "num_threads": 1, "verbose": -1}
    return lgb.train(params, lgb.Dataset(frame, label=y), num_boost_round=5), frame


def _onnx(model: Any, data: Data, options: dict[str, Any] | None) -> Fitted:
    frame, y = data
    return convert(model.fit(frame.to_numpy(), y), frame, options), frame


CASES: dict[str, tuple[str, Callable[[Sets], Fitted]]] = {
    "sklearn-classifier-on-a-frame": (
        "sklearn",
        lambda d: _fitted(LogisticRegression(), d.binary),
    ),
    "sklearn-classifier-on-an-array": (
        "sklearn",
        lambda d: _fitted(LogisticRegression(), d.binary, as_array=True),
    ),
    "sklearn-regressor": ("sklearn", lambda d: _fitted(LinearRegression(), regression())),
    "sklearn-pipeline-with-a-column-transformer": (
        "sklearn",
        lambda d: _column_transformer_pipeline(d.mixed),
    ),
    # trees pass with the registry's default trust (numpy.dtype, scikit-learn's own classes)
    "sklearn-decision-tree": (
        "sklearn",
        lambda d: _cancer_tree(DecisionTreeClassifier(max_depth=3)),
    ),
    "sklearn-random-forest": (
        "sklearn",
        lambda d: _cancer_tree(RandomForestClassifier(n_estimators=5)),
    ),
    "xgboost-binary-classifier": (
        "xgboost",
        lambda d: _fitted(xgb.XGBClassifier(**XGBOOST_TREES), d.binary),
    ),
    "xgboost-three-class-classifier": (
        "xgboost",
        lambda d: _fitted(xgb.XGBClassifier(**XGBOOST_TREES), d.three_class),
    ),
    "xgboost-regressor": (
        "xgboost",
        lambda d: _fitted(xgb.XGBRegressor(**XGBOOST_TREES), regression()),
    ),
    "xgboost-classifier-fitted-on-an-array": (
        "xgboost",
        lambda d: _fitted(xgb.XGBClassifier(**XGBOOST_TREES), d.binary, as_array=True),
    ),
    "xgboost-raw-booster": (
        "xgboost",
        lambda d: _xgboost_booster(d.binary, {"objective": "binary:logistic"}),
    ),
    "xgboost-softmax-booster": (
        "xgboost",
        lambda d: _xgboost_booster(d.three_class, {"objective": "multi:softmax", "num_class": 3}),
    ),
    "lightgbm-binary-classifier": (
        "lightgbm",
        lambda d: _fitted(lgb.LGBMClassifier(**LIGHTGBM_TREES), d.binary),
    ),
    "lightgbm-multiclass-classifier-with-text-labels": (
        "lightgbm",
        lambda d: _fitted(
            lgb.LGBMClassifier(**LIGHTGBM_TREES),
            (d.three_class[0], TEXT_LABELS[d.three_class[1]]),
        ),
    ),
    "lightgbm-regressor": (
        "lightgbm",
        lambda d: _fitted(lgb.LGBMRegressor(**LIGHTGBM_TREES), regression()),
    ),
    "lightgbm-raw-booster": ("lightgbm", lambda d: _lightgbm_booster(d.binary)),
    "onnx-regressor": ("onnx", lambda d: _onnx(LinearRegression(), regression(), None)),
}
for _zipmap, _options in ZIPMAP.items():
    CASES[f"onnx-binary-classifier-{_zipmap}"] = (
        "onnx",
        lambda d, options=_options: _onnx(LogisticRegression(), d.binary, options),
    )
    CASES[f"onnx-three-class-classifier-with-text-labels-{_zipmap}"] = (
        "onnx",
        lambda d, options=_options: _onnx(
            LogisticRegression(),
            (d.three_class[0], np.array(["a", "b", "c"])[d.three_class[1]]),
            options,
        ),
    )


@pytest.mark.parametrize(("flavor", "fit"), CASES.values(), ids=CASES.keys())
def test_every_flavor_passes_the_check_on_the_models_it_is_given(
    flavor: str, fit: Callable[[Sets], Fitted], binary: Data, three_class: Data, mixed: Data
) -> None:
    model, frame = fit(Sets(binary, three_class, mixed))

    check_flavor(get_flavor(flavor), model, frame)
