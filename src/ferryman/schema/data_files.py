"""Reading and writing tabular data files (CSV and Parquet)."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ferryman.errors import DataFileError

CSV_SUFFIXES = (".csv", ".txt")
PARQUET_SUFFIXES = (".parquet", ".pq")
SUPPORTED = "CSV (.csv) or Parquet (.parquet, .pq)"


def file_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        return "csv"
    if suffix in PARQUET_SUFFIXES:
        return "parquet"
    raise DataFileError(f"cannot tell the format of {path}: use {SUPPORTED}")


def read_table(path: str | Path, text_columns: Sequence[str] = ()) -> pd.DataFrame:
    """Read a whole CSV or Parquet file; any failure is a DataFileError naming the file.

    In a CSV, ``text_columns`` are read as text, so codes such as "007" stay as written.
    """
    path = Path(path)
    kind = file_format(path)
    if not path.is_file():
        raise DataFileError(f"data file {path} does not exist (or is not a file)")
    try:
        if kind == "csv":
            _check_csv_header(path)
            return pd.read_csv(path, dtype=dict.fromkeys(text_columns, str) or None)
        return pq.read_table(path).to_pandas()
    except OSError as exc:
        raise DataFileError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataFileError(f"cannot read {path} as CSV: {exc}") from exc
    except pa.ArrowException as exc:
        raise DataFileError(f"cannot read {path} as Parquet: {exc}") from exc


def _check_csv_header(path: Path) -> None:
    # pandas renames a repeated header ("a", "a.1"); say what the file really holds instead.
    with path.open(newline="", encoding="utf-8", errors="replace") as fh:
        reader = csv.reader(fh)
        header = next(reader, [])
        first = next(reader, None)
    # pandas would silently take the extra leading fields of such a row as an index
    if first is not None and len(first) > len(header):
        raise DataFileError(
            f"{path}: line 2 has {len(first)} fields but the header names {len(header)} columns"
        )
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise DataFileError(
            f"{path} has repeated column names in its header: {', '.join(repeated)}"
        )


def write_table(frame: pd.DataFrame, path: str | Path) -> None:
    """Write ``frame`` as CSV or Parquet by the file's suffix, via a temporary file."""
    path = Path(path)
    kind = file_format(path)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        if kind == "csv":
            frame.to_csv(tmp, index=False)
        else:
            frame.to_parquet(tmp, index=False)
        tmp.replace(path)
    except (OSError, pa.ArrowException) as exc:
        raise DataFileError(f"cannot write {path}: {exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
