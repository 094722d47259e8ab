"""Helpers shared by the flavor tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

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
