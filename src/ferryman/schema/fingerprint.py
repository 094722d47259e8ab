"""A stable hash of a data set's content, column names and types."""

from __future__ import annotations

import hashlib

import pandas as pd


def fingerprint_frame(frame: pd.DataFrame) -> str:
    """SHA-256 over the column names, dtypes and every cell (row order matters)."""
    digest = hashlib.sha256()
    for name, dtype in frame.dtypes.items():
        digest.update(f"{name}\x1f{dtype}\x1e".encode())
    hashed = pd.util.hash_pandas_object(frame, index=False, categorize=True)
    digest.update(hashed.to_numpy().tobytes())
    return digest.hexdigest()
