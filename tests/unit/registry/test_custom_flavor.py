"""A flavor plug-in works through the registry without touching registry code."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ferryman.core.signature import OutputSpec
from ferryman.flavors import Flavor, LoadContext, Predictor, catalog, check_flavor
from ferryman.registry import Registry


class Threshold:
    """A tiny model of a library ferryman does not know: ``x[column] > cut``."""

    def __init__(self, column: str, cut: float) -> None:
        self.column, self.cut = column, cut


class ThresholdPredictor(Predictor):
    def __init__(self, model: Threshold) -> None:
        self.model = model
        self.classes = (False, True)

    @property
    def native(self) -> Any:
        return self.model

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return np.asarray(frame[self.model.column] > self.model.cut)

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        hit = self.predict(frame).astype(float)
        return np.column_stack([1.0 - hit, hit])


class ThresholdFlavor(Flavor):
    name = "threshold"
    file_suffix = ".json"
    packages = ("numpy",)

    def handles(self, model: object) -> bool:
        return isinstance(model, Threshold)

    def save(self, model: object, path: Path) -> None:
        assert isinstance(model, Threshold)
        path.write_text(json.dumps({"threshold": [model.column, model.cut]}))

    def describe(self, model: object) -> OutputSpec:
        return OutputSpec(kind="classifier", classes=(False, True))

    def sniff(self, path: Path) -> bool:
        return path.read_bytes().startswith(b'{"threshold"')

    def load(self, path: Path, context: LoadContext) -> Predictor:
        column, cut = json.loads(path.read_text())["threshold"]
        return ThresholdPredictor(Threshold(column, cut))


@pytest.fixture
def threshold_flavor() -> Iterator[ThresholdFlavor]:
    flavor = ThresholdFlavor()
    catalog.register(flavor)
    yield flavor
    catalog.unregister(flavor.name)


def test_a_plug_in_flavor_registers_loads_and_predicts(
    registry: Registry, threshold_flavor: ThresholdFlavor
) -> None:
    data = pd.DataFrame({"x": [0.1, 0.5, 0.9, 0.3], "y": [False, False, True, False]})
    model = Threshold("x", 0.6)
    check_flavor(threshold_flavor, model, data[["x"]])
    version = registry.register(model, "cut", train_data=data, target="y")
    assert version.flavor == "threshold"
    assert version.environment["packages"] == {"numpy": np.__version__}
    assert version.output.classes == (False, True)
    loaded = registry.load("cut/1")
    assert loaded.predict([{"x": 0.7}, {"x": 0.2}]).tolist() == [True, False]
    assert loaded.predict_proba({"x": 0.9}).tolist() == [[0.0, 1.0]]


def test_a_file_of_a_plug_in_flavor_is_recognised(
    registry: Registry, threshold_flavor: ThresholdFlavor, tmp_path: Path
) -> None:
    path = tmp_path / "model.bin"
    threshold_flavor.save(Threshold("x", 1.0), path)
    version = registry.register_file(path, "from-file")
    assert version.flavor == "threshold"
    assert registry.load("from-file/1").predict({"x": 2.0}).tolist() == [True]


def test_unregistered_flavor_is_gone(threshold_flavor: ThresholdFlavor) -> None:
    catalog.unregister("threshold")
    assert "threshold" not in catalog.names()
    catalog.register(threshold_flavor)  # the fixture removes it again
