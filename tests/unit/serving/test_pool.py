"""ModelPool over a real registry: what it serves, how it follows alias moves, and the extra
versions it loads on demand."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from ferryman.core.refs import ModelRef
from ferryman.errors import (
    ConfigError,
    ModelNotFoundError,
    NotFoundError,
    UnavailableError,
)
from ferryman.registry import Registry
from ferryman.serving.batching import BatchSettings
from ferryman.serving.pool import ModelPool, PoolEvents, PoolSettings
from ferryman.serving.served import ServedVersion
from same_predictions import assert_same_predictions

T = TypeVar("T")
C_OF_VERSION = {2: 0.001, 3: 0.01, 4: 0.1}


class Events:
    """PoolEvents that remember what happened."""

    def __init__(self) -> None:
        self.loaded: list[str] = []
        self.swapped: list[tuple[str, int | None, int]] = []
        self.events = PoolEvents(loaded=self._loaded, swapped=self._swapped)

    def _loaded(self, served: ServedVersion) -> None:
        self.loaded.append(served.version.ref)

    def _swapped(self, name: str, old: int | None, new: int) -> None:
        self.swapped.append((name, old, new))


def with_pool(
    registry: Registry,
    settings: PoolSettings,
    body: Callable[[ModelPool], Awaitable[T]],
    events: PoolEvents | None = None,
) -> T:
    """Start a pool, run ``body`` on it, always stop it."""

    async def main() -> T:
        pool = ModelPool(registry, settings, events)
        try:
            await pool.start()
            return await body(pool)
        finally:
            await pool.stop()

    return asyncio.run(main())


@pytest.fixture
def features(cancer_frame: pd.DataFrame) -> pd.DataFrame:
    return cancer_frame.drop(columns="target")


@pytest.fixture
def cancer_versions(
    registry: Registry, cancer_frame: pd.DataFrame, cancer_model: Pipeline
) -> list[int]:
    """cancer/1 (production) and cancer/2, cancer/3, cancer/4 (different regularisation)."""
    numbers = [
        registry.register(
            cancer_model,
            "cancer",
            train_data=cancer_frame,
            target="target",
            aliases=["production"],
        ).version
    ]
    features = cancer_frame.drop(columns="target")
    for number, c in C_OF_VERSION.items():
        model = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=1000))
        model.fit(features, cancer_frame.target)
        version = registry.register(model, "cancer", train_data=cancer_frame, target="target")
        assert version.version == number
        numbers.append(number)
    return numbers


def register_small(registry: Registry, name: str, frame: pd.DataFrame, **kwargs: Any) -> int:
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    model.fit(frame.drop(columns="target"), frame.target)
    return registry.register(model, name, train_data=frame, target="target", **kwargs).version


def no_poll(**kwargs: Any) -> PoolSettings:
    return PoolSettings(poll_interval=0, **kwargs)


# -- what is served ---------------------------------------------------------------------------


def test_start_serves_every_model_with_the_alias(
    registry: Registry, cancer_versions: list[int], cancer_frame: pd.DataFrame
) -> None:
    register_small(registry, "other", cancer_frame, aliases=["production"])
    register_small(registry, "unaliased", cancer_frame)
    events = Events()

    async def body(pool: ModelPool) -> None:
        assert pool.ready
        assert pool.names == ["cancer", "other"]
        current = pool.current()
        assert current["cancer"].number == 1
        assert current["other"].number == 1
        assert all(s.warmed for s in current.values())
        assert pool.served("cancer") is current["cancer"]
        runner = await pool.runner(ModelRef("cancer", alias="production"))
        assert runner.served is current["cancer"]
        assert (await pool.runner(ModelRef.parse("cancer"))) is runner

    with_pool(registry, no_poll(), body, events.events)
    assert sorted(events.loaded) == ["cancer/1", "other/1"]


def test_models_limits_what_is_served(
    registry: Registry, cancer_versions: list[int], cancer_frame: pd.DataFrame
) -> None:
    register_small(registry, "other", cancer_frame, aliases=["production"])

    async def body(pool: ModelPool) -> None:
        assert pool.names == ["other"]
        with pytest.raises(ModelNotFoundError, match="cancer"):
            await pool.runner(ModelRef.parse("cancer"))

    with_pool(registry, no_poll(models=("other",)), body)


def test_another_alias_can_be_the_served_one(
    registry: Registry, cancer_versions: list[int]
) -> None:
    registry.set_alias("cancer", "staging", 3)

    async def body(pool: ModelPool) -> None:
        assert pool.names == ["cancer"]
        assert pool.served("cancer").number == 3

    with_pool(registry, no_poll(alias="staging"), body)


@pytest.mark.parametrize("missing", ["unaliased", "ghost"])
def test_a_named_model_without_the_alias_is_a_config_error(
    registry: Registry, cancer_versions: list[int], cancer_frame: pd.DataFrame, missing: str
) -> None:
    register_small(registry, "unaliased", cancer_frame)

    async def main() -> None:
        pool = ModelPool(registry, no_poll(models=("cancer", missing)))
        try:
            with pytest.raises(ConfigError, match=repr(missing)):
                await pool.start()
            assert not pool.ready
        finally:
            await pool.stop()

    asyncio.run(main())


def test_requests_before_start_are_unavailable_and_unknown_names_not_found(
    registry: Registry, cancer_versions: list[int]
) -> None:
    async def main() -> None:
        pool = ModelPool(registry, no_poll())
        try:
            with pytest.raises(UnavailableError):
                await pool.runner(ModelRef.parse("cancer"))
            await pool.start()
            with pytest.raises(ModelNotFoundError, match=r"'ghost'.*cancer"):
                await pool.runner(ModelRef.parse("ghost"))
            with pytest.raises(ModelNotFoundError):
                await pool.runner(ModelRef.parse("ghost/1"))
            with pytest.raises(ModelNotFoundError):
                pool.served("ghost")
        finally:
            await pool.stop()

    asyncio.run(main())


# -- following the alias ----------------------------------------------------------------------


def test_refresh_swaps_to_the_new_version_and_closes_the_old_runner(
    registry: Registry, cancer_versions: list[int], features: pd.DataFrame
) -> None:
    events = Events()
    row = [{str(k): float(v) for k, v in features.iloc[0].items()}]

    async def body(pool: ModelPool) -> None:
        old = await pool.runner(ModelRef.parse("cancer"))
        assert old.served.number == 1
        assert await pool.refresh() == []  # nothing moved
        queued = asyncio.ensure_future(old.predict(old.served.codec.encode(row)))
        await asyncio.sleep(0)
        registry.set_alias("cancer", "production", 2)
        assert await pool.refresh() == ["cancer"]
        new = await pool.runner(ModelRef.parse("cancer"))
        assert new is not old
        assert new.served.number == 2
        assert pool.served("cancer").number == 2
        answer = await queued  # a request already queued is answered by the old version
        expected = old.served.loaded.predict_proba(row)
        assert answer.proba is not None
        assert_same_predictions(answer.proba, expected)
        for _ in range(5):
            await asyncio.sleep(0)
        assert old._closed, "the replaced runner was not closed"
        assert await pool.refresh() == []

    with_pool(registry, no_poll(), body, events.events)
    assert events.swapped == [("cancer", 1, 2)]
    assert events.loaded == ["cancer/1", "cancer/2"]


def test_rollback_is_followed_like_any_move(registry: Registry, cancer_versions: list[int]) -> None:
    async def body(pool: ModelPool) -> list[int]:
        seen = []
        for move in (lambda: registry.set_alias("cancer", "production", 3), None):
            if move is None:
                registry.rollback("cancer")
            else:
                move()
            await pool.refresh()
            seen.append(pool.served("cancer").number)
        return seen

    assert with_pool(registry, no_poll(), body) == [3, 1]


def test_the_watcher_swaps_by_itself(registry: Registry, cancer_versions: list[int]) -> None:
    events = Events()

    async def body(pool: ModelPool) -> float:
        registry.set_alias("cancer", "production", 2)
        started = time.monotonic()
        while pool.served("cancer").number != 2:
            assert time.monotonic() - started < 5, "the alias move was not picked up"
            await asyncio.sleep(0.02)
        return time.monotonic() - started

    took = with_pool(registry, PoolSettings(poll_interval=0.1), body, events.events)
    assert took < 5
    assert events.swapped == [("cancer", 1, 2)]


def test_a_model_that_gains_the_alias_is_picked_up_when_serving_all(
    registry: Registry, cancer_versions: list[int], cancer_frame: pd.DataFrame
) -> None:
    register_small(registry, "late", cancer_frame)

    async def body(pool: ModelPool) -> None:
        assert pool.names == ["cancer"]
        assert await pool.refresh() == []
        registry.set_alias("late", "production", 1)
        assert await pool.refresh() == ["late"]
        assert pool.names == ["cancer", "late"]
        assert (await pool.runner(ModelRef.parse("late"))).served.number == 1

    with_pool(registry, no_poll(), body)


def test_a_model_that_gains_the_alias_is_ignored_when_models_are_named(
    registry: Registry, cancer_versions: list[int], cancer_frame: pd.DataFrame
) -> None:
    register_small(registry, "late", cancer_frame)

    async def body(pool: ModelPool) -> None:
        registry.set_alias("late", "production", 1)
        assert await pool.refresh() == []
        assert pool.names == ["cancer"]

    with_pool(registry, no_poll(models=("cancer",)), body)


def test_removed_alias_keeps_the_last_version_served(
    registry: Registry, cancer_versions: list[int], features: pd.DataFrame
) -> None:
    row = [{str(k): float(v) for k, v in features.iloc[5].items()}]

    async def body(pool: ModelPool) -> None:
        registry.set_alias("cancer", "production", 2)
        assert await pool.refresh() == ["cancer"]
        registry.remove_alias("cancer", "production")
        assert await pool.refresh() == []
        runner = await pool.runner(ModelRef.parse("cancer"))
        assert runner.served.number == 2
        answer = await runner.predict(runner.served.codec.encode(row))
        assert len(answer.labels) == 1
        registry.set_alias("cancer", "production", 3)  # and it follows again once set
        assert await pool.refresh() == ["cancer"]
        assert pool.served("cancer").number == 3

    with_pool(registry, no_poll(), body)


# -- other versions on demand -----------------------------------------------------------------


def test_a_numbered_version_is_loaded_on_demand_and_kept(
    registry: Registry, cancer_versions: list[int], features: pd.DataFrame
) -> None:
    events = Events()
    row = [{str(k): float(v) for k, v in features.iloc[9].items()}]

    async def body(pool: ModelPool) -> None:
        current = await pool.runner(ModelRef.parse("cancer"))
        second = await pool.runner(ModelRef.parse("cancer/2"))
        assert second is not current
        assert second.served.number == 2
        assert pool.served("cancer").number == 1  # the served version did not move
        assert await pool.runner(ModelRef.parse("cancer/2")) is second
        assert await pool.runner(ModelRef.parse("cancer/1")) is current
        answer = await second.predict(second.served.codec.encode(row))
        expected = registry.load("cancer/2").predict_proba(row)
        assert answer.proba is not None
        assert_same_predictions(answer.proba, expected)

    with_pool(registry, no_poll(), body, events.events)
    assert events.loaded == ["cancer/1", "cancer/2"]


def test_extra_versions_are_kept_least_recently_used_first_out(
    registry: Registry, cancer_versions: list[int]
) -> None:
    events = Events()

    async def body(pool: ModelPool) -> None:
        two = await pool.runner(ModelRef.parse("cancer/2"))
        three = await pool.runner(ModelRef.parse("cancer/3"))
        assert await pool.runner(ModelRef.parse("cancer/2")) is two  # 2 is now the most recent
        four = await pool.runner(ModelRef.parse("cancer/4"))  # pushes out 3
        assert await pool.runner(ModelRef.parse("cancer/2")) is two
        assert await pool.runner(ModelRef.parse("cancer/4")) is four
        for _ in range(5):
            await asyncio.sleep(0)
        assert three._closed, "the version pushed out was not closed"
        again = await pool.runner(ModelRef.parse("cancer/3"))  # loaded anew, pushes out 2
        assert again is not three
        assert again.served.number == 3

    settings = PoolSettings(poll_interval=0, extra_versions=2)
    with_pool(registry, settings, body, events.events)
    assert events.loaded == ["cancer/1", "cancer/2", "cancer/3", "cancer/4", "cancer/3"]


def test_other_aliases_resolve_to_their_version(
    registry: Registry, cancer_versions: list[int]
) -> None:
    registry.set_alias("cancer", "staging", 3)

    async def body(pool: ModelPool) -> None:
        staging = await pool.runner(ModelRef.parse("cancer@staging"))
        assert staging.served.number == 3
        assert await pool.runner(ModelRef.parse("cancer/3")) is staging
        latest = await pool.runner(ModelRef.parse("cancer@latest"))
        assert latest.served.number == 4
        production = await pool.runner(ModelRef.parse("cancer@production"))
        assert production is await pool.runner(ModelRef.parse("cancer"))
        registry.set_alias("cancer", "canary", 1)  # an alias on the served version
        assert await pool.runner(ModelRef.parse("cancer@canary")) is production
        with pytest.raises(NotFoundError):
            await pool.runner(ModelRef.parse("cancer@nothing"))

    with_pool(registry, no_poll(), body)


def test_an_unknown_version_is_not_found_and_leaves_nothing_behind(
    registry: Registry, cancer_versions: list[int]
) -> None:
    async def body(pool: ModelPool) -> None:
        for _ in range(2):
            with pytest.raises(NotFoundError):
                await pool.runner(ModelRef.parse("cancer/99"))
        assert (await pool.runner(ModelRef.parse("cancer/2"))).served.number == 2

    with_pool(registry, no_poll(), body)


def test_concurrent_requests_for_a_new_version_load_it_once(
    registry: Registry, cancer_versions: list[int]
) -> None:
    events = Events()

    async def body(pool: ModelPool) -> None:
        refs = [ModelRef.parse("cancer/2")] * 8 + [ModelRef.parse("cancer/3")] * 4
        runners = await asyncio.gather(*(pool.runner(ref) for ref in refs))
        assert len({id(r) for r in runners[:8]}) == 1
        assert len({id(r) for r in runners[8:]}) == 1
        assert runners[0].served.number == 2
        assert runners[8].served.number == 3

    with_pool(registry, no_poll(), body, events.events)
    assert sorted(events.loaded) == ["cancer/1", "cancer/2", "cancer/3"]


def test_batching_settings_reach_the_runners(
    registry: Registry, cancer_versions: list[int]
) -> None:
    settings = no_poll(batching=BatchSettings(max_batch=7, max_wait=0.01))

    async def body(pool: ModelPool) -> None:
        runner = await pool.runner(ModelRef.parse("cancer"))
        assert runner.settings.max_batch == 7
        extra = await pool.runner(ModelRef.parse("cancer/2"))
        assert extra.settings.max_batch == 7

    with_pool(registry, settings, body)
