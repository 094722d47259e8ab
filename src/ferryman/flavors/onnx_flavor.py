"""ONNX models run by onnxruntime: one 2-D input tensor, or one input per column."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pandas as pd
from onnxruntime.capi.onnxruntime_pybind11_state import Fail, InvalidArgument, InvalidGraph

from ferryman.core.signature import OutputSpec
from ferryman.errors import InvalidInputError, ModelFileError
from ferryman.flavors.base import Flavor, LoadContext, Predictor
from ferryman.flavors.labels import plain_classes

_NUMPY_TYPES = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(bool)": np.bool_,
    "tensor(string)": object,
}
_CLASS_ATTRIBUTES = ("classlabels_int64s", "classlabels_ints", "classlabels_strings")


def _classes_of(model: onnx.ModelProto) -> tuple[Any, ...] | None:
    for node in model.graph.node:
        for attr in node.attribute:
            if attr.name in _CLASS_ATTRIBUTES:
                values = onnx.helper.get_attribute_value(attr)
                return plain_classes([v.decode() if isinstance(v, bytes) else v for v in values])
    return None


class OnnxPredictor(Predictor):
    def __init__(self, session: ort.InferenceSession, classes: tuple[Any, ...] | None) -> None:
        self._session = session
        self._inputs = session.get_inputs()
        self._outputs = [o.name for o in session.get_outputs()]
        self.classes = classes if len(self._outputs) > 1 else None

    @property
    def feature_names(self) -> tuple[str, ...] | None:
        if len(self._inputs) > 1:  # one input per column: their names are the columns
            return tuple(spec.name for spec in self._inputs)
        return None

    @property
    def native(self) -> Any:
        return self._session

    def _feed(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        if len(self._inputs) == 1:
            spec = self._inputs[0]
            return {spec.name: frame.to_numpy(dtype=_NUMPY_TYPES.get(spec.type, np.float32))}
        feed = {}
        for spec in self._inputs:
            if spec.name not in frame.columns:
                raise InvalidInputError(f"the ONNX model needs an input column {spec.name!r}")
            column = frame[spec.name].to_numpy(dtype=_NUMPY_TYPES.get(spec.type, np.float32))
            feed[spec.name] = column.reshape(-1, 1)
        return feed

    def _run(self, frame: pd.DataFrame) -> list[Any]:
        try:
            return self._session.run(self._outputs, self._feed(frame))
        except (InvalidArgument, Fail) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise InvalidInputError(f"the ONNX model refused the input: {first}") from exc

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        first = np.asarray(self._run(frame)[0])
        return first.ravel() if first.ndim == 2 and first.shape[1] == 1 else first

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray | None:
        if self.classes is None:
            return None
        proba = self._run(frame)[1]
        if isinstance(proba, list):  # a ZipMap output: one {class: probability} per row
            return np.array([[row[c] for c in self.classes] for row in proba], dtype=float)
        return np.asarray(proba, dtype=float)


class OnnxFlavor(Flavor):
    name = "onnx"
    file_suffix = ".onnx"
    module_prefixes = ("onnx",)
    packages = ("onnx", "onnxruntime", "numpy")

    def handles(self, model: object) -> bool:
        return isinstance(model, onnx.ModelProto)

    def save(self, model: object, path: Path) -> None:
        assert isinstance(model, onnx.ModelProto)
        path.write_bytes(model.SerializeToString())

    def describe(self, model: object) -> OutputSpec:
        assert isinstance(model, onnx.ModelProto)
        classes = _classes_of(model)
        if classes is not None and len(model.graph.output) > 1:
            return OutputSpec(kind="classifier", classes=classes)
        return OutputSpec()

    def sniff(self, path: Path) -> bool:
        try:
            model = onnx.load_model(str(path), load_external_data=False)
        except Exception:  # noqa: BLE001 - any parse failure means "not ONNX"
            return False
        return len(model.graph.node) > 0

    def _parse(self, path: Path) -> onnx.ModelProto:
        try:
            model = onnx.load_model(str(path), load_external_data=False)
        except Exception as exc:
            raise ModelFileError(f"cannot read {path.name} as an ONNX model: {exc}") from exc
        if not model.graph.node:
            raise ModelFileError(f"{path.name} is not an ONNX model (its graph is empty)")
        return model

    def load(self, path: Path, context: LoadContext) -> Predictor:
        model = self._parse(path)
        try:
            session = ort.InferenceSession(
                model.SerializeToString(), providers=["CPUExecutionProvider"]
            )
        except (Fail, InvalidGraph, InvalidArgument) as exc:
            raise ModelFileError(f"onnxruntime cannot run {path.name}: {exc}") from exc
        return OnnxPredictor(session, context.output.classes or _classes_of(model))

    def describe_loaded(self, predictor: Predictor) -> OutputSpec:
        if predictor.classes is not None:
            return OutputSpec(kind="classifier", classes=predictor.classes)
        return OutputSpec()
