"""The durable prediction log's journal: each model call's rows on disk before its answers.

In durable mode (``[ferryman.monitoring] durable``) the log queues every batch for the
journal too, and the server calls ``sync`` (in a thread) before it sends the answers of that
model call: it appends what is queued to a journal file, as Arrow tables, and fsyncs it, so
the model calls made while one sync runs share the next. A journal is a sequence of frames
(an 8-byte length, then an Arrow IPC stream of one table whose schema metadata says its
partition and its segment key); a frame cut short by a crash is ignored (its answers
were never sent). A frame is written whole or not at all: a short write is continued, and a
failed one is cut off the file again (``ftruncate``) before the sync reports it.

The journal has generations: each flush closes the current file and starts the next, and a
closed generation is deleted once every row of it is in segments. Segments written from a
generation carry its tag and their segment key in their name
(``-<writer>-j<generation>-k<key>-``; the key, :func:`segment_key`, names the table layout:
one partition can get several segments from one generation). Rows whose write fails keep
their generation's tag when retried, so on start a journal left by a process that died (its
file lock is free) is replayed exactly once: the frames of each partition and key are
written as segments unless a segment of that partition already carries the tag and key
(written before the crash, perhaps merged since: compacted files list the names they
replace), then the journal is deleted.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import struct
import threading
import time
from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from ferryman.monitoring.log.arrow import predictions_table
from ferryman.monitoring.log.files import (
    SEGMENT_PREFIX,
    LogRoot,
    fsync_path,
    replaced_names,
    write_parquet,
)
from ferryman.monitoring.log.pending import Batch, PendingBatch, PendingRows, as_pending, layout_key
from ferryman.monitoring.log.scheme import PREDICTIONS, day_of

logger = logging.getLogger(__name__)

JOURNAL = "journal"  # the folder under the monitoring root
SUFFIX = ".journal"
_LENGTH = struct.Struct("<Q")
_FOLDER_KEY = b"ferryman.folder"
_SEGMENT_KEY = b"ferryman.segment"
_UNNAMED_SECONDS = 60.0  # a generation file older than this without its name is a dead one's


def generation_tag(writer: str, generation: int) -> str:
    """What the names of segments written from a generation carry (with ``-`` either side)."""
    return f"{writer}-j{generation:06d}"


def segment_key(batch: PendingBatch) -> str:
    """The same short text for every batch of one table layout (``layout_key``, by value:
    it names segments, so it must be the same in the process that replays them)."""
    layout = (
        batch.model,
        batch.version,
        batch.columns,
        batch.classes,
        batch.probabilities is None,
        type(batch.inputs).__name__,
    )
    return "k" + hashlib.blake2b(repr(layout).encode(), digest_size=5).hexdigest()


@dataclass
class _Generation:
    number: int
    path: Path
    fd: int  # open, holding the file's lock until the generation is deleted
    dirty: bool = False  # appended to since its last fsync
    size: int = 0  # bytes of whole frames: where the next frame starts
    torn: bool = False  # a failed frame could not be cut off: append nothing more


class Journal:
    """One writer's journal files under ``ROOT/journal`` (a local monitoring root).

    :meth:`add` only queues a batch's fields (on the request path, under the log's lock,
    with the generation the log's queue holds it in); :meth:`sync`, in the server's thread
    before it answers, converts everything queued (one table per generation, layout and
    day, as the writer does), appends it and fsyncs: one conversion and one fsync for every
    model call made while the last one ran.
    """

    def __init__(self, root: LogRoot, writer: str) -> None:
        if not root.is_local:
            raise ValueError("the durable prediction log needs a local monitoring root")
        self.root = root
        self.folder = Path(root.path(JOURNAL))
        self.folder.mkdir(parents=True, exist_ok=True)
        self.writer = writer
        self._state = threading.Lock()  # the queue, the generations, the counters
        self._syncing = threading.Lock()  # one sync at a time; no file closes meanwhile
        self._waiting: list[tuple[int, Batch]] = []  # (generation, a batch's fields)
        self._added = 0
        self._synced = 0  # batches added that are on disk (or released)
        self._retired: list[_Generation] = []
        self._current = self._open(0)

    def add(self, fields: Batch) -> None:
        """Queue a batch (``PredictionBatch`` fields) for the next :meth:`sync`."""
        with self._state:
            self._waiting.append((self._current.number, fields))
            self._added += 1

    def sync(self) -> None:
        """Return once every batch added before the call is on disk (OSError: it is not)."""
        with self._state:
            wanted = self._added
        with self._syncing:
            if self._synced >= wanted:
                return  # another caller's sync covered it
            with self._state:
                waiting, self._waiting = self._waiting, []
                reached = self._added
                generations = {g.number: g for g in (*self._retired, self._current)}
            for (number, key, folder), batches in _grouped(self.root, waiting).items():
                generation = generations.get(number)
                if generation is None:
                    continue  # released meanwhile: its rows are in segments
                name = segment_key(batches[0])
                for table in _tables(key, batches):
                    _append(generation, folder, name, table)
            for generation in generations.values():
                if generation.dirty:
                    os.fsync(generation.fd)
                    generation.dirty = False
            self._synced = reached

    def open_next(self) -> _Generation:
        """Create the next generation's file (open, lock, fsync of the folder): before the
        log's lock is taken, so the request path never waits for it."""
        return self._open(self._current.number + 1)

    def rotate(self, following: _Generation) -> str:
        """Close the current generation (kept until :meth:`release`), make ``following``
        (from :meth:`open_next`) the current one; return the closed one's tag. The caller
        holds the log's lock: the batches the log's flush takes are those added to the
        closed generation. No file is touched here."""
        with self._state:
            closed = self._current
            if following.number != closed.number + 1:
                raise ValueError(f"generation {following.number} does not follow {closed.number}")
            self._current = following
            self._retired.append(closed)
        return generation_tag(self.writer, closed.number)

    def release(self) -> None:
        """Delete the closed generations: every row of them is in segments."""
        with self._syncing, self._state:
            retired, self._retired = self._retired, []
            current = self._current.number
            self._waiting = [(n, fields) for n, fields in self._waiting if n >= current]
        for generation in retired:
            _delete(generation)

    def close(self, *, written: bool) -> None:
        """Stop journaling; with ``written`` (every row is in segments) delete the journal,
        else journal what waits and leave it to be replayed on the next start."""
        if not written:
            with contextlib.suppress(OSError):
                self.sync()
        with self._syncing, self._state:
            generations = [*self._retired, self._current]
            self._retired, self._waiting = [], []
        for generation in generations:
            if written:
                _delete(generation)
            else:
                os.close(generation.fd)

    def _open(self, number: int) -> _Generation:
        """The generation's file, locked before it gets its name: a replay (another worker
        starting) must never find it unlocked, take it for a dead writer's and delete it."""
        path = self.folder / f"{generation_tag(self.writer, number)}{SUFFIX}"
        hidden = self.folder / f".{path.name}.new"  # not a journal to replay (see replay)
        fd = os.open(hidden, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            hidden.rename(path)
            fsync_path(self.folder)
        except BaseException:
            os.close(fd)
            with contextlib.suppress(OSError):
                hidden.unlink()
            raise
        return _Generation(number, path, fd)


def _grouped(
    root: LogRoot, waiting: list[tuple[int, Batch]]
) -> dict[tuple[int, Hashable, str], list[PendingBatch]]:
    """Waiting batches by generation, table layout and partition folder, in order."""
    groups: dict[tuple[int, Hashable, str], list[PendingBatch]] = defaultdict(list)
    for number, fields in waiting:
        batch = as_pending(fields)
        folder = root.path(
            PREDICTIONS,
            f"model={batch.model}",
            f"version={batch.version}",
            f"day={day_of(batch.at)}",
        )
        groups[(number, layout_key(batch), folder)].append(batch)
    return groups


def _tables(key: Hashable, batches: list[PendingBatch]) -> list[pa.Table]:
    """The batches as one table, or those that convert alone, each as its own (the writer
    discards, and says, the same bad rows)."""
    try:
        return [predictions_table(PendingRows(key, batches))]
    except Exception:
        logger.debug("journaling batches one by one", exc_info=True)
    tables = []
    for batch in batches:
        with contextlib.suppress(Exception):
            tables.append(predictions_table(PendingRows(key, [batch])))
    return tables


def _append(generation: _Generation, folder: str, key: str, table: pa.Table) -> None:
    """One frame: ``table`` (rows for the partition ``folder``, segment ``key``) as an Arrow
    IPC stream, written whole; on failure it is cut off again and the OSError raised."""
    if generation.torn:
        raise OSError(f"the journal {generation.path} ends in a frame that could not be removed")
    metadata = {_FOLDER_KEY: folder.encode(), _SEGMENT_KEY: key.encode()}
    table = table.replace_schema_metadata(metadata)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as stream:
        stream.write_table(table)
    data = sink.getvalue().to_pybytes()
    frame = memoryview(_LENGTH.pack(len(data)) + data)
    generation.dirty = True
    try:
        while frame:
            written = os.write(generation.fd, frame)
            if written <= 0:
                raise OSError(f"cannot append to the journal {generation.path}: nothing written")
            frame = frame[written:]
    except BaseException:
        try:  # what was written of the frame would hide every later frame from the replay
            os.ftruncate(generation.fd, generation.size)
        except OSError:
            generation.torn = True
        raise
    generation.size += len(data) + _LENGTH.size


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
    for path in folder.glob(f".*{SUFFIX}.new"):  # a writer died before naming it: empty
        with contextlib.suppress(OSError):  # a writer names its own within microseconds
            if time.time() - path.stat().st_mtime > _UNNAMED_SECONDS:
                path.unlink()
    fsync_path(folder)
    return rows


def _replay_file(root: LogRoot, path: Path) -> int:
    tag = path.name.removesuffix(SUFFIX)
    by_segment: dict[tuple[str, str], list[pa.Table]] = defaultdict(list)
    for table in _frames(path):
        metadata = table.schema.metadata or {}
        target = metadata.get(_FOLDER_KEY, b"").decode()
        key = metadata.get(_SEGMENT_KEY, b"").decode()
        if target and key:
            by_segment[(target, key)].append(table.replace_schema_metadata(None))
    rows = 0
    written: set[str] = set()
    for (target, key), tables in by_segment.items():
        if _holds_tag(root, target, f"{tag}-{key}"):
            continue  # written before the process ended
        for i, table in enumerate(_group_by_schema(tables)):
            # the same name if replayed twice
            name = f"{SEGMENT_PREFIX}{tag}-{key}-replay{i:03d}.parquet"
            write_parquet(root, target, name, table, fresh=True, sync=True)
            written.add(target)
            rows += table.num_rows
    sync_folders(root, written)  # on disk before the journal is deleted
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


def sync_folders(root: LogRoot, folders: Iterable[str]) -> None:
    """fsync each folder and those above it up to the root (new folders' entries too)."""
    done: set[Path] = set()
    base = Path(root.base)
    for folder in folders:
        path = Path(folder)
        while path not in done:
            done.add(path)
            fsync_path(path)
            if path == base or base not in path.parents:
                break
            path = path.parent
