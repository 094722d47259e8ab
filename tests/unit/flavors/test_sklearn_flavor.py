"""The scikit-learn flavor: skops files, faithful predictions, and refusal of untrusted types."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from flavor_support import regression
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.compose import ColumnTransformer
from sklearn.datasets import make_classification
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from ferryman.errors import FlavorError, ModelFileError, UntrustedTypeError
from ferryman.flavors import LoadContext, get_flavor
from ferryman.flavors.sklearn_flavor import SklearnFlavor, SklearnPredictor


class PriorClassifier(ClassifierMixin, BaseEstimator):
    """Predicts the class frequencies seen in training; skops does not trust it by default."""

    def fit(self, X: Any, y: Any) -> PriorClassifier:
        self.classes_ = np.unique(y)
        self.prior_ = np.array([np.mean(y == c) for c in self.classes_])
        return self

    def predict(self, X: Any) -> np.ndarray:
        return np.full(len(X), self.classes_[np.argmax(self.prior_)])

    def predict_proba(self, X: Any) -> np.ndarray:
        return np.tile(self.prior_, (len(X), 1))


PRIOR_TYPE = f"{PriorClassifier.__module__}.{PriorClassifier.__qualname__}"


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, np.ndarray]:
    X, y = make_classification(200, 5, random_state=0)
    return pd.DataFrame(X, columns=[f"x{i}" for i in range(5)]), y


@pytest.fixture
def flavor() -> SklearnFlavor:
    return SklearnFlavor()


def save_and_load(
    flavor: SklearnFlavor, model: object, path: Path, context: LoadContext | None = None
) -> Any:
    flavor.save(model, path)
    return flavor.load(path, context or LoadContext(output=flavor.describe(model)))


def test_get_flavor_returns_the_sklearn_flavor() -> None:
    assert isinstance(get_flavor("sklearn"), SklearnFlavor)


def test_classifier_fitted_on_a_dataframe(
    flavor: SklearnFlavor, data: tuple[pd.DataFrame, np.ndarray], tmp_path: Path
) -> None:
    frame, y = data
    model = LogisticRegression().fit(frame, y)

    loaded = save_and_load(flavor, model, tmp_path / "m.skops")

    np.testing.assert_allclose(loaded.predict_proba(frame), model.predict_proba(frame))
    np.testing.assert_array_equal(loaded.predict(frame), model.predict(frame))
    assert loaded.classes == (0, 1)
    assert isinstance(loaded.native, LogisticRegression)


def test_dataframe_columns_are_reordered_by_name(
    flavor: SklearnFlavor, data: tuple[pd.DataFrame, np.ndarray], tmp_path: Path
) -> None:
    frame, y = data
    model = LogisticRegression().fit(frame, y)
    loaded = save_and_load(flavor, model, tmp_path / "m.skops")

    shuffled = frame[list(reversed(frame.columns))]

    np.testing.assert_allclose(loaded.predict_proba(shuffled), model.predict_proba(frame))


def test_classifier_fitted_on_an_array(
    flavor: SklearnFlavor, data: tuple[pd.DataFrame, np.ndarray], tmp_path: Path
) -> None:
    frame, y = data
    model = LogisticRegression().fit(frame.to_numpy(), y)

    loaded = save_and_load(flavor, model, tmp_path / "m.skops")

    np.testing.assert_allclose(loaded.predict_proba(frame), model.predict_proba(frame.to_numpy()))


def test_string_class_labels(
    flavor: SklearnFlavor, data: tuple[pd.DataFrame, np.ndarray], tmp_path: Path
) -> None:
    frame, y = data
    labels = np.array(["no", "yes"])[y]
    model = LogisticRegression().fit(frame, labels)

    loaded = save_and_load(flavor, model, tmp_path / "m.skops")

    assert flavor.describe(model).classes == ("no", "yes")
    assert loaded.classes == ("no", "yes")
    np.testing.assert_array_equal(loaded.predict(frame), model.predict(frame))


def test_regressor(flavor: SklearnFlavor, tmp_path: Path) -> None:
    frame, y = regression()
    model = LinearRegression().fit(frame, y)

    loaded = save_and_load(flavor, model, tmp_path / "m.skops")

    assert flavor.describe(model).kind == "regressor"
    assert loaded.classes is None
    assert loaded.predict_proba(frame) is None
    np.testing.assert_allclose(loaded.predict(frame), model.predict(frame))


def test_pipeline_with_a_column_transformer(
    flavor: SklearnFlavor, mixed: tuple[pd.DataFrame, np.ndarray], tmp_path: Path
) -> None:
    frame, y = mixed
    prep = ColumnTransformer(
        [
            ("text", OneHotEncoder(handle_unknown="ignore"), ["colour"]),
            ("numbers", StandardScaler(), ["a", "b", "c", "d"]),
        ]
    )
    model = make_pipeline(prep, LogisticRegression()).fit(frame, y)

    loaded = save_and_load(flavor, model, tmp_path / "m.skops")

    assert isinstance(loaded.native, Pipeline)
    np.testing.assert_allclose(loaded.predict_proba(frame), model.predict_proba(frame))


def test_describe(flavor: SklearnFlavor, data: tuple[pd.DataFrame, np.ndarray]) -> None:
    frame, y = data

    assert flavor.describe(LogisticRegression().fit(frame, y)).classes == (0, 1)
    assert flavor.describe(LogisticRegression()).kind == "other"  # not fitted: no classes


def test_handles_only_estimators_that_predict(flavor: SklearnFlavor) -> None:
    assert flavor.handles(LogisticRegression())
    assert not flavor.handles(StandardScaler())
    assert not flavor.handles({"coef": [1.0]})


def test_sniff(
    flavor: SklearnFlavor, data: tuple[pd.DataFrame, np.ndarray], tmp_path: Path
) -> None:
    frame, y = data
    path = tmp_path / "model"
    flavor.save(LogisticRegression().fit(frame, y), path)
    other_zip = tmp_path / "other.zip"
    with zipfile.ZipFile(other_zip, "w") as archive:
        archive.writestr("readme.txt", "hello")
    text = tmp_path / "notes.skops"
    text.write_text("not a model", encoding="utf-8")

    assert flavor.sniff(path)
    assert not flavor.sniff(other_zip)
    assert not flavor.sniff(text)


def test_untrusted_type_is_refused_naming_it(
    flavor: SklearnFlavor, data: tuple[pd.DataFrame, np.ndarray], tmp_path: Path
) -> None:
    frame, y = data
    path = tmp_path / "m.skops"
    flavor.save(PriorClassifier().fit(frame, y), path)

    with pytest.raises(UntrustedTypeError) as info:
        flavor.load(path, LoadContext())

    assert info.value.types == [PRIOR_TYPE]
    assert PRIOR_TYPE in str(info.value)
    assert isinstance(info.value, FlavorError)


def test_untrusted_type_inside_a_pipeline_is_refused(
    flavor: SklearnFlavor, data: tuple[pd.DataFrame, np.ndarray], tmp_path: Path
) -> None:
    frame, y = data
    path = tmp_path / "m.skops"
    flavor.save(make_pipeline(StandardScaler(), PriorClassifier()).fit(frame, y), path)

    with pytest.raises(UntrustedTypeError) as info:
        flavor.load(path, LoadContext(trusted_types=("some.other.Type",)))

    assert info.value.types == [PRIOR_TYPE]


def test_trusted_type_loads(
    flavor: SklearnFlavor, data: tuple[pd.DataFrame, np.ndarray], tmp_path: Path
) -> None:
    frame, y = data
    model = PriorClassifier().fit(frame, y)
    path = tmp_path / "m.skops"
    flavor.save(model, path)

    loaded = flavor.load(path, LoadContext(trusted_types=(PRIOR_TYPE,)))

    assert isinstance(loaded.native, PriorClassifier)
    assert loaded.classes == (0, 1)
    np.testing.assert_allclose(loaded.predict_proba(frame), model.predict_proba(frame))


def test_a_file_holding_something_that_cannot_predict(
    flavor: SklearnFlavor, data: tuple[pd.DataFrame, np.ndarray], tmp_path: Path
) -> None:
    frame, _ = data
    path = tmp_path / "scaler.skops"
    flavor.save(StandardScaler().fit(frame), path)

    with pytest.raises(ModelFileError, match="StandardScaler"):
        flavor.load(path, LoadContext())


@pytest.mark.parametrize("suffix", [".skops", ""])
@pytest.mark.parametrize("kind", ["random", "text", "truncated", "empty", "zip-without-schema"])
def test_corrupt_files_are_model_file_errors(
    flavor: SklearnFlavor,
    data: tuple[pd.DataFrame, np.ndarray],
    tmp_path: Path,
    kind: str,
    suffix: str,
) -> None:
    frame, y = data
    good = tmp_path / "good.skops"
    flavor.save(LogisticRegression().fit(frame, y), good)
    path = tmp_path / f"broken{suffix}"
    if kind == "random":
        path.write_bytes(np.random.default_rng(0).bytes(2000))
    elif kind == "text":
        path.write_text("coef = [1, 2, 3]\n", encoding="utf-8")
    elif kind == "truncated":
        path.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    elif kind == "empty":
        path.write_bytes(b"")
    else:
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("model.bin", b"\x00\x01")

    with pytest.raises(ModelFileError, match="broken"):
        flavor.load(path, LoadContext())


def test_skops_file_with_a_corrupt_schema(
    flavor: SklearnFlavor, data: tuple[pd.DataFrame, np.ndarray], tmp_path: Path
) -> None:
    frame, y = data
    good = tmp_path / "good.skops"
    flavor.save(LogisticRegression().fit(frame, y), good)
    path = tmp_path / "broken.skops"
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(path, "w") as target:
        for item in source.infolist():
            content = source.read(item)
            target.writestr(item, b"{not json" if item.filename == "schema.json" else content)

    with pytest.raises(ModelFileError, match="broken"):
        flavor.load(path, LoadContext())


# -- one column alone -------------------------------------------------------------------------

DOCUMENTS = ["good fast service", "slow rude staff", "great staff", "awful service"]


def test_a_text_pipeline_is_handed_its_column_alone(tmp_path: Path) -> None:
    model = make_pipeline(TfidfVectorizer(), LogisticRegression()).fit(DOCUMENTS, [1, 0, 1, 0])
    flavor = SklearnFlavor()
    flavor.save(model, tmp_path / "m.skops")

    loaded = flavor.load(tmp_path / "m.skops", LoadContext())

    frame = pd.DataFrame({"review": DOCUMENTS})
    assert loaded.predict(frame).tolist() == model.predict(DOCUMENTS).tolist()
    assert loaded.array_predictor(("review",)) is None
    with pytest.raises(ValueError, match=r"given 2 columns \['review', 'other'\]"):
        loaded.predict(frame.assign(other=1))


def test_series_input_from_the_context_hands_any_model_its_column(tmp_path: Path) -> None:
    model = make_pipeline(FunctionTransformer(), TfidfVectorizer(), LogisticRegression())
    model.fit(DOCUMENTS, [1, 0, 1, 0])
    flavor = SklearnFlavor()
    flavor.save(model, tmp_path / "m.skops")
    frame = pd.DataFrame({"text": DOCUMENTS})

    as_table = flavor.load(tmp_path / "m.skops", LoadContext())
    alone = flavor.load(tmp_path / "m.skops", LoadContext(series_input=True))

    with pytest.raises(AttributeError):
        as_table.predict(frame)
    assert alone.predict(frame).tolist() == model.predict(DOCUMENTS).tolist()


def test_a_predictor_pickled_before_series_input_existed_takes_a_table() -> None:
    X, y = make_classification(n_samples=40, n_features=4, random_state=0)
    predictor = SklearnPredictor(LogisticRegression().fit(X, y))
    del predictor.__dict__["_series_input"]  # as snapshots written by earlier versions hold

    restored = pickle.loads(pickle.dumps(predictor))

    assert restored.predict(pd.DataFrame(X)).tolist() == predictor.native.predict(X).tolist()
