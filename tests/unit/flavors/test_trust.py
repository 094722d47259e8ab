"""What is trusted by default, what no other process can import, and the words of a refusal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder
from sklearn.svm import SVC

from ferryman.errors import InvalidArgumentError, UnimportableTypeError, UntrustedTypeError
from ferryman.flavors import LoadContext
from ferryman.flavors.sklearn_flavor import SklearnFlavor
from ferryman.flavors.trust import (
    PYTHON_ADVICE,
    SERVER_ADVICE,
    check_importable,
    check_type_names,
    command_advice,
    is_trusted_by_default,
)


class Clipper(TransformerMixin, BaseEstimator):
    """A transformer of the user's own, defined at the top of a module."""

    def fit(self, X: Any, y: Any = None) -> Clipper:
        return self

    def transform(self, X: Any) -> np.ndarray:
        return np.clip(np.asarray(X, dtype=float), -2.0, 2.0)


def _frame(rows: int = 240) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {
            "a": rng.normal(size=rows),
            "b": rng.normal(size=rows),
            "colour": rng.choice(["red", "green", "blue"], rows),
        }
    )
    frame.loc[::17, "a"] = np.nan
    return frame, (frame["b"] + rng.normal(size=rows) > 0).to_numpy()


def _pipelines() -> dict[str, Any]:
    prep = ColumnTransformer(
        [
            ("num", SimpleImputer(), ["a", "b"]),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["colour"]),
        ]
    )
    numeric = ColumnTransformer([("num", SimpleImputer(), ["a", "b"])])
    return {
        "imputer-onehot": make_pipeline(prep, LogisticRegression()),
        "calibrated-svc": make_pipeline(numeric, CalibratedClassifierCV(SVC(), cv=3)),
        "isotonic-svc": make_pipeline(
            numeric, CalibratedClassifierCV(SVC(), cv=3, method="isotonic")
        ),
        "hist-gradient-boosting": make_pipeline(prep, HistGradientBoostingClassifier(max_iter=10)),
        "nearest-neighbours": make_pipeline(numeric, KNeighborsClassifier(algorithm="kd_tree")),
    }


@pytest.mark.parametrize("name", sorted(_pipelines()))
def test_common_pipelines_load_without_explicit_trust(name: str, tmp_path: Path) -> None:
    frame, y = _frame()
    model = _pipelines()[name].fit(frame, y)
    path = tmp_path / "model.skops"
    sio.dump(model, path)
    assert sio.get_untrusted_types(file=path)  # skops alone would refuse each of them

    loaded = SklearnFlavor().load(path, LoadContext())

    np.testing.assert_array_equal(loaded.predict(frame), model.predict(frame))
    np.testing.assert_allclose(loaded.predict_proba(frame), model.predict_proba(frame), rtol=1e-12)


def test_a_regressors_loss_and_tree_types_are_trusted(tmp_path: Path) -> None:
    frame, _ = _frame()
    model = HistGradientBoostingRegressor(max_iter=5, loss="poisson")
    model.fit(frame[["a", "b"]], np.abs(frame["b"].to_numpy()) + 0.1)
    path = tmp_path / "model.skops"
    sio.dump(model, path)

    needed = sio.get_untrusted_types(file=path)

    assert needed
    assert all(is_trusted_by_default(name) for name in needed)


@pytest.mark.parametrize(
    "name",
    [
        "numpy.dtype",
        "sklearn.tree._tree.Tree",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "sklearn.calibration._CalibratedClassifier",
        "sklearn.calibration._SigmoidCalibration",
        "sklearn.utils._bunch.Bunch",
        "sklearn.neighbors._kd_tree.KDTree",
        "sklearn._loss.loss.HalfPoissonLoss",
    ],
)
def test_numpy_dtype_and_scikit_learns_classes_are_trusted(name: str) -> None:
    assert is_trusted_by_default(name)


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("sklearn.datasets._openml.fetch_openml", "a function (it reads the network)"),
        ("sklearn.pipeline.make_pipeline", "a function"),
        ("sklearn.pipeline.Bunch", "re-exported from sklearn.utils._bunch, not defined there"),
        ("sklearn.utils._testing.MinimalClassifier", "a test helper"),
        ("sklearn.externals._packaging.version.Version", "a vendored third-party class"),
        ("sklearn.no_such_module.Thing", "no such module"),
        ("sklearn.base.NoSuchClass", "no such class"),
        ("scipy.interpolate._bsplines.BSpline", "another package"),
        ("numpy.ndarray", "only numpy.dtype is added for NumPy"),
        ("__main__.Clipper", "__main__"),
        (f"{__name__}.Clipper", "a user's module"),
        ("sklearn", "not a type name"),
    ],
)
def test_anything_else_is_not_trusted_by_default(name: str, why: str) -> None:
    assert not is_trusted_by_default(name), why


