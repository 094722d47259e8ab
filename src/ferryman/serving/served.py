"""One model version made ready to serve: checked, warmed, and told how to run fastest."""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import union_categoricals

from ferryman.core.records import ModelVersion
from ferryman.errors import InvalidInputError, PredictionError
from ferryman.flavors import ArrayPredictor, Predictor
from ferryman.flavors.labels import label_from_proba
from ferryman.registry import LoadedModel, first_line, run_located
from ferryman.serving.codec import ModelInput, RowCodec

log = logging.getLogger("ferryman.serving")

WARMUP_ROWS = 8
# A model slower than this per call runs in a thread, so the event loop keeps accepting requests.
INLINE_LIMIT_SECONDS = 0.002


@dataclass(frozen=True, slots=True)
class Prediction:
    """Answers for the rows of one request: labels (or numbers) and class probabilities."""

    labels: np.ndarray
    proba: np.ndarray | None


@dataclass(frozen=True, slots=True)
class ModelCall:
    """One call of the model: its input (the rows of ``sizes`` requests, stacked in order)
    and its whole answer. Monitoring logs a call as it is, without splitting it."""

    input: ModelInput
    output: Prediction
    sizes: tuple[int, ...]

    def parts(self) -> list[Prediction]:
        """Each request's own rows of the answer (views, no copies)."""
        if len(self.sizes) == 1:
            return [self.output]
        whole = self.output
        out = []
        start = 0
        for count in self.sizes:
            stop = start + count
            proba = whole.proba[start:stop] if whole.proba is not None else None
            out.append(Prediction(whole.labels[start:stop], proba))
            start = stop
        return out


class ServedVersion:
    """A loaded version plus what warm-up learned about it.

    ``run`` takes the checked inputs of several requests, predicts them in one call and hands
    each its own rows back; ``calls`` gives the same answer as the model calls it made.
    """

    def __init__(self, loaded: LoadedModel, load_seconds: float = 0.0) -> None:
        self.loaded = loaded
        self.version: ModelVersion = loaded.version
        self.load_seconds = load_seconds
        signature = loaded.signature
        columns = tuple(signature.names) if signature else ()
        self._array: ArrayPredictor | None = (
            loaded.predictor.array_predictor(columns) if columns else None
        )
        self.codec = RowCodec(loaded, use_arrays=self._array is not None)
        self.classes = loaded.classes
        self._labels_from_proba = False
        self.inline = False  # until warm-up has timed a call
        self.warm_seconds = 0.0
        self.warmed = False

    @property
    def name(self) -> str:
        return self.version.model

    @property
    def number(self) -> int:
        return self.version.version

    @property
    def fast_path(self) -> bool:
        return self.codec.fast

    def __repr__(self) -> str:
        return f"<ServedVersion {self.version.ref} fast={self.fast_path} inline={self.inline}>"

    # -- warm-up --------------------------------------------------------------------------

    def warm(self, example: pd.DataFrame | None) -> None:
        """Predict on ``example`` (training rows) both ways and keep the fastest way that
        answers the same. Raises PredictionError if the model cannot predict at all."""
        started = time.perf_counter()
        if example is None or example.empty:
            self._disable_arrays("no example rows to check the array path against")
            self.warmed = True
            return
        example = example.head(WARMUP_ROWS)
        target = self.version.output.target
        if target is not None and target in example.columns:
            example = example.drop(columns=[target])
        frame_input = self.codec.encode(_records(example))
        frame = self.loaded.prepare(example) if frame_input.frame is None else frame_input.frame
        reference = self._guarded(self._predict_frame, frame, False)
        if self.codec.fast and frame_input.rows is not None:
            try:
                with warnings.catch_warnings(record=True) as warned:
                    warnings.simplefilter("always")
                    fast = self._predict_rows(frame_input.rows)
            except Exception as exc:  # noqa: BLE001 - any failure means: use DataFrames
                self._disable_arrays(f"array input failed ({type(exc).__name__}: {exc})")
            else:
                if not _same(fast, reference):
                    self._disable_arrays("array input answered differently")
                elif warned:  # e.g. an estimator nested in a meta-estimator wants its names
                    self._disable_arrays(f"array input warns ({warned[0].message})")
        if not self.codec.fast:
            frame_input = ModelInput(len(frame), frame=frame)
        self._labels_from_proba = (
            self.loaded.predictor.labels_follow_proba and self._proba_gives_labels(frame_input)
        )
        single = self.codec.encode(_records(example.head(1)))
        tick = time.perf_counter()
        for _ in range(3):
            self.run([single])
        per_call = (time.perf_counter() - tick) / 3
        self.inline = per_call < INLINE_LIMIT_SECONDS
        self.warm_seconds = time.perf_counter() - started
        self.warmed = True
        log.info(
            "warmed %s in %.3fs (array path %s, %.2f ms per call, %s)",
            self.version.ref,
            self.warm_seconds,
            "on" if self.codec.fast else "off",
            per_call * 1000,
            "inline" if self.inline else "in a thread",
        )

    def _disable_arrays(self, why: str) -> None:
        if self.codec.fast:
            log.info("%s: DataFrame input (%s)", self.version.ref, why)
        self._array = None
        self.codec = RowCodec(self.loaded, use_arrays=False)

    def _proba_gives_labels(self, sample: ModelInput) -> bool:
        if self.classes is None:
            return False
        try:
            both = self._predict(sample, labels_from_proba=False)
            derived = self._predict(sample, labels_from_proba=True)
        except (PredictionError, InvalidInputError):
            return False
        return both.proba is not None and _same(both, derived)

    # -- prediction -----------------------------------------------------------------------

    def run(self, inputs: Sequence[ModelInput]) -> list[Prediction]:
        """Predict the inputs of several requests in one call; one Prediction per input."""
        return parts_of(self.calls(inputs))

    def calls(self, inputs: Sequence[ModelInput]) -> list[ModelCall]:
        """Predict the inputs of several requests: one call for all of them when they stack
        (else one per input), each with the inputs it answered, in order."""
        try:
            merged = _merge(inputs) if len(inputs) > 1 else None
        except (ValueError, TypeError) as exc:  # inputs that do not fit together
            raise PredictionError(
                f"model {self.version.ref} cannot batch these inputs: {exc}"
            ) from exc
        if merged is None:  # one request, or array and DataFrame inputs mixed
            return [
                ModelCall(item, self._predict(item, self._labels_from_proba), (item.count,))
                for item in inputs
            ]
        # a failing merged call is retried request by request (batching.py): each request
        # then learns which of its own rows the model fails on
        whole = self._predict(merged, self._labels_from_proba, locate=False)
        return [ModelCall(merged, whole, tuple(item.count for item in inputs))]

    def _predict(
        self, item: ModelInput, labels_from_proba: bool, locate: bool = True
    ) -> Prediction:
        if item.count == 0:
            width = len(self.classes) if self.classes is not None else 0
            empty = np.empty(0, dtype=object if self.classes is not None else float)
            return Prediction(empty, np.empty((0, width)) if self.classes is not None else None)
        method: Any = self._predict_rows if item.rows is not None else self._predict_frame
        data: Any = item.rows if item.rows is not None else item.frame
        if not locate:
            return self._guarded(method, data, labels_from_proba)
        return run_located(lambda part: method(part, labels_from_proba), data, self.version.ref)

    def _guarded(self, method: Any, data: Any, labels_from_proba: bool) -> Prediction:
        try:
            result: Prediction = method(data, labels_from_proba)
            return result
        except (InvalidInputError, PredictionError):
            raise
        except Exception as exc:
            message = f"model {self.version.ref} failed to predict: {first_line(exc)}"
            raise PredictionError(message) from exc

    def _predict_rows(self, rows: np.ndarray, labels_from_proba: bool = False) -> Prediction:
        assert self._array is not None
        return self._answer(self._array, rows, labels_from_proba)

    def _predict_frame(self, frame: pd.DataFrame, labels_from_proba: bool = False) -> Prediction:
        return self._answer(self.loaded.predictor, frame, labels_from_proba)

    def _answer(
        self, model: ArrayPredictor | Predictor, data: Any, labels_from_proba: bool
    ) -> Prediction:
        proba = model.predict_proba(data) if self.classes is not None else None
        if labels_from_proba and proba is not None and self.classes is not None:
            labels = label_from_proba(proba, self.classes)
        else:
            labels = model.predict(data)
        return Prediction(np.asarray(labels), proba)


