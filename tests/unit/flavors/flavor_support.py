"""Helpers shared by the flavor tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pandas as pd
from skl2onnx import to_onnx
from sklearn.datasets import make_regression

# Tiny boosters on one thread: on a busy machine the libraries' thread pools cost far more
# than these fits.
XGBOOST_TREES = {"n_estimators": 5, "max_depth": 2, "n_jobs": 1}
LIGHTGBM_TREES = {"n_estimators": 5, "num_leaves": 4, "n_jobs": 1, "verbose": -1}
# the options of an ONNX classifier converted with and without its ZipMap output
ZIPMAP = {"with-zipmap": None, "without-zipmap": {"zipmap": False}}

_LOAD_IN_CHILD = """
import sys
from pathlib import Path
from ferryman.errors import ModelFileError
from ferryman.flavors import LoadContext, get_flavor
try:
    get_flavor(sys.argv[1]).load(Path(sys.argv[2]), LoadContext())
except ModelFileError:
    print("ModelFileError")
else:
    print("loaded")
"""


def load_in_child(flavor: str, path: Path) -> subprocess.CompletedProcess[str]:
    """Load in a separate process: some corrupt files crash the native library outright."""
    return subprocess.run(
        [sys.executable, "-c", _LOAD_IN_CHILD, flavor, str(path)],
        capture_output=True,
        encoding="utf-8",
        errors="replace",
        timeout=120,
        check=False,
    )


def frame_of(X: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])


def regression() -> tuple[pd.DataFrame, np.ndarray]:
    X, y = make_regression(200, 5, random_state=0)
    return frame_of(X), y


def convert(model: Any, frame: pd.DataFrame, options: dict[str, Any] | None) -> onnx.ModelProto:
    """``model`` as an ONNX graph taking ``frame``'s columns as one float32 tensor."""
    return to_onnx(model, frame.to_numpy(dtype=np.float32)[:1], options=options)
