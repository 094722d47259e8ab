"""Runner: concurrent requests coalesce into model calls no bigger than max_batch, and every
caller gets exactly its own rows, errors included. Real models, real event loops."""

from __future__ import annotations

import asyncio
import random
import threading
import time
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import Pipeline

from ferryman.errors import InvalidInputError, OverloadedError
from ferryman.registry import Registry
from ferryman.serving.batching import BatchSettings, Runner
from ferryman.serving.codec import ModelInput
from ferryman.serving.served import ModelCall, Prediction, ServedVersion

SMOOTHNESS = "mean smoothness"  # scaled by ~1/0.014: 1e308 overflows to infinity


class Batches:
    """The on_batch observer: rows per model call."""

    def __init__(self) -> None:
        self.sizes: list[int] = []

    def __call__(self, served: ServedVersion, rows: int) -> None:
        self.sizes.append(rows)


@pytest.fixture(autouse=True)
def no_warnings() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


@pytest.fixture
def features(cancer_frame: pd.DataFrame) -> pd.DataFrame:
    return cancer_frame.drop(columns="target")


@pytest.fixture
def served(registry: Registry, cancer_frame: pd.DataFrame, cancer_model: Pipeline) -> ServedVersion:
    registry.register(cancer_model, "cancer", train_data=cancer_frame, target="target")
    version = ServedVersion(registry.load("cancer/1"))
    version.warm(registry.reference_sample("cancer/1"))
    assert version.fast_path
    version.inline = True  # warm-up decides by timing; these tests choose
    return version


@pytest.fixture
def forest(registry: Registry, cancer_frame: pd.DataFrame) -> ServedVersion:
    model = RandomForestClassifier(n_estimators=150, random_state=0)
    model.fit(cancer_frame.drop(columns="target"), cancer_frame.target)
    registry.register(model, "forest", train_data=cancer_frame, target="target")
    version = ServedVersion(registry.load("forest/1"))
    version.warm(registry.reference_sample("forest/1"))
    return version


def records(rows: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): float(v) for k, v in r.items()} for r in rows.to_dict("records")]


def requests(
    served: ServedVersion, features: pd.DataFrame, sizes: list[int]
) -> list[tuple[ModelInput, pd.DataFrame]]:
    """One input per size, over consecutive distinct rows, with the rows it holds."""
    out = []
    start = 0
    for size in sizes:
        rows = features.iloc[start : start + size]
        out.append((served.codec.encode(records(rows)), rows))
        start += size
    return out


def assert_own_rows(served: ServedVersion, rows: pd.DataFrame, got: Prediction) -> None:
    """``got`` answers exactly ``rows``: the probabilities of different cancer rows differ by
    far more than rounding, so a neighbour's answer cannot pass."""
    loaded = served.loaded
    assert list(got.labels) == list(loaded.predict(rows))
    assert got.proba is not None
    np.testing.assert_allclose(got.proba, loaded.predict_proba(rows), rtol=1e-12, atol=0)


def test_distinct_rows_have_distinct_answers(served: ServedVersion, features: pd.DataFrame) -> None:
    """What the other tests rely on to tell callers' answers apart."""
    proba = served.loaded.predict_proba(features.head(200))[:, 1]
    gaps = np.diff(np.sort(proba))
    assert len(np.unique(proba)) == 200
    assert gaps.min() > 1e-15


def test_concurrent_callers_each_get_their_own_rows(
    served: ServedVersion, features: pd.DataFrame
) -> None:
    batches = Batches()
    settings = BatchSettings(max_batch=16, max_wait=0.002)
    rng = random.Random(11)
    sizes = [rng.randint(1, 5) for _ in range(60)]
    work = requests(served, features, sizes)

    async def main() -> list[Prediction]:
        runner = Runner(served, settings, batches)
        try:
            return await asyncio.gather(*(runner.predict(item) for item, _ in work))
        finally:
            await runner.close()

    results = asyncio.run(main())
    assert len(results) == len(work)
    for (_, rows), got in zip(work, results, strict=True):
        assert_own_rows(served, rows, got)
    assert sum(batches.sizes) == sum(sizes)
    assert len(batches.sizes) < len(work), "concurrent requests were not coalesced"
    assert max(batches.sizes) <= settings.max_batch


