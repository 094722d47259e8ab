"""Reading a CSV or Parquet input a chunk of rows at a time, so memory stays bounded."""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ferryman.core.signature import Signature
from ferryman.errors import DataFileError
from ferryman.schema.data_files import csv_options, file_format, keep_numbers

FORMATS = ("csv", "parquet")


def choose_format(path: Path, given: str | None) -> str:
    """``given`` if set (and known), else the format the file's suffix names."""
    if given is None:
        return file_format(path)
    if given not in FORMATS:
        raise DataFileError(f"unknown file format {given!r} for {path}; use csv or parquet")
    return given


@dataclass(frozen=True)
class Chunk:
    """Some consecutive rows of the input, and how far into the file reading has got."""

    frame: pd.DataFrame
    bytes_read: int


class InputFile:
    """An input file opened for reading in chunks: its columns, and its size when known.

    Opening reads only the CSV header or the Parquet footer; a file that cannot be read is a
    DataFileError naming it, raised before any output exists.
    """

    def __init__(self, path: Path, kind: str) -> None:
        self.path = path
        self.kind = kind
        if not path.is_file():
            raise DataFileError(f"input file {path} does not exist (or is not a file)")
        self.bytes_total = path.stat().st_size
        self.rows_total: int | None = None
        if kind == "parquet":
            self._parquet = self._open_parquet()
            schema = self._parquet.schema_arrow
            # pandas saves an unnamed index as __index_level_0__: not data, so not a column
            # (a named index, such as an id, stays a column)
            saved = (schema.pandas_metadata or {}).get("index_columns", [])
            index = {c for c in saved if isinstance(c, str) and c.startswith("__index_level_")}
            self.columns = [c for c in schema.names if c not in index]
            self.rows_total = self._parquet.metadata.num_rows
            self.arrow_types = {c: schema.field(c).type for c in self.columns}
        else:
            self.columns = self._csv_header()
            self.arrow_types = {}
        repeated = sorted({name for name in self.columns if self.columns.count(name) > 1})
        if repeated:
            raise DataFileError(f"{path} has repeated column names: {', '.join(repeated)}")

    def _open_parquet(self) -> pq.ParquetFile:
        try:
            # streamed in 1 MiB reads, not a whole column chunk at once: a file written as one
            # big row group would otherwise cost its full size in memory
            return pq.ParquetFile(self.path, buffer_size=1 << 20, pre_buffer=False)
        except OSError as exc:
            raise DataFileError(f"cannot read {self.path}: {exc.strerror or exc}") from exc
        except pa.ArrowException as exc:
            raise DataFileError(f"cannot read {self.path} as Parquet: {exc}") from exc

    def _csv_header(self) -> list[str]:
        try:
            with self.path.open(newline="", encoding="utf-8-sig") as fh:
                reader = csv.reader(fh)
                header = next(reader, [])
                first = next(reader, None)
        except OSError as exc:
            raise DataFileError(f"cannot read {self.path}: {exc.strerror or exc}") from exc
        except (UnicodeDecodeError, csv.Error) as exc:
            raise DataFileError(f"cannot read {self.path} as CSV: {exc}") from exc
        if not header:
            raise DataFileError(
                f"{self.path} is empty: a CSV input needs a header line naming its columns"
            )
        # pandas would silently take the extra leading fields of such a row as an index
        if first is not None and len(first) > len(header):
            raise DataFileError(
                f"{self.path}: line 2 has {len(first)} fields but the header names "
                f"{len(header)} columns"
            )
        return header

    def chunks(
        self,
        chunk_rows: int,
        text_columns: Sequence[str] = (),
        signature: Signature | None = None,
        na_values: Sequence[str] = (),
    ) -> Iterator[Chunk]:
        """The rows in order, at most ``chunk_rows`` at a time.

        In a CSV, ``text_columns`` are read as text (so "007" stays "007"), only the empty
        field and ``na_values`` are missing, and a number column holding a few cells that are
        not numbers keeps its numbers as numbers: only those cells are left as text, for
        validation to refuse row by row.
        """
        if chunk_rows < 1:
            raise ValueError(f"chunk_rows must be at least 1, got {chunk_rows}")
        if self.kind == "parquet":
            return self._parquet_chunks(chunk_rows)
        return self._csv_chunks(chunk_rows, text_columns, signature, na_values)

    def _parquet_chunks(self, chunk_rows: int) -> Iterator[Chunk]:
        done = 0
        try:
            batches = self._parquet.iter_batches(batch_size=chunk_rows, columns=self.columns)
            for batch in batches:
                done += batch.num_rows
                # bytes are estimated from rows: Parquet decodes by row group, not byte range
                share = done / self.rows_total if self.rows_total else 1.0
                frame = batch.to_pandas()
                if any(name in self.columns for name in frame.index.names):
                    frame = frame.reset_index()[self.columns]  # a named index is a column here
                yield Chunk(frame, int(self.bytes_total * share))
        except OSError as exc:
            raise DataFileError(f"cannot read {self.path}: {exc.strerror or exc}") from exc
        except pa.ArrowException as exc:
            raise DataFileError(f"cannot read {self.path} as Parquet: {exc}") from exc
        finally:
            self._parquet.close()

    def _csv_chunks(
        self,
        chunk_rows: int,
        text_columns: Sequence[str],
        signature: Signature | None,
        na_values: Sequence[str],
    ) -> Iterator[Chunk]:
        text = [c for c in text_columns if c in self.columns]
        try:
            with self.path.open("rb") as fh:
                reader = pd.read_csv(fh, chunksize=chunk_rows, **csv_options(text, na_values))
                with reader:
                    for frame in reader:
                        yield Chunk(keep_numbers(frame, signature), fh.tell())
        except OSError as exc:
            raise DataFileError(f"cannot read {self.path}: {exc.strerror or exc}") from exc
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise DataFileError(f"cannot read {self.path} as CSV: {exc}") from exc
