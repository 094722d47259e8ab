"""Merging a partition's small segments into bigger files without losing or doubling a row.

Order of work, so that a crash or a reader at any instant sees every row exactly once:

1. read the chosen files and write the merged table to a temporary name;
2. rename it to ``c-...parquet``; its footer lists the names it replaces, so from this instant
   readers (``live_files``) skip the old files even while they still exist;
3. delete the old files. A crash between 2 and 3 leaves replaced files behind; they are never
   read, and the next compaction of the folder deletes them.

Two compactions must not merge the same files at once (each would write a copy). On a local
root every merge holds the folder's lock file. On a remote root (no lock) each writer merges
only the segments it wrote, and merging every writer's files is left out (see
``PredictionLog.compact``).
"""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Sequence

import pyarrow as pa
import pyarrow.parquet as pq
from filelock import FileLock, Timeout

from ferryman.monitoring.log.files import (
    COMPACTED_PREFIX,
    SEGMENT_PREFIX,
    LogRoot,
    is_data_file,
    replaced_names,
    segment_name,
    write_parquet,
)

logger = logging.getLogger(__name__)

TARGET_BYTES = 64 << 20  # files at least half this size are left alone


def read_files(root: LogRoot, paths: Sequence[str], *, mixed_types: bool = False) -> pa.Table:
    """The files' rows as one table. ``mixed_types``: a column whose type differs between
    files is read as text (feedback: a day's rows may carry the predictions of versions whose
    outputs differ in type, numbers in one and text in another); otherwise that is an error."""
    tables = []
    for path in paths:
        if root.is_local:  # Arrow's own file I/O, without a Python file object in between
            tables.append(pq.ParquetFile(path).read())
            continue
        with root.fs.open(path, "rb") as fh:
            tables.append(pq.read_table(fh))
    if mixed_types:
        tables = _as_text_where_types_differ(tables)
    table = pa.concat_tables(tables, promote_options="permissive")
    return table.replace_schema_metadata(None)


def _as_text_where_types_differ(tables: Sequence[pa.Table]) -> list[pa.Table]:
    """The tables with text in each column whose files disagree on its type (as DuckDB
    reads numbers and text together)."""
    kinds: dict[str, set[pa.DataType]] = {}
    for table in tables:
        for column in table.schema:
            if not pa.types.is_null(column.type):
                kinds.setdefault(column.name, set()).add(column.type)
    mixed = {name for name, types in kinds.items() if len(types) > 1}
    out = []
    for table in tables:
        for name in mixed & set(table.column_names):
            i = table.column_names.index(name)
            table = table.set_column(i, name, table.column(i).cast(pa.string()))
        out.append(table)
    return out


def compact_folder(
    root: LogRoot,
    folder: str,
    writer: str,
    *,
    only_writer: str | None = None,
    min_files: int = 2,
    target_bytes: int = TARGET_BYTES,
    mixed_types: bool = False,
) -> int:
    """Merge the small live files of one partition folder; return how many files were merged.

    With ``only_writer``, only files whose name carries that writer id are merged. On a local
    root every merge of a folder holds the folder's lock file (a writer merging its own files
    and the server's upkeep merging everyone's would otherwise both copy the same files); a
    folder locked by another merge is skipped this time. ``mixed_types``: see ``read_files``.
    """
    if root.is_local:
        lock_path = posixpath.join(root.base, ".locks", _lock_name(root, folder))
        root.fs.makedirs(posixpath.dirname(lock_path), exist_ok=True)
        try:
            with FileLock(lock_path, timeout=0):
                return _compact(
                    root, folder, writer, only_writer, min_files, target_bytes, mixed_types
                )
        except Timeout:
            return 0  # another process is compacting this folder right now
    return _compact(root, folder, writer, only_writer, min_files, target_bytes, mixed_types)


def _lock_name(root: LogRoot, folder: str) -> str:
    relative = posixpath.relpath(folder, root.base)
    return relative.replace("/", "__") + ".lock"


def _compact(
    root: LogRoot,
    folder: str,
    writer: str,
    only_writer: str | None,
    min_files: int,
    target_bytes: int,
    mixed_types: bool,
) -> int:
    try:
        entries = root.fs.ls(folder, detail=True)
    except FileNotFoundError:
        return 0
    sizes = {
        posixpath.basename(str(e["name"]).rstrip("/")): int(e.get("size") or 0) for e in entries
    }
    names = sorted(name for name in sizes if is_data_file(name))
    replaced = replaced_names(root, folder, names)
    leftovers = [n for n in names if n in replaced]  # left by an interrupted compaction
    _delete(root, folder, leftovers)
    # a writer merges only its fresh segments: re-merging its merged files each time would
    # replace them every few flushes, and a reader that listed one would find it gone
    small = [
        name
        for name in names
        if name not in replaced
        and sizes[name] < target_bytes // 2
        and (
            only_writer is None or (f"-{only_writer}-" in name and name.startswith(SEGMENT_PREFIX))
        )
    ]
    merged = 0
    for group in _groups(small, sizes, target_bytes):
        if len(group) < min_files:
            continue
        paths = [posixpath.join(folder, name) for name in group]
        table = read_files(root, paths, mixed_types=mixed_types)
        # the new file also names the leftovers: if one could not be deleted, it must stay
        # hidden after the file that hid it is merged away
        replaces = [*group, *leftovers]
        # merged files are the lasting ones (on a remote root a writer's own merges are never
        # merged again): compressed, whoever merges
        name = segment_name(COMPACTED_PREFIX, writer)
        write_parquet(root, folder, name, table, replaces)
        _delete(root, folder, group)
        merged += len(group)
    return merged


def _groups(names: list[str], sizes: dict[str, int], target_bytes: int) -> list[list[str]]:
    groups: list[list[str]] = [[]]
    total = 0
    for name in names:
        if groups[-1] and total + sizes[name] > target_bytes:
            groups.append([])
            total = 0
        groups[-1].append(name)
        total += sizes[name]
    return [group for group in groups if group]


def _delete(root: LogRoot, folder: str, names: Sequence[str]) -> None:
    for name in names:
        try:
            root.fs.rm(posixpath.join(folder, name))
        except FileNotFoundError:
            continue
        except OSError:
            logger.warning("cannot delete replaced log file %s/%s", folder, name, exc_info=True)