def test_batched_answers_equal_unbatched_answers(
    served: ServedVersion, features: pd.DataFrame
) -> None:
    work = requests(served, features, [1, 3, 2, 1, 4, 1, 1, 2, 5, 1] * 3)

    async def run(settings: BatchSettings) -> list[Prediction]:
        runner = Runner(served, settings)
        try:
            return await asyncio.gather(*(runner.predict(item) for item, _ in work))
        finally:
            await runner.close()

    batched = asyncio.run(run(BatchSettings(max_batch=32)))
    alone = asyncio.run(run(BatchSettings(enabled=False)))
    for a, b in zip(batched, alone, strict=True):
        assert list(a.labels) == list(b.labels)
        np.testing.assert_allclose(a.proba, b.proba, rtol=1e-12, atol=0)  # type: ignore[arg-type]


def test_a_batch_never_exceeds_max_batch_when_requests_arrive_during_the_wait(
    served: ServedVersion, features: pd.DataFrame
) -> None:
    """The worker takes 6 rows, waits max_wait for company, and a 5-row request arrives:
    it must wait for the next call, not ride along into an 11-row batch."""
    batches = Batches()
    settings = BatchSettings(max_batch=8, max_wait=0.2)
    (first, first_rows), (late, late_rows) = requests(served, features, [6, 5])

    async def main() -> tuple[Prediction, Prediction]:
        runner = Runner(served, settings, batches)

        async def arrive_late() -> Prediction:
            await asyncio.sleep(0.02)
            return await runner.predict(late)

        try:
            return await asyncio.gather(runner.predict(first), arrive_late())
        finally:
            await runner.close()

    a, b = asyncio.run(main())
    assert_own_rows(served, first_rows, a)
    assert_own_rows(served, late_rows, b)
    assert sum(batches.sizes) == 11
    assert max(batches.sizes) <= settings.max_batch, batches.sizes


def test_staggered_arrivals_keep_batches_within_max_batch(
    served: ServedVersion, features: pd.DataFrame
) -> None:
    batches = Batches()
    settings = BatchSettings(max_batch=10, max_wait=0.005)
    rng = random.Random(5)
    sizes = [rng.randint(1, 9) for _ in range(50)]
    work = requests(served, features, sizes)
    delays = [rng.uniform(0, 0.05) for _ in work]

    async def main() -> list[Prediction]:
        runner = Runner(served, settings, batches)

        async def call(item: ModelInput, delay: float) -> Prediction:
            await asyncio.sleep(delay)
            return await runner.predict(item)

        try:
            return await asyncio.gather(
                *(call(item, d) for (item, _), d in zip(work, delays, strict=True))
            )
        finally:
            await runner.close()

    results = asyncio.run(main())
    for (_, rows), got in zip(work, results, strict=True):
        assert_own_rows(served, rows, got)
    assert sum(batches.sizes) == sum(sizes)
    assert max(batches.sizes) <= settings.max_batch, batches.sizes


def test_a_request_as_big_as_max_batch_runs_on_its_own(
    served: ServedVersion, features: pd.DataFrame
) -> None:
    batches = Batches()
    settings = BatchSettings(max_batch=8)
    work = requests(served, features, [8, 1, 20, 1])

    async def main() -> list[Prediction]:
        runner = Runner(served, settings, batches)
        try:
            return await asyncio.gather(*(runner.predict(item) for item, _ in work))
        finally:
            await runner.close()

    results = asyncio.run(main())
    for (_, rows), got in zip(work, results, strict=True):
        assert_own_rows(served, rows, got)
    assert sorted(batches.sizes) == [2, 8, 20]


