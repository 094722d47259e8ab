"""Where the prediction log, rejections and feedback live under the monitoring root.

Every part is hive-style so a query can prune by folder::

    predictions/model=NAME/version=N/day=YYYY-MM-DD/<segment>.parquet
    rejections/model=NAME/day=YYYY-MM-DD/<segment>.parquet
    feedback/model=NAME/day=YYYY-MM-DD/<segment>.parquet

A segment written by a flush is named ``s-<utc time>-<writer>-<uuid>.parquet``; a file made by
compaction ``c-<utc time>-<writer>-<uuid>.parquet`` and lists, in its Parquet metadata under
``ferryman.replaces``, the names of the files it replaces. A file is *live* unless a live or
dead compacted file in the same folder replaces it, so a reader never counts a row twice while
compaction has written the new file but not yet deleted the old ones. Names starting with
``.`` are temporary and never read.
"""

from __future__ import annotations

import contextlib
import json
import math
import posixpath
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from fsspec.implementations.local import LocalFileSystem

from ferryman.errors import StoreError

PREDICTIONS = "predictions"
REJECTIONS = "rejections"
FEEDBACK = "feedback"
REPLACES_KEY = b"ferryman.replaces"
SEGMENT_PREFIX = "s-"
COMPACTED_PREFIX = "c-"


@dataclass(frozen=True, slots=True)
class LogRoot:
    """The monitoring root resolved to a filesystem and a base path on it."""

    url: str
    fs: Any
    base: str
    is_local: bool

    @classmethod
    def resolve(cls, root: str) -> LogRoot:
        try:
            fs, base = fsspec.core.url_to_fs(str(root))
        except (ValueError, ImportError) as exc:
            raise StoreError(f"cannot use monitoring root {root!r}: {exc}") from exc
        return cls(str(root), fs, base.rstrip("/") or "/", isinstance(fs, LocalFileSystem))

    def path(self, *parts: str) -> str:
        return posixpath.join(self.base, *parts)

    def model_folder(self, part: str, model: str) -> str:
        return self.path(part, f"model={model}")

    def listdir(self, folder: str) -> list[str]:
        """Names of the entries of ``folder``; empty when it does not exist."""
        try:
            entries = self.fs.ls(folder, detail=False)
        except (FileNotFoundError, NotADirectoryError):
            return []
        return sorted(posixpath.basename(str(entry).rstrip("/")) for entry in entries)

    def day_folders(self, folder: str) -> list[tuple[date, str]]:
        """The ``day=YYYY-MM-DD`` folders directly under ``folder``, with their day, in order."""
        days = ((parse_day(name), name) for name in self.listdir(folder))
        return [(day, posixpath.join(folder, name)) for day, name in days if day is not None]

    def url_of(self, path: str) -> str:
        """A path DuckDB (or pyarrow) can open: plain for local roots, a URL otherwise."""
        if self.is_local:
            return path
        return str(self.fs.unstrip_protocol(path))


def label_text(value: Any) -> str:
    """The text a class label is stored and compared as: ``1``, ``1.0`` and ``True`` differ
    only in type, so integral numbers are written as integers and booleans as true/false."""
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        number = float(value)
        if math.isfinite(number) and number.is_integer():
            return str(int(number))
        return repr(number)
    return str(value)


TS_TYPE = pa.timestamp("us", tz="UTC")  # of every time column the log writes
FNV_OFFSET = np.uint64(0xCBF29CE484222325)
FNV_PRIME = np.uint64(0x100000001B3)
KEY_SEPARATOR = 0x1F
FEW_ROWS = 16


def row_keys(request_ids: Sequence[str] | pa.Array, rows: Sequence[str] | pa.Array) -> np.ndarray:
    """The 64-bit join key of each (request_id, row): FNV-1a (64-bit) of the UTF-8 bytes of
    ``request_id + "\x1f" + row``, as a signed integer.

    Stable across versions, processes and machines (predictions and feedback written years
    apart must meet); joining on one integer instead of two strings makes KPI queries several
    times faster. Two different rows share a key with a chance of about n² / 2⁶⁴. Computed a
    byte position at a time over all rows at once (the writer hashes every logged row): pass
    Arrow string arrays when you have them, to skip a conversion.
    """
    ids, row_texts = _strings(request_ids), _strings(rows)
    if len(ids) != len(row_texts):
        raise ValueError(f"{len(ids)} request ids but {len(row_texts)} rows")
    digest = np.full(len(ids), FNV_OFFSET, dtype=np.uint64)
    with np.errstate(over="ignore"):  # the multiplication is modulo 2**64 by definition
        digest = _fnv_feed(digest, ids)
        digest = (digest ^ np.uint64(KEY_SEPARATOR)) * FNV_PRIME
        digest = _fnv_feed(digest, row_texts)
    return digest.view(np.int64)


def _strings(values: Sequence[str] | pa.Array) -> pa.StringArray:
    array = values if isinstance(values, pa.Array) else pa.array(values, pa.string())
    if not pa.types.is_string(array.type):
        array = array.cast(pa.string())
    if array.null_count:
        raise ValueError("request ids and rows of the log are never null")
    return array


