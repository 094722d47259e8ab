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
import hashlib
import json
import math
import posixpath
import uuid
from collections.abc import Iterable
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


def row_keys(request_ids: Iterable[str], rows: Iterable[str]) -> np.ndarray:
    """The 64-bit join key of each (request_id, row): the first 8 bytes of their BLAKE2b.

    Stable across versions and processes (predictions and feedback written years apart must
    meet); joining on one integer instead of two strings makes KPI queries several times
    faster. Two different rows share a key with a chance of about n² / 2⁶⁴.
    """
    digest = b"".join(
        hashlib.blake2b(f"{rid}\x1f{row}".encode(), digest_size=8).digest()
        for rid, row in zip(request_ids, rows, strict=True)
    )
    return np.frombuffer(digest, dtype="<i8").astype(np.int64)


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
    replaced: set[str] = set()
    for name in names:
        if name.startswith(COMPACTED_PREFIX):
            try:
                replaced.update(replaced_by(root, posixpath.join(folder, name)))
            except FileNotFoundError:
                continue  # deleted by a compaction that replaced it meanwhile
    return [posixpath.join(folder, name) for name in names if name not in replaced]


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

    ``fresh`` segments (written every flush, soon merged away) are written the cheap way: LZ4,
    no dictionaries, statistics only for ``ts``, about a fifth of the CPU of ZSTD with
    dictionaries and statistics on every column, which merged files keep. The writer thread
    shares the machine with the server, so this is what logging costs serving.
    """
    replaced = list(replaces)
    if replaced:
        metadata = dict(table.schema.metadata or {})
        metadata[REPLACES_KEY] = json.dumps(replaced).encode()
        table = table.replace_schema_metadata(metadata)
    final = posixpath.join(folder, name)
    tmp = posixpath.join(folder, f".{name}.tmp-{uuid.uuid4().hex[:8]}")
    root.fs.makedirs(folder, exist_ok=True)
    options: dict[str, Any] = (
        {"compression": "lz4", "use_dictionary": False, "write_statistics": ["ts"]}
        if fresh and "ts" in table.column_names
        else {"compression": "zstd"}
    )
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
