"""Compare predictions made along two code paths.

Labels (integers, strings, booleans) must be equal. Floats need only agree to floating-point
rounding: the same model given a C-ordered array on one path and a Fortran-ordered one (or a
batch of another size) on the other may round 1 ulp apart, depending on the BLAS kernel of the
machine the tests run on.
"""

from __future__ import annotations

from typing import Any

import numpy as np

RTOL = 1e-12
ATOL = 1e-12


def assert_same_predictions(actual: Any, expected: Any) -> None:
    """Equal labels; floats equal to a relative 1e-12 (an ulp of BLAS rounding is not a bug)."""
    got = np.asarray(actual)
    want = np.asarray(expected)
    assert got.shape == want.shape, f"shape {got.shape} != {want.shape}"
    if got.dtype.kind == "f" or want.dtype.kind == "f":
        np.testing.assert_allclose(
            got.astype(np.float64), want.astype(np.float64), rtol=RTOL, atol=ATOL
        )
    else:
        assert got.tolist() == want.tolist()