def test_a_full_queue_answers_overloaded(served: ServedVersion, features: pd.DataFrame) -> None:
    settings = BatchSettings(max_batch=64, max_queue=10)
    work = requests(served, features, [1] * 20)

    async def main() -> list[Any]:
        runner = Runner(served, settings)
        try:
            return await asyncio.gather(
                *(runner.predict(item) for item, _ in work), return_exceptions=True
            )
        finally:
            await runner.close()

    results = asyncio.run(main())
    overloaded = [r for r in results if isinstance(r, OverloadedError)]
    answered = [
        (rows, r)
        for (_, rows), r in zip(work, results, strict=True)
        if not isinstance(r, BaseException)
    ]
    assert len(overloaded) + len(answered) == 20
    # all 20 queue up before the worker runs: the first 10 fit, the other 10 do not
    assert len(answered) == 10
    assert len(overloaded) == 10
    assert all(isinstance(r, Prediction) for r in results[:10])
    for rows, got in answered:
        assert_own_rows(served, rows, got)
    assert "cancer/1" in str(overloaded[0])


def test_a_prediction_error_fails_only_the_caller_whose_rows_caused_it(
    served: ServedVersion, features: pd.DataFrame
) -> None:
    """A value the signature accepts but the model chokes on (the scaler overflows to
    infinity): the batch fails, and each request is retried alone."""
    batches = Batches()
    work = requests(served, features, [1, 2, 1, 3, 1])
    poison_rows = records(features.iloc[100:102])
    poison_rows[1][SMOOTHNESS] = 1e308
    poison = served.codec.encode(poison_rows)
    assert poison.rows is not None  # finite, so the codec lets it through

    async def main() -> list[Any]:
        runner = Runner(served, BatchSettings(max_batch=64), batches)
        calls = [runner.predict(item) for item, _ in work]
        calls.insert(2, runner.predict(poison))
        try:
            return await asyncio.gather(*calls, return_exceptions=True)
        finally:
            await runner.close()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # numpy's overflow notice
        results = asyncio.run(main())
    refused = results.pop(2)
    assert isinstance(refused, InvalidInputError)
    assert "cancer/1 cannot predict on row 1: " in str(refused)  # its own row, not the batch's
    for (_, rows), got in zip(work, results, strict=True):
        assert isinstance(got, Prediction), got
        assert_own_rows(served, rows, got)
    assert batches.sizes[0] == 10  # all in one call first, then each on its own
    assert len(batches.sizes) == 1 + 6


def test_rows_the_model_cannot_take_fail_only_their_caller(
    served: ServedVersion, features: pd.DataFrame
) -> None:
    """The same with input of the wrong width handed to the runner directly."""
    work = requests(served, features, [1, 2, 1, 3])
    bad = ModelInput(1, rows=np.ones((1, 29)))

    async def main() -> list[Any]:
        runner = Runner(served, BatchSettings(max_batch=64))
        calls = [runner.predict(item) for item, _ in work]
        calls.insert(1, runner.predict(bad))
        try:
            return await asyncio.gather(*calls, return_exceptions=True)
        finally:
            await runner.close()

    results = asyncio.run(main())
    assert isinstance(results.pop(1), InvalidInputError)
    for (_, rows), got in zip(work, results, strict=True):
        assert isinstance(got, Prediction), got
        assert_own_rows(served, rows, got)


def test_close_answers_everything_queued(served: ServedVersion, features: pd.DataFrame) -> None:
    batches = Batches()
    work = requests(served, features, [2, 1, 3, 1, 1, 2, 4, 1])

    async def main() -> tuple[list[Prediction], Prediction]:
        runner = Runner(served, BatchSettings(max_batch=4, max_wait=0.05), batches)
        pending = [asyncio.ensure_future(runner.predict(item)) for item, _ in work]
        await asyncio.sleep(0)  # all queued, the worker has started
        await runner.close()
        assert all(p.done() for p in pending), "close() returned with requests unanswered"
        after = await runner.predict(work[0][0])  # a late request is still answered
        return [p.result() for p in pending], after

    results, after = asyncio.run(main())
    for (_, rows), got in zip(work, results, strict=True):
        assert_own_rows(served, rows, got)
    assert_own_rows(served, work[0][1], after)
    assert sum(batches.sizes) == sum(len(rows) for _, rows in work) + len(work[0][1])


