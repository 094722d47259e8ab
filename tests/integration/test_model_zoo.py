"""The model zoo: the setups data scientists build, each registered as they would (no flags,
or the trust a class from another package needs), served by ONE real ``ferryman serve`` process
for all (which is given no trust: what was trusted at registration is kept with the version),
and answering exactly as the model does in this process.

Each setup is one entry of ``ZOO``: how to build and fit it on generated or bundled data, the
types it must be trusted with (``trust``), and the columns that a new category and a null are
sent in. What the server does with those follows the policy that trying the model at
registration recorded in the version's signature: refused (422 naming the row and column) or
accepted (``unknown_categories`` / ``unseen_nulls`` = ``accept``: the model answers).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import lightgbm as lgb
import numpy as np
import onnxruntime as ort
import pandas as pd
import pytest
import xgboost as xgb
from skl2onnx import to_onnx
from sklearn.calibration import CalibratedClassifierCV
from sklearn.cluster import KMeans
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.ensemble import (
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    IsolationForest,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    OneHotEncoder,
    OrdinalEncoder,
    StandardScaler,
)
from sklearn.svm import SVC, LinearSVC
from zoo_parts import Clipper

from ferryman.config import Settings
from ferryman.core.records import ModelVersion
from ferryman.registry import Registry
from live_server import LiveServer
from same_predictions import assert_same_predictions
from text_reviews import NEW_REVIEWS, reviews

pytestmark = pytest.mark.slow

NEW_ROWS = 12
NEVER_SEEN = "never-seen-in-training"


# -- data ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Data:
    """Training features (and target), and new rows drawn from the same distribution."""

    train: pd.DataFrame
    target: pd.Series
    new: pd.DataFrame


def split(frame: pd.DataFrame, target: pd.Series) -> Data:
    return Data(frame.iloc[NEW_ROWS:], target.iloc[NEW_ROWS:], frame.iloc[:NEW_ROWS])


def cancer() -> Data:
    bunch = load_breast_cancer(as_frame=True)
    return split(bunch.data.iloc[:, :10], bunch.target)


def cancer_with_nans() -> Data:
    data = cancer()
    rng = np.random.default_rng(5)
    holes = data.train.mask(rng.random(data.train.shape) < 0.1)
    new = data.new.mask(rng.random(data.new.shape) < 0.2)
    return Data(holes, data.target, new)


def diabetes() -> Data:
    bunch = load_diabetes(as_frame=True)
    return split(bunch.data, bunch.target)


def diabetes_with_nans() -> Data:
    """Nulls in every column but ``age``."""
    data = diabetes()
    holes = np.random.default_rng(6).random(data.train.shape) < 0.1
    holes[:, list(data.train.columns).index("age")] = False
    return Data(data.train.mask(holes), data.target, data.new)


def iris() -> Data:
    bunch = load_iris(as_frame=True)
    order = np.random.default_rng(1).permutation(len(bunch.data))  # classes are sorted
    return split(bunch.data.iloc[order], bunch.target.iloc[order])


def customers(categorical: bool = False) -> Data:
    """Mixed columns: two text categories, an integer and a float; a churn-like target."""
    rng = np.random.default_rng(9)
    rows = 600
    frame = pd.DataFrame(
        {
            "city": rng.choice(["Oslo", "Bergen", "Tromso", "Stavanger", "Bodo"], rows),
            "plan": rng.choice(["basic", "pro", "team"], rows, p=[0.5, 0.3, 0.2]),
            "age": rng.integers(18, 80, rows),
            "spend": rng.gamma(2.0, 50.0, rows),
        }
    )
    score = (frame["plan"] == "basic") * 1.0 + (frame["city"] == "Bodo") - frame["spend"] / 100
    target = pd.Series((score + rng.normal(0, 0.5, rows) > 0).astype(int), name="churn")
    if categorical:
        frame = frame.astype({"city": "category", "plan": "category"})
    return split(frame, target)


# -- the setups ----------------------------------------------------------------------------


@dataclass
class Fitted:
    """A fitted model, what it is registered with, and its own answers in this process."""

    model: Any
    train: Any  # train_data as registered: the features (a DataFrame, or a Series of text)
    new: pd.DataFrame  # new rows, sent as records
    labels: np.ndarray
    proba: np.ndarray | None


def sklearn_fit(model: Any, data: Data) -> Fitted:
    model.fit(data.train, data.target)
    proba = model.predict_proba(data.new) if hasattr(model, "predict_proba") else None
    return Fitted(model, data.train, data.new, model.predict(data.new), proba)


@dataclass(frozen=True)
class Setup:
    name: str
    build: Callable[[], Fitted]
    trust: tuple[str, ...] = ()  # types trusted at registration (kept with the version)
    new_category: str | None = None  # a categorical column to send an unseen value in
    null: str | None = None  # a column without nulls in training, to send a null in


def plain(model: Any, data: Callable[[], Data]) -> Callable[[], Fitted]:
    return lambda: sklearn_fit(model, data())


def text_model() -> Fitted:
    data = reviews(300, seed=2)
    model = make_pipeline(TfidfVectorizer(), LogisticRegression())
    model.fit(data["review"], data["label"])
    new = pd.DataFrame({"review": [*NEW_REVIEWS, *reviews(9, seed=3)["review"]]})
    texts = new["review"]
    return Fitted(model, data["review"], new, model.predict(texts), model.predict_proba(texts))


def one_hot_pipeline() -> Fitted:
    encode = ColumnTransformer(
        [
            ("categories", OneHotEncoder(handle_unknown="ignore"), ["city", "plan"]),
            ("numbers", StandardScaler(), ["age", "spend"]),
        ]
    )
    return sklearn_fit(make_pipeline(encode, LogisticRegression()), customers())


def ordinal_pipeline() -> Fitted:
    encode = ColumnTransformer(
        [("categories", OrdinalEncoder(), ["city", "plan"])], remainder="passthrough"
    )
    return sklearn_fit(
        make_pipeline(encode, RandomForestClassifier(20, random_state=0)), customers()
    )


def custom_transformer() -> Fitted:
    return sklearn_fit(make_pipeline(Clipper(), StandardScaler(), Ridge()), diabetes())


def xgboost_model(categorical: bool) -> Callable[[], Fitted]:
    def build() -> Fitted:
        data = customers(categorical=True) if categorical else cancer()
        model = xgb.XGBClassifier(
            n_estimators=20, max_depth=3, enable_categorical=categorical, tree_method="hist"
        )
        return sklearn_fit(model, data)

    return build


def lightgbm_model(categorical: bool) -> Callable[[], Fitted]:
    def build() -> Fitted:
        data = customers(categorical=True) if categorical else cancer()  # spaced names
        model = lgb.LGBMClassifier(n_estimators=20, num_leaves=7, verbose=-1)
        return sklearn_fit(model, data)

    return build


def onnx_model() -> Fitted:
    data = cancer()
    fitted = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    fitted.fit(data.train.to_numpy(np.float32), data.target)
    proto = to_onnx(fitted, data.train.to_numpy(np.float32)[:1], options={"zipmap": False})
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    labels, proba = session.run(None, {session.get_inputs()[0].name: data.new.to_numpy(np.float32)})
    return Fitted(proto, data.train, data.new, labels, proba)


ZOO = [
    Setup("logistic", plain(LogisticRegression(max_iter=5000), cancer)),
    Setup("linear", plain(LinearRegression(), diabetes)),
    Setup("scaler", plain(make_pipeline(StandardScaler(), LogisticRegression()), cancer)),
    Setup(
        "imputer",
        plain(make_pipeline(SimpleImputer(), LogisticRegression(max_iter=5000)), cancer_with_nans),
    ),
    Setup("one-hot", one_hot_pipeline, new_category="city", null="spend"),
    Setup("ordinal", ordinal_pipeline, new_category="city", null="age"),
    Setup("forest", plain(RandomForestClassifier(25, random_state=0), cancer), null="mean area"),
    Setup("forest-regressor", plain(RandomForestRegressor(25, random_state=0), diabetes)),
    Setup(
        "hist-gradient-boosting",
        plain(HistGradientBoostingClassifier(max_iter=30, random_state=0), cancer_with_nans),
    ),
    Setup(
        "hist-gradient-boosting-regressor",
        plain(HistGradientBoostingRegressor(max_iter=30, random_state=0), diabetes_with_nans),
        null="age",
    ),
    Setup(
        "calibrated-svc",
        plain(CalibratedClassifierCV(make_pipeline(StandardScaler(), SVC()), cv=3), cancer),
    ),
    Setup(
        "calibrated-linear-svc",
        plain(CalibratedClassifierCV(make_pipeline(StandardScaler(), LinearSVC()), cv=3), cancer),
    ),
    Setup("text", text_model),
    Setup("xgboost", xgboost_model(categorical=False)),
    Setup("xgboost-categorical", xgboost_model(categorical=True), new_category="city"),
    Setup("lightgbm", lightgbm_model(categorical=False)),
    Setup("lightgbm-categorical", lightgbm_model(categorical=True), new_category="plan"),
    Setup("onnx", onnx_model),
    Setup("kmeans", plain(KMeans(3, n_init=3, random_state=0), iris)),
    Setup("isolation-forest", plain(IsolationForest(n_estimators=25, random_state=0), cancer)),
    Setup(
        "function-transformer",
        plain(make_pipeline(FunctionTransformer(np.log1p), Ridge()), cancer),
    ),
    Setup("custom-transformer", custom_transformer, trust=("zoo_parts.Clipper",)),
    Setup("knn", plain(make_pipeline(StandardScaler(), KNeighborsClassifier(5)), iris)),
    Setup(
        "mlp",
        plain(
            make_pipeline(StandardScaler(), MLPClassifier((16,), max_iter=2000, random_state=0)),
            iris,
        ),
    ),
    Setup("gradient-boosting", plain(GradientBoostingClassifier(n_estimators=30), cancer)),
]
BY_NAME = {setup.name: setup for setup in ZOO}


# -- one store, one server -----------------------------------------------------------------


@dataclass
class Zoo:
    fitted: dict[str, Fitted]
    versions: dict[str, ModelVersion]
    errors: dict[str, Exception]  # registration failures, reported by that setup's test
    server: LiveServer


@pytest.fixture(scope="module")
def zoo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Zoo]:
    home = tmp_path_factory.mktemp("zoo") / "store"
    registry = Registry(Settings.load(home=home, actor="tester", record_git=False))
    fitted: dict[str, Fitted] = {}
    versions: dict[str, ModelVersion] = {}
    errors: dict[str, Exception] = {}
    try:
        for setup in ZOO:
            try:
                fitted[setup.name] = built = setup.build()
                versions[setup.name] = registry.register(
                    built.model,
                    setup.name,
                    train_data=built.train,
                    trusted_types=setup.trust,
                    aliases=["production"],
                )
            except Exception as exc:  # noqa: BLE001 - the setup's own test reports it
                errors[setup.name] = exc
    finally:
        registry.close()
    env = {
        "PYTHONPATH": os.pathsep.join(
            [str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")]
        ),
    }
    server = LiveServer(home, (), env=env).start(timeout=180)
    try:
        yield Zoo(fitted, versions, errors, server)
    finally:
        server.stop()


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-ready records: nulls for NaN, plain Python numbers."""
    out = []
    for row in frame.to_dict(orient="records"):
        out.append(
            {
                str(k): None if pd.isna(v) else v.item() if isinstance(v, np.generic) else v
                for k, v in row.items()
            }
        )
    return out


