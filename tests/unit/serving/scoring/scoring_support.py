"""Constants and file helpers shared by the batch scoring tests."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

ROWS = 569  # the breast-cancer data set
FIRST = "mean radius"
SECOND = "mean texture"


def write_file(frame: pd.DataFrame, path: Path) -> Path:
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return path


def read_file(path: Path) -> pd.DataFrame:
    if path.suffix == ".csv":
        return pd.read_csv(path, dtype={"customer": str})
    return pd.read_parquet(path)


def leftovers(folder: Path) -> list[Path]:
    return sorted(folder.glob(".*.tmp"))