def test_default_trust_off_refuses_what_it_would_allow(tmp_path: Path) -> None:
    frame, y = _frame()
    model = _pipelines()["calibrated-svc"].fit(frame, y)
    path = tmp_path / "model.skops"
    sio.dump(model, path)

    with pytest.raises(UntrustedTypeError) as info:
        SklearnFlavor().load(path, LoadContext(has_default_trust=False))

    assert "sklearn.calibration._CalibratedClassifier" in info.value.types
    assert "numpy.dtype" in info.value.types
    trusted = tuple(info.value.types)
    loaded = SklearnFlavor().load(path, LoadContext(trusted, has_default_trust=False))
    np.testing.assert_array_equal(loaded.predict(frame), model.predict(frame))


def test_a_class_of_main_is_refused_naming_it_and_the_way_out() -> None:
    with pytest.raises(UnimportableTypeError) as info:
        check_importable(["sklearn.tree._tree.Tree", "__main__.Clipper"])

    message = str(info.value)
    assert info.value.types == ["__main__.Clipper"]
    assert "__main__.Clipper is defined in __main__" in message
    assert "Move each class into a module of its own" in message
    assert "install it as a package" in message


def test_a_class_defined_inside_a_function_is_refused(tmp_path: Path) -> None:
    class Local(Clipper):
        pass

    frame, y = _frame()
    model = make_pipeline(SimpleImputer(), Local(), LogisticRegression()).fit(frame[["a"]], y)
    path = tmp_path / "model.skops"
    sio.dump(model, path)
    name = f"{__name__}.Local"
    context = LoadContext(trusted_types=(name,), is_registration=True)

    with pytest.raises(UnimportableTypeError, match=r"Local is not a top-level name"):
        SklearnFlavor().load(path, context)


def test_a_top_level_class_of_a_module_is_portable(tmp_path: Path) -> None:
    check_importable([f"{__name__}.Clipper", "sklearn.tree._tree.Tree"])  # no error

    frame, y = _frame()
    model = make_pipeline(SimpleImputer(), Clipper(), LogisticRegression()).fit(frame[["a"]], y)
    path = tmp_path / "model.skops"
    sio.dump(model, path)
    context = LoadContext(trusted_types=(f"{__name__}.Clipper",), is_registration=True)
    loaded = SklearnFlavor().load(path, context)
    np.testing.assert_array_equal(loaded.predict(frame[["a"]]), model.predict(frame[["a"]]))


def test_trusted_type_names_are_cleaned_and_checked() -> None:
    assert check_type_names([" b.C ", "a.B", "b.C"]) == ("a.B", "b.C")
    for bad in ["", "Scaler", "a b.C", "a.", "1a.B"]:
        with pytest.raises(InvalidArgumentError, match="is not a type name"):
            check_type_names([bad])


def test_each_interface_names_its_own_options() -> None:
    base = "the model file needs types that are not trusted: a.B"
    refused = ["a.B"]

    python = PYTHON_ADVICE.at_load(base, "m/1", refused, defaults=True)
    cli = command_advice(has_trust_option=True).at_load(base, "m/1", refused, defaults=True)
    server = SERVER_ADVICE.at_load(base, "m/1", refused, defaults=True)

    assert python.startswith("m/1: the model file needs")
    assert "pass trusted_types=[...] to trust them for this run" in python
    assert "--trust" not in python
    assert "pass --trust TYPE (once per type) to trust them for this run" in cli
    assert "pass --trust" not in server
    assert "`ferryman register FILE --name NAME --trust TYPE`" in server
    for text in (python, cli, server):
        assert "FERRYMAN_TRUSTED_TYPES" in text
        assert "trust_sklearn_internals" not in text
    off = SERVER_ADVICE.at_load(base, "m/1", ["numpy.dtype"], defaults=False)
    assert "trust_sklearn_internals is off" in off
