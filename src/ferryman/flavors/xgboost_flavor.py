"""XGBoost boosters and scikit-learn wrappers, in XGBoost's own UBJSON model format."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb

from ferryman.core.signature import OutputSpec
from ferryman.errors import ModelFileError
from ferryman.flavors.base import Predictor
from ferryman.flavors.boosters import BoosterFlavor, BoosterPredictor


def _objective(booster: xgb.Booster) -> tuple[str, int]:
    config = json.loads(booster.save_config())
    learner = config["learner"]
    objective = learner["objective"]["name"]
    num_class = int(learner["learner_model_param"].get("num_class", "0") or 0)
    return objective, num_class


def _output_for(objective: str, num_class: int, classes: tuple[Any, ...] | None) -> OutputSpec:
    extra = {"objective": objective}
    if objective.startswith("binary:"):
        return OutputSpec(kind="classifier", classes=classes or (0, 1), extra=extra)
    if objective.startswith("multi:"):
        return OutputSpec(
            kind="classifier", classes=classes or tuple(range(num_class)), extra=extra
        )
    if objective.startswith(("reg:", "count:", "survival:")):
        return OutputSpec(kind="regressor", extra=extra)
    return OutputSpec(kind="other", extra=extra)


class XGBoostPredictor(BoosterPredictor):
    def __init__(self, booster: xgb.Booster, output: OutputSpec) -> None:
        super().__init__(booster, output)
        self._objective, _ = _objective(booster)
        self._names = booster.feature_names

    @property
    def feature_names(self) -> tuple[str, ...] | None:
        return tuple(self._names) if self._names else None

    def _raw(self, frame: pd.DataFrame, margin: bool = False) -> np.ndarray:
        data = (
            frame[self._names]
            if self._names
            else frame.set_axis([f"f{i}" for i in range(frame.shape[1])], axis=1)
        )
        matrix = xgb.DMatrix(data, enable_categorical=True)
        return np.asarray(self._booster.predict(matrix, output_margin=margin))

    def _probabilities(self, frame: pd.DataFrame) -> np.ndarray:
        if self._objective == "multi:softmax":
            # softmax boosters answer labels; their margins give softprob's probabilities
            margins = self._raw(frame, margin=True)
            shifted = np.exp(margins - margins.max(axis=1, keepdims=True))
            return shifted / shifted.sum(axis=1, keepdims=True)
        raw = self._raw(frame)
        if self._objective == "binary:logitraw":
            raw = 1.0 / (1.0 + np.exp(-raw))
        return raw

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        if self.classes is not None and self._objective == "multi:softmax":
            index = self._raw(frame).astype(int)
            return np.asarray(self.classes, dtype=object)[index]
        return super().predict(frame)


class XGBoostFlavor(BoosterFlavor):
    name = "xgboost"
    file_suffix = ".ubj"
    module_prefixes = ("xgboost",)
    packages = ("xgboost", "numpy")
    model_types = (xgb.Booster, xgb.XGBModel)
    wrapper_type = xgb.XGBModel

    def _booster(self, model: object) -> xgb.Booster:
        return model.get_booster() if isinstance(model, xgb.XGBModel) else model  # type: ignore[return-value]

    def save(self, model: object, path: Path) -> None:
        raw = self._booster(model).save_raw(raw_format="ubj")
        path.write_bytes(bytes(raw))

    def _output(self, booster: xgb.Booster, classes: tuple[Any, ...] | None) -> OutputSpec:
        return _output_for(*_objective(booster), classes)

    def sniff(self, path: Path) -> bool:
        with path.open("rb") as fh:
            head = fh.read(256)
        return b"learner" in head and (head.startswith(b"{") or path.suffix in (".ubj", ".json"))

    def _read(self, path: Path) -> xgb.Booster:
        raw = path.read_bytes()
        # XGBoost aborts the process on some invalid input: refuse what is plainly not a model.
        if not raw.startswith(b"{") or b"learner" not in raw[:4096]:
            raise ModelFileError(f"{path.name} is not an XGBoost model file (JSON or UBJSON)")
        booster = xgb.Booster()
        try:
            booster.load_model(bytearray(raw))
        except (xgb.core.XGBoostError, ValueError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else "invalid model"
            raise ModelFileError(f"cannot load {path.name} as an XGBoost model: {first}") from exc
        return booster

    def _predictor(self, booster: xgb.Booster, output: OutputSpec) -> Predictor:
        return XGBoostPredictor(booster, output)
