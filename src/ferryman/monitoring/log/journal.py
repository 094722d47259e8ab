"""The durable prediction log's journal: each model call's rows on disk before its answers.

In durable mode (``[ferryman.monitoring] durable``) the writer appends every queued batch,
as one Arrow table, to a journal file, and the server calls ``sync`` (in a thread) before it
sends the answers of that model call: one fsync covers every batch appended before it, so
concurrent model calls share them. A journal is a sequence of frames
(an 8-byte length, then an Arrow IPC stream of one table whose schema metadata says its
partition); a frame cut short by a crash is ignored (its answers were never sent).

The journal has generations: each flush closes the current file and starts the next, and a
closed generation is deleted once every row of it is in segments. Segments written from a
generation carry its tag in their name (``-<writer>-j<generation>-``), so on start a
journal left by a process that died (its file lock is free) is replayed exactly once: the
frames of each partition are written as segments unless a segment of that partition already
carries the tag (written before the crash, perhaps merged since: compacted files list the
names they replace), then the journal is deleted.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import struct
import threading
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from ferryman.monitoring.log.files import (
    SEGMENT_PREFIX,
    LogRoot,
    replaced_names,
    write_parquet,
)

logger = logging.getLogger(__name__)

JOURNAL = "journal"  # the folder under the monitoring root
SUFFIX = ".journal"
_LENGTH = struct.Struct("<Q")
_FOLDER_KEY = b"ferryman.folder"


def generation_tag(writer: str, generation: int) -> str:
    """What the names of segments written from a generation carry (with ``-`` either side)."""
    return f"{writer}-j{generation:06d}"


@dataclass
class _Generation:
    number: int
    path: Path
    fd: int  # open, holding the file's lock until the generation is deleted
    dirty: bool = False  # appended to since its last fsync


class Journal:
    """One writer's journal files under ``ROOT/journal`` (a local monitoring root)."""

    def __init__(self, root: LogRoot, writer: str) -> None:
        if not root.is_local:
            raise ValueError("the durable prediction log needs a local monitoring root")
        self.folder = Path(root.path(JOURNAL))
        self.folder.mkdir(parents=True, exist_ok=True)
        self.writer = writer
        self._state = threading.Lock()  # the generations and counters
        self._syncing = threading.Lock()  # one fsync at a time; no file closes meanwhile
        self._written = 0  # frames appended
        self._synced = 0  # frames known to be on disk
        self._retired: list[_Generation] = []
        self._current = self._open(0)

    @property
    def tag(self) -> str:
        """The current generation's tag, for the segments written from it."""
        return generation_tag(self.writer, self._current.number)

    def append(self, folder: str, table: pa.Table) -> None:
        """Write ``table`` (rows for the partition ``folder``); :meth:`sync` makes it last."""
        table = table.replace_schema_metadata({_FOLDER_KEY: folder.encode()})
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as stream:
            stream.write_table(table)
        data = sink.getvalue().to_pybytes()
        with self._state:
            current = self._current
            os.write(current.fd, _LENGTH.pack(len(data)) + data)
            current.dirty = True
            self._written += 1

    def sync(self) -> None:
        """Return once every frame appended before the call is on disk (a later caller's
        fsync may cover it: one fsync for every frame appended while the last one ran)."""
        with self._state:
            wanted = self._written
        with self._syncing:
            if self._synced >= wanted:
                return
            with self._state:
                reached = self._written
                dirty = [g for g in (*self._retired, self._current) if g.dirty]
                for generation in dirty:
                    generation.dirty = False
            try:
                for generation in dirty:
                    os.fsync(generation.fd)
            except OSError:
                for generation in dirty:
                    generation.dirty = True
                raise
            self._synced = reached

    def rotate(self) -> str:
        """Close the current generation (kept until :meth:`release`), start the next; return
        the closed one's tag."""
        with self._state:
            closed = self._current
            self._current = self._open(closed.number + 1)
            self._retired.append(closed)
        return generation_tag(self.writer, closed.number)

    def release(self) -> None:
        """Delete the closed generations: every row of them is in segments."""
        with self._syncing, self._state:
            retired, self._retired = self._retired, []
        for generation in retired:
            _delete(generation)

    def close(self, *, written: bool) -> None:
        """Stop journaling; with ``written`` (every row is in segments) delete the journal,
        else leave it to be replayed on the next start (fsynced first)."""
        with self._syncing, self._state:
            generations = [*self._retired, self._current]
            self._retired = []
        for generation in generations:
            if written:
                _delete(generation)
            else:
                with contextlib.suppress(OSError):
                    os.fsync(generation.fd)
                os.close(generation.fd)

    def _open(self, number: int) -> _Generation:
        path = self.folder / f"{generation_tag(self.writer, number)}{SUFFIX}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX)
        _sync_folder(self.folder)
        return _Generation(number, path, fd)


def replay(root: LogRoot) -> int:
    """Write the rows of every journal whose writer is gone as segments, once; return them."""
    folder = Path(root.path(JOURNAL))
    if not folder.is_dir():
        return 0
    rows = 0
    for path in sorted(folder.glob(f"*{SUFFIX}")):
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            continue  # deleted meanwhile by its writer
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a live writer's
            if not path.exists():
                continue
            rows += _replay_file(root, path)
            path.unlink()
        finally:
            os.close(fd)
    _sync_folder(folder)
    return rows


def _replay_file(root: LogRoot, path: Path) -> int:
    tag = path.name.removesuffix(SUFFIX)
    by_folder: dict[str, list[pa.Table]] = defaultdict(list)
    for table in _frames(path):
        metadata = table.schema.metadata or {}
        target = metadata.get(_FOLDER_KEY, b"").decode()
        if target:
            by_folder[target].append(table.replace_schema_metadata(None))
    rows = 0
    for target, tables in by_folder.items():
        if _holds_tag(root, target, tag):
            continue  # written before the process ended
        for i, table in enumerate(_group_by_schema(tables)):
            name = f"{SEGMENT_PREFIX}{tag}-replay{i:03d}.parquet"  # the same name if replayed twice
            write_parquet(root, target, name, table, fresh=True)
            rows += table.num_rows
    if rows:
        logger.warning("replayed %d logged rows from the journal %s", rows, path)
    return rows


def _frames(path: Path) -> list[pa.Table]:
    tables: list[pa.Table] = []
    with path.open("rb") as fh:
        while header := fh.read(_LENGTH.size):
            if len(header) < _LENGTH.size:
                break
            (size,) = _LENGTH.unpack(header)
            data = fh.read(size)
            if len(data) < size:
                break  # cut short by the crash: never answered
            try:
                tables.append(pa.ipc.open_stream(data).read_all())
            except (pa.ArrowInvalid, OSError):
                break
    return tables


def _group_by_schema(tables: list[pa.Table]) -> list[pa.Table]:
    groups: dict[pa.Schema, list[pa.Table]] = {}
    for table in tables:
        groups.setdefault(table.schema, []).append(table)
    return [pa.concat_tables(group) for group in groups.values()]


def _holds_tag(root: LogRoot, folder: str, tag: str) -> bool:
    names = root.listdir(folder)
    marker = f"-{tag}-"
    return any(marker in name for name in [*names, *replaced_names(root, folder, names)])


def _delete(generation: _Generation) -> None:
    with contextlib.suppress(FileNotFoundError):
        generation.path.unlink()
    os.close(generation.fd)


def _sync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