def parts_of(calls: Sequence[ModelCall]) -> list[Prediction]:
    """Each request's answer, in order, from the calls that answered them."""
    return [part for call in calls for part in call.parts()]


def _merge(inputs: Sequence[ModelInput]) -> ModelInput | None:
    count = sum(i.count for i in inputs)
    arrays = [i.rows for i in inputs if i.rows is not None]
    if len(arrays) == len(inputs):
        return ModelInput(count, rows=np.concatenate(arrays))
    frames = [i.frame for i in inputs if i.frame is not None]
    if len(frames) == len(inputs):
        return ModelInput(count, frame=_concat(frames))
    return None


def _concat(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """The frames one under the other. A category column stays one: requests whose accepted
    unknown values made their categories differ would otherwise merge into plain text (which
    a model with native categories refuses); the known categories keep their codes."""
    merged = pd.concat(frames, ignore_index=True)
    for name in frames[0].columns:
        if isinstance(frames[0][name].dtype, pd.CategoricalDtype) and not isinstance(
            merged[name].dtype, pd.CategoricalDtype
        ):
            merged[name] = union_categoricals([frame[name] for frame in frames])
    return merged


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): v for k, v in row.items()} for row in frame.to_dict(orient="records")]


def _same(a: Prediction, b: Prediction) -> bool:
    if len(a.labels) != len(b.labels) or (a.proba is None) != (b.proba is None):
        return False
    numeric = a.labels.dtype.kind in "iuf" and b.labels.dtype.kind in "iuf"
    if numeric:
        if not np.allclose(a.labels, b.labels, rtol=1e-9, atol=1e-12):
            return False
    elif list(a.labels) != list(b.labels):
        return False
    if a.proba is None or b.proba is None:
        return True
    return bool(np.allclose(a.proba, b.proba, rtol=1e-9, atol=1e-12))
