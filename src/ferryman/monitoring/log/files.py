"""The log's files under the monitoring root: where they are, which are live, how they are written.

The folders and columns are the log's scheme (:mod:`ferryman.monitoring.log.scheme`). A
segment written by a flush is named ``s-<utc time>-<writer>-<uuid>.parquet``; a file made by
compaction ``c-<utc time>-<writer>-<uuid>.parquet`` and lists, in its Parquet metadata under
``ferryman.replaces``, the names of the files it replaces. A file is *live* unless a live or
dead compacted file in the same folder replaces it, so a reader never counts a row twice while
compaction has written the new file but not yet deleted the old ones. Names starting with
``.`` are temporary and never read.
"""

from __future__ import annotations

import contextlib
import json
import os
import posixpath
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
from fsspec.implementations.local import LocalFileSystem

from ferryman.errors import StoreError
from ferryman.monitoring.log.scheme import parse_day

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
    sync: bool = False,
) -> str:
    """Write ``table`` under a temporary name, then rename it into place; return its path.

    The encoding is chosen for what the log holds (see :func:`encoding`): ``fresh`` segments,
    written every flush and soon merged away, are not compressed at all; merged files are.
    With ``sync`` (a local root) the file is fsynced before the rename; the caller fsyncs
    the folder (``journal.sync_folders``) before it relies on the name.
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
            if sync:
                fsync_path(tmp)
        else:
            with root.fs.open(tmp, "wb") as fh:
                pq.write_table(table, fh, **options)
        root.fs.mv(tmp, final)
    except BaseException:
        with contextlib.suppress(OSError):
            root.fs.rm(tmp)
        raise
    return final


def fsync_path(path: str | os.PathLike[str]) -> None:
    """fsync a local file or folder (a folder: the names in it)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
