"""The XGBoost flavor: UBJSON files of boosters and scikit-learn wrappers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from flavor_support import XGBOOST_TREES, load_in_child, regression

from ferryman.errors import ModelFileError
from ferryman.flavors import LoadContext, get_flavor
from ferryman.flavors.xgboost_flavor import XGBoostFlavor


@pytest.fixture
def flavor() -> XGBoostFlavor:
    return XGBoostFlavor()


def test_get_flavor_returns_the_xgboost_flavor() -> None:
    assert isinstance(get_flavor("xgboost"), XGBoostFlavor)


def test_binary_classifier(
    flavor: XGBoostFlavor, binary: tuple[pd.DataFrame, np.ndarray], tmp_path: Path
) -> None:
    frame, y = binary
    model = xgb.XGBClassifier(**XGBOOST_TREES).fit(frame, y)

    path = tmp_path / "m.ubj"
    flavor.save(model, path)
    loaded = flavor.load(path, LoadContext(output=flavor.describe(model)))

    assert loaded.classes == (0, 1)
    np.testing.assert_allclose(loaded.predict_proba(frame), model.predict_proba(frame), rtol=1e-6)
    np.testing.assert_array_equal(loaded.predict(frame), model.predict(frame))
    assert isinstance(loaded.native, xgb.Booster)


def test_three_class_classifier(
    flavor: XGBoostFlavor, three_class: tuple[pd.DataFrame, np.ndarray], tmp_path: Path
) -> None:
    frame, y = three_class
    model = xgb.XGBClassifier(**XGBOOST_TREES).fit(frame, y)

    path = tmp_path / "m.ubj"
    flavor.save(model, path)
    loaded = flavor.load(path, LoadContext(output=flavor.describe(model)))

    assert loaded.classes == (0, 1, 2)
    np.testing.assert_allclose(loaded.predict_proba(frame), model.predict_proba(frame), rtol=1e-6)
    np.testing.assert_array_equal(loaded.predict(frame), model.predict(frame))


def test_regressor(flavor: XGBoostFlavor, tmp_path: Path) -> None:
    frame, y = regression()
    model = xgb.XGBRegressor(**XGBOOST_TREES).fit(frame, y)

    path = tmp_path / "m.ubj"
    flavor.save(model, path)
    loaded = flavor.load(path, LoadContext())

    assert flavor.describe(model).kind == "regressor"
    assert loaded.classes is None
    assert loaded.predict_proba(frame) is None
    np.testing.assert_allclose(loaded.predict(frame), model.predict(frame), rtol=1e-6)


def test_raw_booster(
    flavor: XGBoostFlavor, binary: tuple[pd.DataFrame, np.ndarray], tmp_path: Path
) -> None:
    frame, y = binary
    booster = xgb.train(
        {"objective": "binary:logistic", "max_depth": 2, "nthread": 1},
        xgb.DMatrix(frame, label=y),
        num_boost_round=5,
    )

    path = tmp_path / "m.ubj"
    flavor.save(booster, path)
    loaded = flavor.load(path, LoadContext())  # the objective alone says it is a classifier

    expected = booster.predict(xgb.DMatrix(frame))
    proba = loaded.predict_proba(frame)
    assert proba is not None
    np.testing.assert_allclose(proba[:, 1], expected, rtol=1e-6)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert flavor.describe(booster).extra == {"objective": "binary:logistic"}


def test_model_fitted_on_an_array_takes_a_frame(
    flavor: XGBoostFlavor, binary: tuple[pd.DataFrame, np.ndarray], tmp_path: Path
) -> None:
    frame, y = binary
    model = xgb.XGBClassifier(**XGBOOST_TREES).fit(frame.to_numpy(), y)

    path = tmp_path / "m.ubj"
    flavor.save(model, path)
    loaded = flavor.load(path, LoadContext(output=flavor.describe(model)))

    np.testing.assert_allclose(
        loaded.predict_proba(frame), model.predict_proba(frame.to_numpy()), rtol=1e-6
    )


def test_describe_loaded(
    flavor: XGBoostFlavor, three_class: tuple[pd.DataFrame, np.ndarray], tmp_path: Path
) -> None:
    frame, y = three_class
    path = tmp_path / "m.ubj"
    flavor.save(xgb.XGBClassifier(**XGBOOST_TREES).fit(frame, y), path)

    output = flavor.describe_loaded(flavor.load(path, LoadContext()))

    assert output.kind == "classifier"
    assert output.classes == (0, 1, 2)


def test_sniff(
    flavor: XGBoostFlavor, binary: tuple[pd.DataFrame, np.ndarray], tmp_path: Path
) -> None:
    frame, y = binary
    model = xgb.XGBClassifier(**XGBOOST_TREES).fit(frame, y)
    with_suffix = tmp_path / "m.ubj"
    without_suffix = tmp_path / "model"
    flavor.save(model, with_suffix)
    flavor.save(model, without_suffix)
    text = tmp_path / "notes.ubj"
    text.write_text("just some notes", encoding="utf-8")

    assert flavor.sniff(with_suffix)
    assert flavor.sniff(without_suffix)
    assert not flavor.sniff(text)


def test_handles(flavor: XGBoostFlavor) -> None:
    assert flavor.handles(xgb.XGBClassifier())
    assert flavor.handles(xgb.Booster())
    assert not flavor.handles({"trees": []})


@pytest.mark.parametrize("kind", ["random", "text", "truncated"])
def test_corrupt_files_are_model_file_errors(
    flavor: XGBoostFlavor, binary: tuple[pd.DataFrame, np.ndarray], tmp_path: Path, kind: str
) -> None:
    frame, y = binary
    good = tmp_path / "good.ubj"
    flavor.save(xgb.XGBClassifier(**XGBOOST_TREES).fit(frame, y), good)
    path = tmp_path / "broken.ubj"
    if kind == "random":
        path.write_bytes(np.random.default_rng(0).bytes(2000))
    elif kind == "text":
        path.write_text("learner = not really\n", encoding="utf-8")
    else:
        path.write_bytes(good.read_bytes()[: good.stat().st_size // 2])

    with pytest.raises(ModelFileError, match="broken"):
        flavor.load(path, LoadContext())


def test_empty_file_is_a_model_file_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.ubj"
    path.write_bytes(b"")

    result = load_in_child("xgboost", path)

    assert (result.returncode, result.stdout.strip()) == (0, "ModelFileError"), result.stderr[-500:]
