"""LightGBM boosters and scikit-learn wrappers, in LightGBM's own text model format."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from ferryman.core.signature import OutputSpec
from ferryman.errors import ModelFileError
from ferryman.flavors.base import Predictor
from ferryman.flavors.boosters import BoosterFlavor, BoosterPredictor


def _output_for(booster: lgb.Booster, classes: tuple[Any, ...] | None) -> OutputSpec:
    objective = str(booster.dump_model(num_iteration=0).get("objective", ""))
    extra = {"objective": objective}
    if objective.startswith(("binary", "cross_entropy")):
        return OutputSpec(kind="classifier", classes=classes or (0, 1), extra=extra)
    if objective.startswith(("multiclass", "softmax", "multiclassova")):
        count = booster.num_model_per_iteration()
        return OutputSpec(kind="classifier", classes=classes or tuple(range(count)), extra=extra)
    if objective.startswith(("lambdarank", "rank_xendcg")):
        return OutputSpec(kind="other", extra=extra)
    return OutputSpec(kind="regressor", extra=extra)


def _is_complete(text: str) -> bool:
    """True if ``text`` has every section LightGBM writes, up to its last line."""
    last = text.rstrip("\n").rsplit("\n", 1)[-1]
    return (
        text.startswith("tree\n")
        and "\nend of trees\n" in text
        and "\nend of parameters\n" in text
        and last.startswith("pandas_categorical:")
    )


class LightGBMPredictor(BoosterPredictor):
    def __init__(self, booster: lgb.Booster, output: OutputSpec) -> None:
        super().__init__(booster, output)
        self._names = booster.feature_name()

    @property
    def feature_names(self) -> tuple[str, ...] | None:
        # Fitted on an array, LightGBM invents Column_0, Column_1, ...: those are not names.
        generated = [f"Column_{i}" for i in range(len(self._names))]
        return None if self._names == generated else tuple(self._names)

    def _raw(self, frame: pd.DataFrame) -> np.ndarray:
        if list(frame.columns) != self._names and set(self._names) <= set(frame.columns):
            frame = frame[self._names]
        return np.asarray(self._booster.predict(frame))


class LightGBMFlavor(BoosterFlavor):
    name = "lightgbm"
    file_suffix = ".txt"
    module_prefixes = ("lightgbm",)
    packages = ("lightgbm", "numpy")
    model_types = (lgb.Booster, lgb.LGBMModel)
    wrapper_type = lgb.LGBMModel

    def _booster(self, model: object) -> lgb.Booster:
        return model.booster_ if isinstance(model, lgb.LGBMModel) else model  # type: ignore[return-value]

    def save(self, model: object, path: Path) -> None:
        self._booster(model).save_model(str(path))

    def _output(self, booster: lgb.Booster, classes: tuple[Any, ...] | None) -> OutputSpec:
        return _output_for(booster, classes)

    def sniff(self, path: Path) -> bool:
        with path.open("rb") as fh:
            head = fh.read(64)
        return head.startswith(b"tree\n") and b"version=" in head

    def _read(self, path: Path) -> lgb.Booster:
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, ValueError) as exc:
            raise ModelFileError(f"cannot load {path.name} as a LightGBM model: {exc}") from exc
        # LightGBM's parser can abort the process on a truncated file: check it is whole first.
        if not _is_complete(text):
            raise ModelFileError(
                f"{path.name} is not a complete LightGBM model file (it is truncated or of "
                "another format)"
            )
        try:
            return lgb.Booster(model_str=text)
        except (lgb.basic.LightGBMError, ValueError) as exc:
            raise ModelFileError(f"cannot load {path.name} as a LightGBM model: {exc}") from exc

    def _predictor(self, booster: lgb.Booster, output: OutputSpec) -> Predictor:
        return LightGBMPredictor(booster, output)
