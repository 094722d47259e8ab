"""Writing a CSV or Parquet output a chunk at a time, under a temporary name until it is done."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import BinaryIO

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pc
import pyarrow.parquet as pq

from ferryman.errors import DataFileError
from ferryman.schema.data_files import create_temporary


class ChunkWriter:
    """Appends frames with the same columns to one file, renamed into place by ``commit``.

    The file is written as ``.<name>.<random>.tmp`` beside its final path, so a job that
    fails leaves nothing behind (``discard``) and a reader never sees half a file. Every chunk
    takes the schema of the first, with ``types`` fixing columns whose type is known in
    advance (a column of nulls would otherwise be typed null and refuse later text). CSV is
    written by Arrow too: ten times faster than pandas, and the same text for the same values.
    """

    def __init__(
        self,
        path: Path,
        kind: str,
        columns: Sequence[str],
        types: Mapping[str, pa.DataType] | None = None,
    ) -> None:
        self.path = path
        self.kind = kind
        self.columns = list(columns)
        self.types = dict(types or {})
        self.rows = 0
        self._schema: pa.Schema | None = None
        self._writer: pq.ParquetWriter | pc.CSVWriter | None = None
        self._file: BinaryIO | None = None
        self.tmp = create_temporary(path)  # with the umask's mode, as the user's files have

    def write(self, frame: pd.DataFrame) -> None:
        """Append ``frame`` (its columns are ``columns``, in that order)."""
        try:
            if self._schema is None:
                table = pa.Table.from_pandas(frame, preserve_index=False)
                self._open(self._fixed(table.schema))
                table = table.cast(self._schema)
            else:
                table = pa.Table.from_pandas(frame, schema=self._schema, preserve_index=False)
            assert self._writer is not None
            self._writer.write_table(table)
        except OSError as exc:
            raise DataFileError(f"cannot write {self.path}: {exc.strerror or exc}") from exc
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
            raise DataFileError(
                f"cannot write rows {self.rows}-{self.rows + len(frame) - 1} to {self.path}: "
                f"their types differ from the rows before ({exc})"
            ) from exc
        self.rows += len(frame)

    def _fixed(self, inferred: pa.Schema) -> pa.Schema:
        fields = []
        for field in inferred:
            kind = self.types.get(field.name)
            if kind is None and pa.types.is_null(field.type):
                kind = pa.string()
            fields.append(field.with_type(kind) if kind is not None else field)
        return pa.schema(fields)

    def _open(self, schema: pa.Schema) -> None:
        self._schema = schema
        if self.kind == "parquet":
            self._writer = pq.ParquetWriter(self.tmp, schema)
            return
        self._file = self.tmp.open("wb")
        # the header as the csv module writes it: names quoted only when they need it
        header = io.StringIO()
        csv.writer(header, lineterminator="\n").writerow(schema.names)
        self._file.write(header.getvalue().encode("utf-8"))
        self._writer = pc.CSVWriter(
            self._file, schema, write_options=pc.WriteOptions(include_header=False)
        )

    def commit(self) -> None:
        """Finish the file and move it to ``path`` (a file with no rows still has columns)."""
        try:
            if self._schema is None:
                self._open(pa.schema([(c, self.types.get(c, pa.string())) for c in self.columns]))
            self._close()
            self.tmp.replace(self.path)
        except OSError as exc:
            raise DataFileError(f"cannot write {self.path}: {exc.strerror or exc}") from exc
        finally:
            self.discard()

    def discard(self) -> None:
        """Close and remove the temporary file (nothing after a commit)."""
        try:
            self._close()
        finally:
            self.tmp.unlink(missing_ok=True)

    def _close(self) -> None:
        try:
            if self._writer is not None:
                writer, self._writer = self._writer, None
                writer.close()
        finally:
            if self._file is not None:
                file, self._file = self._file, None
                file.close()
