"""Micro-batching: concurrent requests for one version answered by one vectorised call.

Requests queue up while the model is busy; the worker takes everything waiting (up to
``max_batch`` rows), waits at most ``max_wait`` for more, predicts once and gives each caller
its own rows. With no concurrency a request waits for nothing but its own prediction. A model
fast enough to run inline runs on the event loop; a slower one runs in the version's own
thread so the loop keeps reading requests meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from ferryman.core.predictions import RequestTag
from ferryman.errors import InvalidInputError, OverloadedError, PredictionError
from ferryman.serving.codec import ModelInput
from ferryman.serving.recording import AnswerObserver, Untagged
from ferryman.serving.served import ModelCall, Prediction, ServedVersion, parts_of

log = logging.getLogger("ferryman.serving")


@dataclass(frozen=True, slots=True)
class BatchSettings:
    enabled: bool = True
    max_batch: int = 64
    max_wait: float = 0.0005
    max_queue: int = 4096


BatchObserver = Callable[[ServedVersion, int], None]


class _Waiting:
    __slots__ = ("future", "item", "tag")

    def __init__(
        self, item: ModelInput, tag: RequestTag | None, future: asyncio.Future[Prediction]
    ) -> None:
        self.item = item
        self.tag = tag
        self.future = future


class Runner:
    """Runs predictions for one served version, batched or one request at a time."""

    def __init__(
        self,
        served: ServedVersion,
        settings: BatchSettings,
        on_batch: BatchObserver | None = None,
        on_answer: AnswerObserver | None = None,
        barrier: Callable[[], None] | None = None,
    ) -> None:
        """``barrier``: called (in a thread) after the answer observer and before the answers
        are handed back: a durable prediction log's wait for its journal to be on disk."""
        self.served = served
        self.settings = settings
        self._on_batch = on_batch
        self._on_answer = on_answer
        self._barrier = barrier
        self._releasing: set[asyncio.Task[None]] = set()  # answers waiting for the barrier
        self._observer_failures = 0  # the first is logged with its traceback, then a count
        self._queue: deque[_Waiting] = deque()
        self._queued_rows = 0
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._thread: ThreadPoolExecutor | None = None
        self._closing = False
        self._closed = False
        self._last_batch = 0

    async def predict(self, item: ModelInput, tag: RequestTag | None = None) -> Prediction:
        """The prediction for one request's rows. ``tag`` is handed to the answer observer
        with the call that answered this request (without one, an untagged id of its own)."""
        if item.count == 0:  # nothing to predict, and nothing for the log to keep
            return parts_of(self.served.calls([item]))[0]
        if tag is None and self._on_answer is not None:
            tag = Untagged()
        if self._closed or not self.settings.enabled or item.count >= self.settings.max_batch:
            return (await self._call([item], [tag]))[0]
        if self._queued_rows + item.count > self.settings.max_queue:
            raise OverloadedError(
                f"model {self.served.version.ref} has {self._queued_rows} rows waiting; "
                "retry shortly"
            )
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Prediction] = loop.create_future()
        self._queue.append(_Waiting(item, tag, future))
        self._queued_rows += item.count
        if self._task is None:
            self._wakeup = asyncio.Event()
            self._task = loop.create_task(self._work(), name=f"batch {self.served.version.ref}")
        assert self._wakeup is not None
        self._wakeup.set()
        return await future

    async def _call(
        self, items: list[ModelInput], tags: list[RequestTag | None], *, synced: bool = True
    ) -> list[Prediction]:
        """The predictions for ``items``; with ``synced``, once the barrier has passed (else
        the caller waits for it: see ``_answer``)."""
        if self._on_batch is not None:
            self._on_batch(self.served, sum(i.count for i in items))
        if self.served.inline:
            calls = self.served.calls(items)
        else:
            if self._thread is None:
                self._thread = ThreadPoolExecutor(1, thread_name_prefix=f"model-{self.served.name}")
            loop = asyncio.get_running_loop()
            calls = await loop.run_in_executor(self._thread, self.served.calls, items)
        if self._on_answer is not None:
            self._tell(calls, tags)
            if synced and self._barrier is not None:  # off the loop: it reads requests meanwhile
                await asyncio.to_thread(self._barrier)
        return parts_of(calls)

    def _tell(self, calls: list[ModelCall], tags: list[RequestTag | None]) -> None:
        """Hand each call to the answer observer; its failure never fails the requests."""
        assert self._on_answer is not None
        tagged: list[RequestTag] = tags  # type: ignore[assignment] # predict tagged them all
        start = 0
        for call in calls:
            stop = start + len(call.sizes)
            try:
                self._on_answer(self.served, call, tagged[start:stop])
            except Exception as exc:
                self._observer_failures += 1
                if self._observer_failures == 1:
                    log.exception("answer observer failed for %s", self.served.version.ref)
                elif self._observer_failures % 1000 == 0:
                    log.error(
                        "answer observer failed for %s %d times, the last with %s: %s",
                        self.served.version.ref,
                        self._observer_failures,
                        type(exc).__name__,
                        exc,
                    )
            start = stop

    async def _work(self) -> None:
        assert self._wakeup is not None
        wakeup = self._wakeup
        while True:
            if not self._queue:
                if self._closing:
                    return
                wakeup.clear()
                await wakeup.wait()
                continue
            await asyncio.sleep(0)  # let requests read in the same loop turn join
            batch = self._take()
            # Wait for stragglers only under concurrent load (the last batch had company): a
            # lone request at low traffic is answered at once.
            if (
                self.settings.max_wait > 0
                and self._last_batch > 1
                and self._queued_rows < self.settings.max_batch - batch_rows(batch)
            ):
                await asyncio.sleep(self.settings.max_wait)
                batch.extend(self._take(self.settings.max_batch - batch_rows(batch)))
            self._last_batch = len(batch)
            await self._answer(batch)

    def _take(self, limit: int | None = None) -> list[_Waiting]:
        room = self.settings.max_batch if limit is None else limit
        batch: list[_Waiting] = []
        # queued requests are each smaller than max_batch (bigger ones skip the queue), so a
        # fresh take always gets at least one
        while self._queue and self._queue[0].item.count <= room:
            waiting = self._queue.popleft()
            self._queued_rows -= waiting.item.count
            room -= waiting.item.count
            batch.append(waiting)
        return batch

    async def _answer(self, batch: list[_Waiting]) -> None:
        live = [w for w in batch if not w.future.done()]  # a caller may have gone away
        if not live:
            return
        try:
            results = await self._call(
                [w.item for w in live], [w.tag for w in live], synced=self._barrier is None
            )
        except Exception as exc:
            if len(live) > 1:
                # one caller's rows may be what the model chokes on: answer each on its own
                for waiting in live:
                    await self._answer([waiting])
                return
            if not isinstance(exc, PredictionError | InvalidInputError):
                log.error("prediction for %s failed", self.served.version.ref, exc_info=exc)
            if not live[0].future.done():
                live[0].future.set_exception(exc)
            return
        if self._barrier is not None:
            # the answers wait for the barrier while the worker takes the next batch: the
            # batches made meanwhile share the next sync
            release = asyncio.get_running_loop().create_task(self._release(live, results))
            self._releasing.add(release)
            release.add_done_callback(self._releasing.discard)
            return
        _hand_out(live, results)

    async def _release(self, live: list[_Waiting], results: list[Prediction]) -> None:
        assert self._barrier is not None
        await asyncio.to_thread(self._barrier)
        _hand_out(live, results)

    async def close(self) -> None:
        """Answer everything queued, then stop the worker and its thread."""
        self._closing = True
        if self._task is not None:
            assert self._wakeup is not None
            self._wakeup.set()
            await self._task
        self._closed = True
        while self._queue:  # queued after the worker left
            await self._answer(self._take())
        if self._releasing:
            await asyncio.gather(*self._releasing)
        if self._thread is not None:  # running calls finish; a late one gets a new thread
            self._thread.shutdown(wait=False)
            self._thread = None


def _hand_out(live: list[_Waiting], results: list[Prediction]) -> None:
    for waiting, result in zip(live, results, strict=True):
        if not waiting.future.done():
            waiting.future.set_result(result)


def batch_rows(batch: list[_Waiting]) -> int:
    return sum(w.item.count for w in batch)
