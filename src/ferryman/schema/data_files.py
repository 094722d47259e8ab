"""Reading and writing tabular data files (CSV and Parquet)."""

from __future__ import annotations

import csv
import os
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ferryman.core.signature import Signature
from ferryman.errors import DataFileError, InvalidArgumentError

CSV_SUFFIXES = (".csv", ".txt")
PARQUET_SUFFIXES = (".parquet", ".pq")
SUPPORTED = "CSV (.csv) or Parquet (.parquet, .pq)"
# In input to predict on, only the empty field is missing: "n/a" or "NA" in a number column is
# a bad cell to refuse, not a null a model trained with nulls would quietly score.
MISSING_IN_CSV = ("",)


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
    with _reading(path):
        if kind == "csv":
            _check_csv_header(path)
            return pd.read_csv(path, dtype=dict.fromkeys(text_columns, str) or None)
        return pq.read_table(path).to_pandas()


def read_input(
    path: str | Path, signature: Signature | None, na_values: Sequence[str] = ()
) -> pd.DataFrame:
    """Read a whole file to predict on, as ``ferryman predict`` and ``score`` read it.

    In a CSV only the empty field is missing, plus the strings in ``na_values``; the
    signature's text columns are read as text, and a number column holding a few cells that
    are not numbers keeps its numbers as numbers, so validation names only the bad cells.
    """
    path = Path(path)
    kind = file_format(path)
    check_na_values(na_values, path, kind)
    if not path.is_file():
        raise DataFileError(f"data file {path} does not exist (or is not a file)")
    text = signature.text_columns if signature is not None else []
    with _reading(path):
        if kind == "csv":
            _check_csv_header(path)
            frame = pd.read_csv(path, **csv_options(text, na_values))
            return keep_numbers(frame, signature)
        return pq.read_table(path).to_pandas()


@contextmanager
def _reading(path: Path) -> Iterator[None]:
    """Turn what reading a CSV or Parquet file can raise into a DataFileError naming it."""
    try:
        yield
    except OSError as exc:
        raise DataFileError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataFileError(f"cannot read {path} as CSV: {exc}") from exc
    except pa.ArrowException as exc:
        raise DataFileError(f"cannot read {path} as Parquet: {exc}") from exc


def check_na_values(na_values: Sequence[str], path: Path, kind: str) -> None:
    """Refuse ``na_values`` for a Parquet file, whose nulls are typed: they would do nothing."""
    if na_values and kind != "csv":
        raise InvalidArgumentError(
            f"na_values ({', '.join(map(repr, na_values))}) apply to CSV input only; {path} is "
            "read as Parquet, whose missing values are nulls"
        )


def csv_options(text_columns: Sequence[str], na_values: Sequence[str]) -> dict[str, Any]:
    """``pandas.read_csv`` options for input to predict on: ``text_columns`` as text, and
    only the empty field and ``na_values`` read as missing (not pandas' long default list)."""
    return {
        "dtype": dict.fromkeys(text_columns, str) or None,
        "keep_default_na": False,
        "na_values": [*MISSING_IN_CSV, *na_values],
    }


def keep_numbers(frame: pd.DataFrame, signature: Signature | None) -> pd.DataFrame:
    """Numbers as numbers in signature number columns that a few bad cells turned to text.

    pandas reads a CSV column holding one "n/a" as text throughout; validation would then
    refuse every row, and name good cells ("got str '41'"), not just the bad one.
    """
    if signature is None:
        return frame
    for col in signature.columns:
        if col.name not in frame.columns or col.kind not in ("float", "integer", "boolean"):
            continue
        series = frame[col.name]
        if pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype):
            continue
        if col.kind == "boolean":
            frame[col.name] = series.astype(object).map(_boolean)
            continue
        numbers = pd.to_numeric(series, errors="coerce")
        # "nan" parses as a number, yet it is text the user wrote, not the empty field
        unparsed = (numbers.isna() | _spells_nan(series)) & series.notna()
        if not unparsed.any():
            frame[col.name] = numbers
            continue
        mixed = numbers.astype(object)
        mixed[unparsed] = series[unparsed].astype(object)
        frame[col.name] = mixed
    return frame


def _spells_nan(series: pd.Series) -> pd.Series:
    return series.astype(str).str.strip().str.lower().isin(("nan", "-nan", "+nan"))


def _boolean(value: object) -> object:
    """A CSV cell as a bool where it spells one, else as it was (for validation to refuse)."""
    if isinstance(value, str):
        return {"true": True, "false": False}.get(value.strip().lower(), value)
    return value


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
    tmp = create_temporary(path)
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


def create_temporary(path: Path) -> Path:
    """Create an empty ``.<name>.<random>.tmp`` beside ``path``, to be renamed onto it.

    The file gets the mode a plain ``open(path, "w")`` would give (0666 less the umask), not
    ``tempfile.mkstemp``'s 0600: the finished file is the user's output, shared as they share
    their files.
    """
    for _ in range(100):
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        except OSError as exc:
            raise DataFileError(f"cannot write {path}: {exc.strerror or exc}") from exc
        os.close(fd)
        return tmp
    raise DataFileError(f"cannot write {path}: no free temporary name in {path.parent}")
