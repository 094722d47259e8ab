"""What counts toward a served model's error rate."""

from __future__ import annotations

import numpy as np

from ferryman.errors import InvalidInputError
from ferryman.http.metrics import ServerMetrics
from ferryman.registry import is_model_failure
from ferryman.registry.failures import model_failure


def test_a_model_failing_on_checked_input_counts_toward_its_error_rate() -> None:
    metrics = ServerMetrics()

    metrics.observe("m", "1", "predict", 200, 0.01, 1)
    metrics.observe("m", "1", "predict", 422, 0.01, 0)  # the caller's own mistake
    metrics.observe("m", "1", "predict", 422, 0.01, 0, model_failed=True)
    metrics.observe("m", "1", "predict", 500, 0.01, 0)

    assert metrics.tally["m"] == [4, 2]


def test_a_model_failure_is_told_from_a_refused_input() -> None:
    def explodes(rows: np.ndarray) -> None:
        if (rows > 1).any():
            raise ValueError("overflow")

    failure = model_failure(explodes, np.array([[0.0], [2.0]]), "m/1", ValueError("overflow"))

    assert is_model_failure(failure)
    assert not is_model_failure(InvalidInputError("missing column 'x'"))
    assert not is_model_failure(ValueError("overflow"))
