"""The one prediction call every protocol makes (in the spirit of MLServer's data plane).

``DataPlane.predict`` picks the version that answers a model reference, reads the request's
rows for that version (through the protocol's reader), checks and encodes them, predicts, and
answers with the version and its labels and probabilities. What the version answered reaches
the prediction sink through the runner; what its checks refused, from here. The protocol
modules (``http/``) only translate a request into this call and its answer into their body.
Routing between versions of a model belongs here, in one place for every protocol.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeAlias, TypeVar

import numpy as np

from ferryman.core.predictions import RequestTag
from ferryman.core.refs import ModelRef
from ferryman.errors import InvalidInputError, RequestError
from ferryman.serving.codec import ModelInput
from ferryman.serving.pool import ModelPool
from ferryman.serving.served import ServedVersion

Records: TypeAlias = Sequence[Mapping[str, Any]]


class Caller(RequestTag, Protocol):
    """A request as the data plane sees it: its tag for the log, told which version answers
    it as soon as that is known (before its rows are read: its errors name the version)."""

    def answered_by(self, served: ServedVersion) -> None: ...


C = TypeVar("C", bound=Caller)
# reads a request's rows for the version answering it: records to check and encode, or
# input the protocol encoded itself with the version's codec (V2's tensors)
Reader: TypeAlias = Callable[[ServedVersion, C], Awaitable[ModelInput | Records]]


@dataclass(slots=True)  # not frozen: one is built per request, and frozen costs a setattr each
class Answer:
    """A request's answer: the version that gave it, a label (or number) per row and, for a
    classifier, each row's probability per class (aligned with ``served.classes``).
    ``accepted``: the values its columns' tolerance let through, (column, kind) -> count."""

    served: ServedVersion
    labels: np.ndarray
    proba: np.ndarray | None
    rows: int
    accepted: Mapping[tuple[str, str], int] | None


class DataPlane:
    """Answers prediction requests for the models of ``pool``."""

    def __init__(self, pool: ModelPool) -> None:
        self.pool = pool
        self._recorder = pool.recorder

    async def predict(self, ref: ModelRef, read: Reader[C], caller: C) -> Answer:
        """The answer to ``caller``'s rows, read by ``read`` for the version answering ``ref``.

        Raises what the pool raises for a model it cannot answer with (not found, unavailable,
        loading), InvalidInputError for rows the signature refuses (each problem named) or a
        model failing on checked rows, RequestError for a body the reader cannot read.
        """
        runner = await self.pool.runner(ref)
        served = runner.served
        caller.answered_by(served)
        try:
            given = await read(served, caller)
            item = given if isinstance(given, ModelInput) else served.codec.encode(given)
            result = await runner.predict(item, caller)
        except (InvalidInputError, RequestError) as exc:
            self._recorder.reject(served, exc, caller)
            raise
        return Answer(served, result.labels, result.proba, item.count, item.accepted)
