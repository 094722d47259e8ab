"""The prediction log: a :class:`~ferryman.core.predictions.PredictionSink` writing Parquet.

``record()`` and ``record_batch()`` only sample, count and append the batch's fields to a
bounded buffer (a few microseconds; see ``pending``); a background thread turns what is
pending into one Arrow table per model version and day and writes it as a Parquet segment
(see ``scheme`` for the folders).
"""

from __future__ import annotations

import logging
import posixpath
import random
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa

from ferryman.config import Settings
from ferryman.core.disk import is_space_error, space_problem
from ferryman.core.predictions import (
    PredictionBatch,
    PredictionRecord,
    RejectionRecord,
)
from ferryman.monitoring.log.arrow import predictions_table, rejections_table
from ferryman.monitoring.log.compaction import compact_folder
from ferryman.monitoring.log.files import SEGMENT_PREFIX, LogRoot, segment_name, write_parquet
from ferryman.monitoring.log.journal import Journal, replay, segment_key, sync_folders
from ferryman.monitoring.log.pending import (
    PREDICTIONS_AT,
    SIZES_AT,
    Batch,
    PendingBatch,
    PendingRows,
    batch_fields,
    check_batch,
    requests_of,
)
from ferryman.monitoring.log.scheme import FEEDBACK, PREDICTIONS, REJECTIONS, day_of

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LogStats:
    """The prediction log's counters, in rows (rejections: in problems).

    Always ``received == logged + sampled_out + dropped``; once written,
    ``logged == written + pending + discarded``.
    """

    received: int = 0
    logged: int = 0
    sampled_out: int = 0
    dropped: int = 0
    written: int = 0
    segments: int = 0
    write_errors: int = 0
    pending: int = 0
    discarded: int = 0
    rejections: int = 0
    rejections_dropped: int = 0
    rejections_written: int = 0
    compacted: int = 0
    replayed: int = 0


