"""The suite's comparison of predictions made along two code paths (see same_predictions.py)."""

from __future__ import annotations

import numpy as np
import pytest

from same_predictions import assert_same_predictions


def test_floats_one_ulp_apart_are_the_same_prediction() -> None:
    # the pair an AMD EPYC machine with OpenBLAS 0.3.31 gave for the C- and F-ordered paths
    assert_same_predictions([194.6839059202142], np.array([194.68390592021416]))
    assert_same_predictions(np.float32([0.25, 0.75]), np.float64([0.25, 0.75]))


def test_floats_that_differ_beyond_rounding_are_not() -> None:
    with pytest.raises(AssertionError):
        assert_same_predictions([194.6839], [194.6840])
    with pytest.raises(AssertionError):
        assert_same_predictions([1.0, 2.0], [1.0, 2.0 + 1e-9])


def test_labels_must_be_equal() -> None:
    assert_same_predictions(["no", "yes"], np.array(["no", "yes"]))
    with pytest.raises(AssertionError):
        assert_same_predictions(["no", "yes"], ["yes", "no"])
    with pytest.raises(AssertionError):
        assert_same_predictions([0, 1], [0, 1, 1])