def _fnv_feed(digest: np.ndarray, texts: pa.StringArray) -> np.ndarray:
    """Each row's FNV-1a state after the bytes of its text, a byte position at a time over
    all rows of one length at once (memory: the texts' own bytes, whatever their lengths)."""
    count = len(texts)
    _, offsets_buffer, data_buffer = texts.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int32)[texts.offset : texts.offset + count + 1]
    lengths = np.diff(offsets)
    if count == 0 or data_buffer is None or not lengths.any():
        return digest
    data = np.frombuffer(data_buffer, dtype=np.uint8)
    width = int(lengths[0])
    if bool((lengths == width).all()):  # the usual case (generated ids): one reshape
        matrix = data[offsets[0] : offsets[0] + count * width].reshape(count, width)
        return _fnv_columns(digest, matrix)
    order = np.argsort(lengths, kind="stable")
    for rows in np.split(order, np.flatnonzero(np.diff(lengths[order])) + 1):
        width = int(lengths[rows[0]])
        if not width:
            continue
        if len(rows) < FEW_ROWS:  # a few odd lengths (a long id): byte loops beat array calls
            for row in rows.tolist():
                text = data[offsets[row] : offsets[row + 1]].tobytes()
                digest[row] = _fnv_bytes(int(digest[row]), text)
            continue
        matrix = data[offsets[rows][:, None] + np.arange(width)]
        digest[rows] = _fnv_columns(digest[rows], matrix)
    return digest


def _fnv_bytes(state: int, text: bytes) -> int:
    prime, mask = int(FNV_PRIME), (1 << 64) - 1
    for byte in text:
        state = ((state ^ byte) * prime) & mask
    return state


def _fnv_columns(digest: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    for j in range(matrix.shape[1]):
        digest = (digest ^ matrix[:, j]) * FNV_PRIME
    return digest


def day_of(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


def days_between(start: datetime, end: datetime) -> set[str]:
    """The day folder names a window [start, end) touches."""
    first, last = start.astimezone(UTC).date(), end.astimezone(UTC).date()
    out: set[str] = set()
    current = first
    while current <= last:
        out.add(current.isoformat())
        current += timedelta(days=1)
    return out


def parse_partition(name: str, key: str) -> str | None:
    prefix = f"{key}="
    return name[len(prefix) :] if name.startswith(prefix) else None


def parse_day(name: str) -> date | None:
    value = parse_partition(name, "day")
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def segment_name(prefix: str, writer: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    return f"{prefix}{stamp}-{writer}-{uuid.uuid4().hex[:12]}.parquet"


def is_data_file(name: str) -> bool:
    return name.endswith(".parquet") and not name.startswith(".")


def replaced_by(root: LogRoot, path: str) -> list[str]:
    """The file names a compacted file says it replaces (read from its footer only)."""
    with root.fs.open(path, "rb") as fh:
        metadata = pq.read_metadata(fh).metadata or {}
    raw = metadata.get(REPLACES_KEY)
    return list(json.loads(raw)) if raw else []


def live_files(root: LogRoot, folder: str) -> list[str]:
    """Full paths of the data files of one partition folder that are not replaced."""
    names = [name for name in root.listdir(folder) if is_data_file(name)]
    replaced = replaced_names(root, folder, names)
    return [posixpath.join(folder, name) for name in names if name not in replaced]


def replaced_names(root: LogRoot, folder: str, names: Iterable[str]) -> set[str]:
    """The names that the compacted files among ``names`` (one folder's) list as replaced."""
    replaced: set[str] = set()
    for name in names:
        if name.startswith(COMPACTED_PREFIX):
            with contextlib.suppress(FileNotFoundError):  # a later merge replaced it meanwhile
                replaced.update(replaced_by(root, posixpath.join(folder, name)))
    return replaced


COMPRESSION = "zstd"  # of merged files
UNIQUE_TEXT_COLUMNS = frozenset({"request_id"})  # text that is never repeated: no dictionary
TIME_COLUMNS = ("ts", "received_at")  # what queries filter on: the only statistics kept


def encoding(schema: pa.Schema, *, fresh: bool) -> dict[str, Any]:
    """Parquet writer options for a log file of ``schema``.

    The log is mostly numbers nobody repeats (features, probabilities, hashed keys, random
    request ids): dictionary encoding them costs three times the CPU of the rest of the write
    and makes the file bigger, and statistics on them prune nothing. So dictionaries only for
    the other text columns (``source``, ``row``, text features and labels), statistics only for
    ``ts`` (every query filters on time). Fresh segments skip compression too: the writer runs
    beside the server, and a merge rewrites them within minutes.
    """
    texts = [
        field.name
        for field in schema
        if (pa.types.is_string(field.type) or pa.types.is_large_string(field.type))
        and field.name not in UNIQUE_TEXT_COLUMNS
    ]
    timed = [name for name in TIME_COLUMNS if name in schema.names]
    return {
        "compression": "none" if fresh else COMPRESSION,
        "use_dictionary": False if fresh else texts,
        "write_statistics": timed or False,
    }


def write_parquet(
    root: LogRoot,
    folder: str,
    name: str,
    table: pa.Table,
    replaces: Iterable[str] = (),
    *,
    fresh: bool = False,
) -> str:
    """Write ``table`` under a temporary name, then rename it into place; return its path.

    The encoding is chosen for what the log holds (see :func:`encoding`): ``fresh`` segments,
    written every flush and soon merged away, are not compressed at all; merged files are.
    """
    replaced = list(replaces)
    if replaced:
        metadata = dict(table.schema.metadata or {})
        metadata[REPLACES_KEY] = json.dumps(replaced).encode()
        table = table.replace_schema_metadata(metadata)
    final = posixpath.join(folder, name)
    tmp = posixpath.join(folder, f".{name}.tmp-{uuid.uuid4().hex[:8]}")
    root.fs.makedirs(folder, exist_ok=True)
    options = encoding(table.schema, fresh=fresh)
    try:
        if root.is_local:  # Arrow's own file I/O, without a Python file object in between
            pq.write_table(table, tmp, **options)
        else:
            with root.fs.open(tmp, "wb") as fh:
                pq.write_table(table, fh, **options)
        root.fs.mv(tmp, final)
    except BaseException:
        with contextlib.suppress(OSError):
            root.fs.rm(tmp)
        raise
    return final