def predict(zoo: Zoo, name: str, rows: list[dict[str, Any]]) -> httpx.Response:
    return httpx.post(f"{zoo.server.url}/models/{name}/predict", json={"records": rows}, timeout=60)


def registered(zoo: Zoo, name: str) -> ModelVersion:
    if name in zoo.errors:
        raise AssertionError(f"{name} did not register: {zoo.errors[name]}") from zoo.errors[name]
    return zoo.versions[name]


def policy(version: ModelVersion, column: str, what: str) -> str:
    """The recorded policy of ``column`` for ``what`` (unknown_categories, unseen_nulls);
    versions that record none refuse."""
    assert version.signature is not None
    return str(getattr(version.signature.column(column), what, None) or "refuse")


# What trying each model at registration must find, where the library's behaviour says: a
# one-hot encoder that ignores unknown values and LightGBM take a new category; an ordinal
# encoder raising on one does not, nor XGBoost 3 (it re-codes categories by the training set
# and raises "Found a category not in the training set"); models that handle missing values
# natively (histogram boosting, XGBoost, LightGBM, scikit-learn's forests since 1.4) take a
# null; a plain linear model does not.
EXPECTED_POLICIES = {
    ("one-hot", "city", "unknown_categories"): "accept",
    ("ordinal", "city", "unknown_categories"): "refuse",
    ("xgboost-categorical", "city", "unknown_categories"): "refuse",
    ("xgboost", "mean area", "unseen_nulls"): "accept",
    ("lightgbm", "mean area", "unseen_nulls"): "accept",
    ("lightgbm-categorical", "plan", "unknown_categories"): "accept",
    ("hist-gradient-boosting-regressor", "age", "unseen_nulls"): "accept",
    ("forest", "mean area", "unseen_nulls"): "accept",
    ("logistic", "mean area", "unseen_nulls"): "refuse",
    ("scaler", "mean area", "unseen_nulls"): "refuse",
}


