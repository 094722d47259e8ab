"""The LightGBM flavor: LightGBM's text model files of boosters and scikit-learn wrappers."""

from __future__ import annotations

from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from flavor_support import LIGHTGBM_TREES, load_in_child, regression

from ferryman.errors import ModelFileError
from ferryman.flavors import LoadContext, get_flavor
from ferryman.flavors.lightgbm_flavor import LightGBMFlavor


@pytest.fixture
def flavor() -> LightGBMFlavor:
    return LightGBMFlavor()


def test_get_flavor_returns_the_lightgbm_flavor() -> None:
    assert isinstance(get_flavor("lightgbm"), LightGBMFlavor)


def test_binary_classifier(
    flavor: LightGBMFlavor, binary: tuple[pd.DataFrame, np.ndarray], tmp_path: Path
) -> None:
    frame, y = binary
    model = lgb.LGBMClassifier(**LIGHTGBM_TREES).fit(frame, y)

    path = tmp_path / "m.txt"
    flavor.save(model, path)
    loaded = flavor.load(path, LoadContext(output=flavor.describe(model)))

    assert loaded.classes == (0, 1)
    np.testing.assert_allclose(loaded.predict_proba(frame), model.predict_proba(frame))
    np.testing.assert_array_equal(loaded.predict(frame), model.predict(frame))
    assert isinstance(loaded.native, lgb.Booster)


def test_multiclass_classifier_with_text_labels(
    flavor: LightGBMFlavor, three_class: tuple[pd.DataFrame, np.ndarray], tmp_path: Path
) -> None:
    frame, y = three_class
    labels = np.array(["low", "mid", "high"])[y]
    model = lgb.LGBMClassifier(**LIGHTGBM_TREES).fit(frame, labels)

    path = tmp_path / "m.txt"
    flavor.save(model, path)
    loaded = flavor.load(path, LoadContext(output=flavor.describe(model)))

    assert loaded.classes == ("high", "low", "mid")
    np.testing.assert_allclose(loaded.predict_proba(frame), model.predict_proba(frame))
    np.testing.assert_array_equal(loaded.predict(frame), model.predict(frame))


def test_multiclass_file_alone_gives_class_indices(
    flavor: LightGBMFlavor, three_class: tuple[pd.DataFrame, np.ndarray], tmp_path: Path
) -> None:
    frame, y = three_class
    path = tmp_path / "m.txt"
    flavor.save(lgb.LGBMClassifier(**LIGHTGBM_TREES).fit(frame, y), path)

    assert flavor.describe_loaded(flavor.load(path, LoadContext())).classes == (0, 1, 2)
    assert flavor.load(path, LoadContext()).classes == (0, 1, 2)


def test_regressor(flavor: LightGBMFlavor, tmp_path: Path) -> None:
    frame, y = regression()
    model = lgb.LGBMRegressor(**LIGHTGBM_TREES).fit(frame, y)

    path = tmp_path / "m.txt"
    flavor.save(model, path)
    loaded = flavor.load(path, LoadContext())

    assert flavor.describe(model).kind == "regressor"
    assert loaded.classes is None
    assert loaded.predict_proba(frame) is None
    np.testing.assert_allclose(loaded.predict(frame), model.predict(frame))


def test_columns_are_reordered_by_name(
    flavor: LightGBMFlavor, binary: tuple[pd.DataFrame, np.ndarray], tmp_path: Path
) -> None:
    frame, y = binary
    model = lgb.LGBMClassifier(**LIGHTGBM_TREES).fit(frame, y)
    path = tmp_path / "m.txt"
    flavor.save(model, path)
    loaded = flavor.load(path, LoadContext(output=flavor.describe(model)))

    shuffled = frame[list(reversed(frame.columns))]

    np.testing.assert_allclose(loaded.predict_proba(shuffled), model.predict_proba(frame))


def test_raw_booster(
    flavor: LightGBMFlavor, binary: tuple[pd.DataFrame, np.ndarray], tmp_path: Path
) -> None:
    frame, y = binary
    booster = lgb.train(
        {"objective": "binary", "num_leaves": 4, "num_threads": 1, "verbose": -1},
        lgb.Dataset(frame, label=y),
        num_boost_round=5,
    )

    path = tmp_path / "m.txt"
    flavor.save(booster, path)
    proba = flavor.load(path, LoadContext()).predict_proba(frame)

    assert proba is not None
    np.testing.assert_allclose(proba[:, 1], booster.predict(frame))


def test_sniff(
    flavor: LightGBMFlavor, binary: tuple[pd.DataFrame, np.ndarray], tmp_path: Path
) -> None:
    frame, y = binary
    path = tmp_path / "model"
    flavor.save(lgb.LGBMClassifier(**LIGHTGBM_TREES).fit(frame, y), path)
    text = tmp_path / "notes.txt"
    text.write_text("tree-lined streets\n", encoding="utf-8")

    assert flavor.sniff(path)
    assert not flavor.sniff(text)


def test_handles(flavor: LightGBMFlavor) -> None:
    assert flavor.handles(lgb.LGBMRegressor())
    assert not flavor.handles({"trees": []})


@pytest.mark.parametrize("kind", ["random", "text", "empty"])
def test_corrupt_files_are_model_file_errors(
    flavor: LightGBMFlavor, tmp_path: Path, kind: str
) -> None:
    path = tmp_path / "broken.txt"
    if kind == "random":
        path.write_bytes(np.random.default_rng(0).bytes(2000))
    elif kind == "text":
        path.write_text("tree\nversion=v4\nthis is not a model\n", encoding="utf-8")
    else:
        path.write_bytes(b"")

    with pytest.raises(ModelFileError, match="broken"):
        flavor.load(path, LoadContext())


@pytest.mark.parametrize(
    ("marker", "keep"),
    [("Tree=1\n", 7), ("end of parameters", 6)],
    ids=["cut-after-a-tree-header", "cut-in-the-closing-line"],
)
def test_truncated_file_is_a_model_file_error(
    flavor: LightGBMFlavor,
    binary: tuple[pd.DataFrame, np.ndarray],
    tmp_path: Path,
    marker: str,
    keep: int,
) -> None:
    frame, y = binary
    good = tmp_path / "good.txt"
    flavor.save(lgb.LGBMClassifier(**LIGHTGBM_TREES).fit(frame, y), good)
    text = good.read_text(encoding="utf-8")
    path = tmp_path / "cut.txt"
    path.write_text(text[: text.index(marker) + keep], encoding="utf-8")

    result = load_in_child("lightgbm", path)

    assert (result.returncode, result.stdout.strip()) == (0, "ModelFileError"), result.stderr[-500:]