def test_close_before_the_worker_ran_answers_everything(
    served: ServedVersion, features: pd.DataFrame
) -> None:
    work = requests(served, features, [1, 1, 2])

    async def main() -> list[Prediction]:
        runner = Runner(served, BatchSettings())
        pending = [asyncio.ensure_future(runner.predict(item)) for item, _ in work]
        closing = asyncio.ensure_future(runner.close())
        results = await asyncio.gather(*pending)
        await closing
        return results

    for (_, rows), got in zip(work, asyncio.run(main()), strict=True):
        assert_own_rows(served, rows, got)


def test_a_slow_model_runs_in_a_thread_and_still_coalesces(
    forest: ServedVersion, features: pd.DataFrame
) -> None:
    assert not forest.inline, "150 trees take longer than the inline limit"
    batches = Batches()
    rng = random.Random(2)
    sizes = [rng.randint(1, 3) for _ in range(40)]
    work = requests(forest, features, sizes)
    delays = [rng.uniform(0, 0.03) for _ in work]

    async def main() -> tuple[list[Prediction], int]:
        runner = Runner(forest, BatchSettings(max_batch=16), batches)
        ticks = 0

        async def heartbeat() -> None:  # the loop stays free while the model works
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.001)

        async def call(item: ModelInput, delay: float) -> Prediction:
            await asyncio.sleep(delay)
            return await runner.predict(item)

        beat = asyncio.ensure_future(heartbeat())
        try:
            results = await asyncio.gather(
                *(call(item, d) for (item, _), d in zip(work, delays, strict=True))
            )
        finally:
            beat.cancel()
            await runner.close()
        return results, ticks

    results, ticks = asyncio.run(main())
    for (_, rows), got in zip(work, results, strict=True):
        assert_own_rows(forest, rows, got)
    assert sum(batches.sizes) == sum(sizes)
    assert len(batches.sizes) < len(work), "requests arriving meanwhile were not coalesced"
    assert max(batches.sizes) <= 16
    assert ticks > len(batches.sizes)


def test_forced_thread_path_coalesces(served: ServedVersion, features: pd.DataFrame) -> None:
    served.inline = False
    batches = Batches()
    work = requests(served, features, [1] * 30)

    async def main() -> list[Prediction]:
        runner = Runner(served, BatchSettings(max_batch=64), batches)
        try:
            return await asyncio.gather(*(runner.predict(item) for item, _ in work))
        finally:
            await runner.close()

    for (_, rows), got in zip(work, asyncio.run(main()), strict=True):
        assert_own_rows(served, rows, got)
    assert len(batches.sizes) < len(work)
    assert sum(batches.sizes) == 30


def test_without_batching_every_request_is_its_own_call(
    served: ServedVersion, features: pd.DataFrame
) -> None:
    batches = Batches()
    sizes = [1, 2, 3, 1, 1, 4, 2]
    work = requests(served, features, sizes)

    async def main() -> list[Prediction]:
        runner = Runner(served, BatchSettings(enabled=False), batches)
        try:
            return await asyncio.gather(*(runner.predict(item) for item, _ in work))
        finally:
            await runner.close()

    for (_, rows), got in zip(work, asyncio.run(main()), strict=True):
        assert_own_rows(served, rows, got)
    assert batches.sizes == sizes