# -- the checks ------------------------------------------------------------------------------


def test_the_zoo_has_every_kind_of_setup() -> None:
    assert len(ZOO) >= 20
    assert len(BY_NAME) == len(ZOO)


@pytest.mark.parametrize(("name", "column", "case"), list(EXPECTED_POLICIES))
def test_trying_the_model_records_what_it_tolerates(
    zoo: Zoo, name: str, column: str, case: str
) -> None:
    version = registered(zoo, name)

    assert policy(version, column, case) == EXPECTED_POLICIES[(name, column, case)]


@pytest.mark.parametrize("name", list(BY_NAME))
def test_served_predictions_equal_the_models_own(zoo: Zoo, name: str) -> None:
    version = registered(zoo, name)
    fitted = zoo.fitted[name]

    answer = predict(zoo, name, records(fitted.new))

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["version"] == version.version
    assert_same_predictions(body["predictions"], fitted.labels)
    if fitted.proba is not None:
        assert_same_predictions(body["probabilities"], fitted.proba)


@pytest.mark.parametrize("name", [s.name for s in ZOO if s.new_category])
def test_a_new_category_follows_the_recorded_policy(zoo: Zoo, name: str) -> None:
    version = registered(zoo, name)
    column = BY_NAME[name].new_category
    assert column is not None
    rows = records(zoo.fitted[name].new.iloc[:3])
    rows[1][column] = NEVER_SEEN

    answer = predict(zoo, name, rows)

    if policy(version, column, "unknown_categories") == "accept":
        assert answer.status_code == 200, answer.text
        assert len(answer.json()["predictions"]) == 3
    else:
        assert answer.status_code == 422, answer.text
        problems = answer.json()["problems"]
        assert [(p["row"], p["column"], p["kind"]) for p in problems] == [
            (1, column, "unknown_category")
        ]


@pytest.mark.parametrize("name", [s.name for s in ZOO if s.null])
def test_a_null_follows_the_recorded_policy(zoo: Zoo, name: str) -> None:
    version = registered(zoo, name)
    column = BY_NAME[name].null
    assert column is not None
    assert version.signature is not None
    rows = records(zoo.fitted[name].new.iloc[:3])
    rows[2][column] = None

    answer = predict(zoo, name, rows)

    if version.signature.column(column).nullable:
        assert answer.status_code == 200, answer.text  # training had nulls here
    elif policy(version, column, "unseen_nulls") == "accept":
        assert answer.status_code == 200, answer.text
    else:
        assert answer.status_code == 422, answer.text
        problems = answer.json()["problems"]
        assert [(p["row"], p["column"], p["kind"]) for p in problems] == [(2, column, "null")]