class PredictionLog:
    """Log answered and refused requests as Parquet segments under ``root``.

    Parameters
    ----------
    root : str
        A folder or fsspec URL (``Settings.resolved_monitoring_root``).
    sample_rate : float
        Share of requests whose rows are logged, drawn per request.
    max_pending_rows : int
        Rows waiting to be written (including rows whose write failed and will be retried);
        a batch (or request) that does not fit is dropped whole and counted, never waited for.
    flush_seconds : float
        How often the writer thread writes what is pending.
    compact_files : int
        After this many segments of this writer in one partition, merge them into one file
        (unless :attr:`merge_own_segments` is off).
    durable : bool
        Append each batch to a journal; :meth:`sync` returns once it is on disk (the server
        calls it before it answers). A journal left by a killed process is replayed into
        segments when the next log opens on the root (see ``journal``). Local roots only.
    seed : int or None
        Seeds the sampling (tests).
    start : bool
        Start the writer thread now; with False, only :meth:`flush` writes.
    """

    def __init__(
        self,
        root: str,
        *,
        sample_rate: float = 1.0,
        max_pending_rows: int = 200_000,
        flush_seconds: float = 2.0,
        compact_files: int = 32,
        durable: bool = False,
        seed: int | None = None,
        start: bool = True,
    ) -> None:
        if not 0.0 <= sample_rate <= 1.0:
            raise ValueError(f"sample_rate must be between 0 and 1, got {sample_rate}")
        if max_pending_rows < 1:
            raise ValueError(f"max_pending_rows must be at least 1, got {max_pending_rows}")
        if flush_seconds <= 0:
            raise ValueError(f"flush_seconds must be above 0, got {flush_seconds}")
        self.root = root
        self.sample_rate = sample_rate
        self.max_pending_rows = max_pending_rows
        self.flush_seconds = flush_seconds
        self.compact_files = compact_files
        # Off when something else merges every writer's files (the server's upkeep on a local
        # root): merging here too would encode each row twice, beside the serving threads.
        self.merge_own_segments = True
        self._root = LogRoot.resolve(root)
        self._writer = uuid.uuid4().hex[:8]
        self._random: Callable[[], float] = random.Random(seed).random  # noqa: S311 (sampling)
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._wake = threading.Event()
        self._pending: list[Batch] = []  # batches' fields (see ``pending``)
        # rows whose write failed, written first next time, by the tag they were first
        # written under (durable: their journal generation's, so a replay never repeats them)
        self._failed: dict[str, dict[Hashable, PendingRows]] = {}
        self._pending_rejections: list[RejectionRecord] = []
        self._pending_rows = 0
        self._logged = 0
        self._pending_problems = 0
        self._counts: dict[str, int] = defaultdict(int)
        self._own_segments: dict[str, int] = defaultdict(int)
        self._journal: Journal | None = None
        if durable:
            if not self._root.is_local:
                raise ValueError(
                    f"the durable prediction log needs a local monitoring root, not {root!r}"
                )
            self._counts["replayed"] = replay(self._root)
            self._journal = Journal(self._root, self._writer)
        self.is_durable = durable  # a ``core.predictions.DurableSink``
        self._segment_tag = self._writer  # in names of segments (durable: the generation's)
        self._journal_failed = False
        self._closed = False
        self._disk_full = False  # the last write failed for want of room (said once)
        self._thread: threading.Thread | None = None
        if start:
            self._thread = threading.Thread(
                target=self._run, name="ferryman-prediction-log", daemon=True
            )
            self._thread.start()

    @classmethod
    def from_settings(cls, settings: Settings, *, start: bool = True) -> PredictionLog:
        """The log as ``[ferryman.monitoring]`` configures it."""
        monitoring = settings.monitoring
        return cls(
            settings.resolved_monitoring_root,
            sample_rate=monitoring.sample_rate,
            max_pending_rows=monitoring.max_pending_rows,
            flush_seconds=monitoring.flush_seconds,
            durable=monitoring.durable,
            start=start,
        )

    # --- the request path -----------------------------------------------------------------
    def record(self, record: PredictionRecord) -> None:
        """Queue the rows of one answered request (or count them sampled out or dropped)."""
        self.record_batch(PredictionBatch.of(record))

    def record_batch(self, batch: PredictionBatch) -> None:
        """Queue the rows of the requests one model call answered (see ``pending``).

        Requests are sampled one by one; a batch that does not fit under the bound is dropped
        whole (and counted). A batch whose parts disagree (sizes that do not add up to its
        rows, per-request fields of other lengths) is refused here, at the caller's line:
        once queued it would stop the writer's whole flush."""
        fields = batch_fields(batch)
        rows = check_batch(fields)
        with self._lock:
            if self.sample_rate < 1.0:
                kept = [self._random() < self.sample_rate for _ in fields[SIZES_AT]]
                if not any(kept):
                    self._counts["sampled_out"] += rows
                    return
                if not all(kept):
                    fields = requests_of(fields, kept)
                    self._counts["sampled_out"] += rows - len(fields[PREDICTIONS_AT])
                    rows = len(fields[PREDICTIONS_AT])
            if self._closed or self._pending_rows + rows > self.max_pending_rows:
                self._counts["dropped"] += rows
            else:  # the hot path: two counters (``received`` is a sum) and one append
                if self._journal is not None:  # durable: queued for the journal too (cheap)
                    self._journal.add(fields)
                self._logged += rows
                self._pending_rows += rows
                self._pending.append(fields)

    def sync(self) -> None:
        """Durable mode: return once every batch recorded before the call is on disk (in the
        caller's thread, before the server answers). A failure is counted and said once: the
        rows stay queued, and the answers are not held back."""
        journal = self._journal
        if journal is None:
            return
        try:
            journal.sync()
        except Exception as exc:  # noqa: BLE001 - a log's failure never fails an answer
            self._journal_error(exc)
        else:
            self._journal_failed = False

    def _journal_error(self, exc: Exception) -> None:
        with self._lock:
            self._counts["write_errors"] += 1
            first, self._journal_failed = not self._journal_failed, True
        if first and self._journal is not None:
            logger.error(
                "cannot journal logged rows (they are queued without it): %s",
                space_problem(self._journal.folder) or exc,
            )

    def reject(self, record: RejectionRecord) -> None:
        """Queue the problems of one refused request (never sampled)."""
        problems = max(1, len(record.problems))
        with self._lock:
            self._counts["rejections"] += problems
            if self._closed or self._pending_problems + problems > self.max_pending_rows:
                self._counts["rejections_dropped"] += problems
            else:
                self._pending_problems += problems
                self._pending_rejections.append(record)

    # --- state ----------------------------------------------------------------------------
    @property
    def stats(self) -> LogStats:
        with self._lock:
            counts = self._counts
            received = self._logged + counts["sampled_out"] + counts["dropped"]
            return LogStats(
                received=received, logged=self._logged, pending=self._pending_rows, **counts
            )

    def __enter__(self) -> PredictionLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- writing --------------------------------------------------------------------------
    @property
    def root_is_local(self) -> bool:
        return self._root.is_local

    def flush(self) -> LogStats:
        """Write everything pending now (in the caller's thread); return the counters."""
        with self._write_lock:
            self._write_and_merge(self.compact_files)
        return self.stats

    def close(self, timeout: float = 30.0) -> LogStats:
        """Stop taking records, write everything pending and merge this writer's segments
        (unless :attr:`merge_own_segments` is off).

        Records that still cannot be written after ``timeout`` seconds stay counted as
        pending (they are lost with the process).
        """
        with self._lock:
            self._closed = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        deadline = time.monotonic() + max(timeout, 0.0)
        if self._write_lock.acquire(timeout=max(deadline - time.monotonic(), 0.0)):
            try:
                self._write_and_merge(2)
            finally:
                self._write_lock.release()
        stats = self.stats
        if self._journal is not None:  # with rows unwritten, the next start replays them
            self._journal.close(written=stats.pending == 0 and not self._failed)
            self._journal = None
        return stats

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait(self.flush_seconds)
            self._wake.clear()
            if self._closed:
                return  # close() writes the rest in its own thread
            with self._write_lock:
                try:
                    self._write_and_merge(self.compact_files)
                except Exception:
                    logger.exception("prediction log writer failed; it keeps running")

    def _write_and_merge(self, min_files: int) -> None:
        """Write what is pending, then merge this writer's segments (write lock held)."""
        self._write_pending()
        if self.merge_own_segments:
            self._compact_own(min_files)

    def _write_pending(self) -> None:
        journal = self._journal
        following = None
        if journal is not None:  # made before the lock: record() never waits for a file
            try:
                following = journal.open_next()
            except OSError as exc:
                self._journal_error(exc)
                return  # without a new generation the rows taken could not be told apart
        with self._lock:
            batches, self._pending = self._pending, []
            rejections, self._pending_rejections = self._pending_rejections, []
            if journal is not None and following is not None:
                # the batches taken are those of the closed generation
                self._segment_tag = journal.rotate(following)
        # rows whose write failed go first (under the tag they had), in order, then those
        # that arrived since
        by_tag, self._failed = self._failed, {}
        buffers = by_tag.setdefault(self._segment_tag, {})
        for rows in PendingRows.group(batches) if batches else []:
            _queue_after(buffers, rows)
        # each buffer holds one table layout of one model version: a segment per day
        written: set[str] = set()
        for tag, tagged in by_tag.items():
            for pending in tagged.values():
                for day_rows in pending.by_day():
                    model, version = f"model={day_rows.model}", f"version={day_rows.version}"
                    folder = self._root.path(PREDICTIONS, model, version)
                    folder = posixpath.join(folder, f"day={day_of(day_rows.first_at)}")
                    failed = self._write_group(folder, day_rows, tag)
                    for rows in failed:  # they still count as pending
                        _queue_after(self._failed.setdefault(tag, {}), rows)
                    if not failed:
                        written.add(folder)
        failed_rejections = self._write_rejections(rejections)
        if failed_rejections:
            with self._lock:  # back to the front, in order
                self._pending_rejections[:0] = failed_rejections
        if journal is not None and not self._failed:
            try:  # on disk (power cuts too) before the journal that holds them goes
                sync_folders(self._root, written)
            except OSError as exc:
                self._journal_error(exc)
                return  # the journal stays until a later flush has synced them
            journal.release()  # every journaled row is in segments now

    def _write_group(self, folder: str, pending: PendingRows, tag: str) -> list[PendingRows]:
        """Write one segment; return the rows to retry (a write failure)."""
        try:
            table = predictions_table(pending)
        except Exception:
            logger.exception("cannot convert %d logged rows to a table", len(pending))
            return self._write_convertible(folder, pending, tag)
        return self._write_table(folder, pending, table, tag)

    def _write_segment(self, folder: str, table: pa.Table, what: str, tag: str) -> bool:
        """Write one fresh segment (named with ``tag``); a failure is logged and counted, and
        False. Durable: the file is fsynced (its folder is, before the journal is released)."""
        try:
            name = segment_name(SEGMENT_PREFIX, tag)
            durable = self._journal is not None
            write_parquet(self._root, folder, name, table, fresh=True, sync=durable)
        except Exception as exc:
            with self._lock:
                self._counts["write_errors"] += 1
            full = space_problem(folder) if self._root.is_local else None
            if full is None and is_space_error(exc):
                full = str(exc)
            if full is None:
                logger.exception("cannot write a %s segment under %s", what, folder)
            elif not self._disk_full:  # one line when it starts, not one per flush
                logger.error(
                    "cannot write the prediction log under %s: %s; its rows wait to be written "
                    "(new ones are dropped and counted once %d wait)",
                    folder,
                    full,
                    self.max_pending_rows,
                )
            self._disk_full = full is not None
            return False
        if self._disk_full:
            self._disk_full = False
            logger.warning("the prediction log is written again under %s", folder)
        return True

    def _write_table(
        self, folder: str, pending: PendingRows, table: pa.Table, tag: str
    ) -> list[PendingRows]:
        name = tag
        if self._journal is not None:  # which of the generation's segments (see ``journal``)
            name = f"{tag}-{segment_key(pending.chunks[0])}"
        if not self._write_segment(folder, table, "prediction-log", name):
            return [pending]
        with self._lock:
            self._pending_rows -= table.num_rows
            self._counts["written"] += table.num_rows
            self._counts["segments"] += 1
        self._own_segments[folder] += 1
        return []

    def _write_convertible(self, folder: str, pending: PendingRows, tag: str) -> list[PendingRows]:
        """After a failed conversion: keep the batches that convert alone, discard the rest."""
        good, tables, bad_rows = _convert_each(pending.key, pending.chunks)
        with self._lock:
            self._pending_rows -= bad_rows
            self._counts["discarded"] += bad_rows
        if bad_rows:
            logger.error("discarded %d logged rows that cannot be stored", bad_rows)
        if not good:
            return []
        try:
            table = pa.concat_tables(tables)
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # they convert one by one, not together
            return [
                r
                for chunk, one in zip(good, tables, strict=True)
                for r in self._write_table(folder, PendingRows(pending.key, [chunk]), one, tag)
            ]
        return self._write_table(folder, PendingRows(pending.key, good), table, tag)

    def _write_rejections(self, records: list[RejectionRecord]) -> list[RejectionRecord]:
        by_partition: dict[tuple[str, str], list[RejectionRecord]] = defaultdict(list)
        for record in records:
            by_partition[(record.model, day_of(record.at))].append(record)
        failed: list[RejectionRecord] = []
        for (model, day), group in by_partition.items():
            folder = self._root.path(REJECTIONS, f"model={model}", f"day={day}")
            problems = sum(max(1, len(r.problems)) for r in group)
            try:
                table = rejections_table(group)
            except Exception:
                logger.exception("cannot convert %d refused requests to a table", len(group))
                table = None
            if table is None or not self._write_segment(
                folder, table, "rejections", self._segment_tag
            ):
                failed.extend(group)
                continue
            with self._lock:
                self._pending_problems -= problems
                self._counts["rejections_written"] += problems
                self._counts["segments"] += 1
            self._own_segments[folder] += 1
        return failed

    def _compact_own(self, min_files: int) -> None:
        for folder, count in list(self._own_segments.items()):
            if count < min_files:
                continue
            try:
                merged = compact_folder(self._root, folder, self._writer, only_writer=self._writer)
            except Exception:
                logger.exception("cannot compact prediction-log segments under %s", folder)
                continue
            self._own_segments[folder] = 1 if merged else 0
            with self._lock:
                self._counts["compacted"] += merged

    # --- upkeep ---------------------------------------------------------------------------
    def compact(self, min_files: int = 2) -> int:
        """Merge the small files of every partition, whoever wrote them; return files merged.

        On a local root a lock file keeps two merges off one folder. On a remote root there
        is no lock to take, so nothing is merged here: each writer merges its own segments.
        """
        if not self._root.is_local:
            return 0
        merged = 0
        for _, folder in self._partition_folders():
            merged += compact_folder(self._root, folder, self._writer, min_files=min_files)
        return merged

    def prune(self, older_than_days: float, *, now: datetime | None = None) -> int:
        """Delete prediction, rejection and feedback day folders wholly older than the
        retention (feedback by the day it was received: by then the predictions it labels
        are gone too).

        A day is deleted once its last instant is more than ``older_than_days`` ago.
        Returns how many day folders were deleted.
        """
        cutoff = (now or datetime.now(UTC)) - timedelta(days=older_than_days)
        deleted = 0
        root = self._root
        feedback = [
            pair
            for model in root.listdir(root.path(FEEDBACK))
            for pair in root.day_folders(root.path(FEEDBACK, model))
        ]
        for day, folder in [*self._partition_folders(), *feedback]:
            day_end = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)
            if day_end <= cutoff:
                try:
                    self._root.fs.rm(folder, recursive=True)
                except FileNotFoundError:
                    continue
                deleted += 1
        return deleted

    def _partition_folders(self) -> list[tuple[date, str]]:
        """Every ``day=`` folder of predictions and rejections, with its day."""
        root = self._root
        folders: list[tuple[date, str]] = []
        for model in root.listdir(root.path(PREDICTIONS)):
            for version in root.listdir(root.path(PREDICTIONS, model)):
                folders += root.day_folders(root.path(PREDICTIONS, model, version))
        for model in root.listdir(root.path(REJECTIONS)):
            folders += root.day_folders(root.path(REJECTIONS, model))
        return folders


def _queue_after(buffers: dict[Hashable, PendingRows], rows: PendingRows) -> None:
    """Put ``rows`` after the buffer of their layout in ``buffers`` (or as that buffer)."""
    first = buffers.setdefault(rows.key, rows)
    if first is not rows:
        first.put_before(rows)


def _convert_each(
    key: Hashable, chunks: list[PendingBatch]
) -> tuple[list[PendingBatch], list[pa.Table], int]:
    """Each batch converted on its own: the batches that convert, their tables, and the rows
    of those that do not. (A batch is not split further: ``check_batch`` has refused every
    batch whose requests could convert one by one but not together.)"""
    good: list[PendingBatch] = []
    tables: list[pa.Table] = []
    bad_rows = 0
    for chunk in chunks:
        try:
            tables.append(predictions_table(PendingRows(key, [chunk])))
        except Exception:  # noqa: BLE001 (the first failure is logged by the caller)
            bad_rows += len(chunk.predictions)
        else:
            good.append(chunk)
    return good, tables, bad_rows
