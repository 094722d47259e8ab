"""The ONNX flavor: models run by onnxruntime, with and without a ZipMap output."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from flavor_support import ZIPMAP, convert, regression
from sklearn.linear_model import LinearRegression, LogisticRegression

from ferryman.errors import InvalidInputError, ModelFileError
from ferryman.flavors import LoadContext, get_flavor
from ferryman.flavors.onnx_flavor import OnnxFlavor


@pytest.fixture
def flavor() -> OnnxFlavor:
    return OnnxFlavor()


def test_get_flavor_returns_the_onnx_flavor() -> None:
    assert isinstance(get_flavor("onnx"), OnnxFlavor)


@pytest.mark.parametrize("options", ZIPMAP.values(), ids=ZIPMAP.keys())
def test_binary_classifier(
    flavor: OnnxFlavor,
    binary: tuple[pd.DataFrame, np.ndarray],
    tmp_path: Path,
    options: dict[str, Any] | None,
) -> None:
    frame, y = binary
    model = LogisticRegression().fit(frame.to_numpy(), y)
    proto = convert(model, frame, options)

    path = tmp_path / "m.onnx"
    flavor.save(proto, path)
    loaded = flavor.load(path, LoadContext(output=flavor.describe(proto)))

    assert flavor.describe(proto).kind == "classifier"
    assert loaded.classes == (0, 1)
    np.testing.assert_allclose(
        loaded.predict_proba(frame), model.predict_proba(frame.to_numpy()), atol=1e-5
    )
    np.testing.assert_array_equal(loaded.predict(frame), model.predict(frame.to_numpy()))


@pytest.mark.parametrize("options", ZIPMAP.values(), ids=ZIPMAP.keys())
def test_three_class_classifier_with_text_labels(
    flavor: OnnxFlavor,
    three_class: tuple[pd.DataFrame, np.ndarray],
    tmp_path: Path,
    options: dict[str, Any] | None,
) -> None:
    frame, y = three_class
    model = LogisticRegression().fit(frame.to_numpy(), np.array(["a", "b", "c"])[y])
    proto = convert(model, frame, options)

    path = tmp_path / "m.onnx"
    flavor.save(proto, path)
    loaded = flavor.load(path, LoadContext())  # the classes come from the file itself

    assert loaded.classes == ("a", "b", "c")
    np.testing.assert_allclose(
        loaded.predict_proba(frame), model.predict_proba(frame.to_numpy()), atol=1e-5
    )
    np.testing.assert_array_equal(loaded.predict(frame), model.predict(frame.to_numpy()))


def test_regressor(flavor: OnnxFlavor, tmp_path: Path) -> None:
    frame, y = regression()
    X = frame.to_numpy()
    model = LinearRegression().fit(X, y)
    proto = convert(model, frame, None)

    path = tmp_path / "m.onnx"
    flavor.save(proto, path)
    loaded = flavor.load(path, LoadContext())

    assert loaded.classes is None
    assert loaded.predict_proba(frame) is None
    prediction = loaded.predict(frame)
    assert prediction.shape == (200,)
    np.testing.assert_allclose(prediction, model.predict(X), rtol=1e-4, atol=1e-3)


def test_describe_loaded_reads_the_classes(
    flavor: OnnxFlavor, binary: tuple[pd.DataFrame, np.ndarray], tmp_path: Path
) -> None:
    frame, y = binary
    path = tmp_path / "m.onnx"
    flavor.save(convert(LogisticRegression().fit(frame.to_numpy(), y), frame, None), path)

    output = flavor.describe_loaded(flavor.load(path, LoadContext()))

    assert output.kind == "classifier"
    assert output.classes == (0, 1)


def test_wrong_number_of_columns_is_invalid_input(
    flavor: OnnxFlavor, binary: tuple[pd.DataFrame, np.ndarray], tmp_path: Path
) -> None:
    frame, y = binary
    path = tmp_path / "m.onnx"
    flavor.save(convert(LogisticRegression().fit(frame.to_numpy(), y), frame, None), path)
    loaded = flavor.load(path, LoadContext())

    with pytest.raises(InvalidInputError, match="refused the input"):
        loaded.predict(frame.iloc[:, :3])


def test_sniff(flavor: OnnxFlavor, binary: tuple[pd.DataFrame, np.ndarray], tmp_path: Path) -> None:
    frame, y = binary
    path = tmp_path / "model"
    flavor.save(convert(LogisticRegression().fit(frame.to_numpy(), y), frame, None), path)
    text = tmp_path / "notes"
    text.write_text("not a model at all", encoding="utf-8")

    assert flavor.sniff(path)
    assert not flavor.sniff(text)


def test_handles(flavor: OnnxFlavor, binary: tuple[pd.DataFrame, np.ndarray]) -> None:
    frame, y = binary

    assert flavor.handles(convert(LogisticRegression().fit(frame.to_numpy(), y), frame, None))
    assert not flavor.handles(LogisticRegression())
    assert not flavor.handles(b"onnx bytes")


@pytest.mark.parametrize("suffix", [".onnx", ""])
@pytest.mark.parametrize("kind", ["random", "text", "truncated", "empty"])
def test_corrupt_files_are_model_file_errors(
    flavor: OnnxFlavor,
    binary: tuple[pd.DataFrame, np.ndarray],
    tmp_path: Path,
    kind: str,
    suffix: str,
) -> None:
    frame, y = binary
    good = tmp_path / "good.onnx"
    flavor.save(convert(LogisticRegression().fit(frame.to_numpy(), y), frame, None), good)
    path = tmp_path / f"broken{suffix}"
    if kind == "random":
        path.write_bytes(np.random.default_rng(0).bytes(2000))
    elif kind == "text":
        path.write_text("graph { node: 1 }\n", encoding="utf-8")
    elif kind == "truncated":
        path.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    else:
        path.write_bytes(b"")

    with pytest.raises(ModelFileError, match="broken"):
        flavor.load(path, LoadContext())