class Answers:
    """The on_answer observer: each model call with the tags of its requests."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[tuple[ModelCall, list[object]]] = []
        self.fail = fail

    def __call__(self, served: ServedVersion, call: ModelCall, tags: Sequence[object]) -> None:
        self.calls.append((call, list(tags)))
        if self.fail:
            raise RuntimeError("observer broke")


def predict_all(runner: Runner, items: Sequence[ModelInput], tags: Sequence[object]) -> list[Any]:
    """Every item predicted at once with its tag (errors returned, not raised), then the
    runner closed."""

    async def main() -> list[Any]:
        try:
            return await asyncio.gather(
                *(runner.predict(item, tag) for item, tag in zip(items, tags, strict=True)),
                return_exceptions=True,
            )
        finally:
            await runner.close()

    return asyncio.run(main())


def test_the_answer_observer_sees_each_call_whole_with_its_requests_tags(
    served: ServedVersion, features: pd.DataFrame
) -> None:
    """One observation per model call: the stacked input and whole output exactly as the
    model saw and gave them, the requests' sizes and tags in the same order."""
    answers = Answers()
    rng = random.Random(3)
    sizes = [rng.randint(1, 4) for _ in range(40)] + [9]  # the 9 rows skip the queue
    work = requests(served, features, sizes)
    runner = Runner(served, BatchSettings(max_batch=8, max_wait=0.002), on_answer=answers)
    results = predict_all(runner, [item for item, _ in work], range(len(work)))

    seen: dict[object, int] = {}
    for call, tags in answers.calls:
        assert call.sizes == tuple(work[int(str(t))][0].count for t in tags)
        assert call.input.rows is not None
        assert len(call.input.rows) == sum(call.sizes)
        assert len(call.output.labels) == sum(call.sizes)
        start = 0
        for tag, size in zip(tags, call.sizes, strict=True):
            i = int(str(tag))
            item, rows = work[i]
            assert item.rows is not None
            np.testing.assert_array_equal(call.input.rows[start : start + size], item.rows)
            assert list(call.output.labels[start : start + size]) == list(results[i].labels)
            assert_own_rows(served, rows, results[i])
            seen[tag] = seen.get(tag, 0) + 1
            start += size
    assert seen == dict.fromkeys(range(len(work)), 1)  # each request once, none lost
    assert len(answers.calls) < len(work), "requests were not coalesced"
    assert max(sum(call.sizes) for call, _ in answers.calls) == 9


def test_a_failing_answer_observer_fails_no_request(
    served: ServedVersion, features: pd.DataFrame, caplog: pytest.LogCaptureFixture
) -> None:
    answers = Answers(fail=True)
    work = requests(served, features, [1, 2, 3])
    runner = Runner(served, BatchSettings(max_batch=8), on_answer=answers)
    results = predict_all(runner, [item for item, _ in work], ["a", "b", "c"])

    for (_, rows), got in zip(work, results, strict=True):
        assert isinstance(got, Prediction), got
        assert_own_rows(served, rows, got)
    assert sorted(str(t) for _, tags in answers.calls for t in tags) == ["a", "b", "c"]
    assert "answer observer failed for cancer/1" in caplog.text


def test_a_failed_batch_is_observed_only_as_the_calls_that_answered(
    served: ServedVersion, features: pd.DataFrame
) -> None:
    """The batch with a poisoned request fails and is retried request by request: the
    observer sees the retried calls that answered, never the failed one."""
    answers = Answers()
    work = requests(served, features, [1, 2, 1])
    poison_rows = records(features.iloc[100:101])
    poison_rows[0][SMOOTHNESS] = 1e308
    items = [item for item, _ in work] + [served.codec.encode(poison_rows)]
    runner = Runner(served, BatchSettings(max_batch=64), on_answer=answers)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        results = predict_all(runner, items, [0, 1, 2, "poison"])

    assert isinstance(results[-1], InvalidInputError)
    assert [tags for _, tags in answers.calls] == [[0], [1], [2]]


def test_answers_wait_for_the_barrier_after_their_call_is_observed(
    served: ServedVersion, features: pd.DataFrame
) -> None:
    """A durable log's barrier runs after the observer saw the call, in another thread,
    and before any caller of that call gets its answer."""
    events: list[str] = []
    loop_thread = threading.get_ident()

    def observe(_: ServedVersion, call: Any, tags: Any) -> None:
        events.append(f"observed {len(tags)}")

    def barrier() -> None:
        assert threading.get_ident() != loop_thread  # the event loop keeps reading meanwhile
        time.sleep(0.02)
        events.append("synced")

    work = requests(served, features, [1, 2, 3])

    async def main() -> None:
        runner = Runner(served, BatchSettings(max_batch=16), None, observe, barrier)

        async def ask(item: ModelInput) -> None:
            await runner.predict(item)
            events.append("answered")

        try:
            await asyncio.gather(*(ask(item) for item, _ in work))
        finally:
            await runner.close()

    asyncio.run(main())
    answered = [i for i, e in enumerate(events) if e == "answered"]
    assert len(answered) == 3
    for i in answered:  # between the observing of its call and the answer: the barrier
        last_observed = max(j for j in range(i) if events[j].startswith("observed"))
        assert "synced" in events[last_observed:i], events
