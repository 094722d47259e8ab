"""ModelPool with a model that cannot be loaded: the others are served, the broken one is
unavailable with its reason, logged once, and tried again when its alias moves."""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from ferryman.config import Settings
from ferryman.core.refs import ModelRef
from ferryman.errors import ConfigError, ModelNotFoundError, ModelUnavailableError
from ferryman.registry import Registry
from ferryman.serving.pool import LoadFailure, ModelPool, PoolEvents, PoolSettings

DAMAGED = "truncated or was changed"  # what the artifact store says of a damaged file


class Events:
    """PoolEvents that remember what happened."""

    def __init__(self) -> None:
        self.loaded: list[str] = []
        self.swapped: list[tuple[str, int | None, int]] = []
        self.failed: list[LoadFailure] = []
        self.dropped: list[str] = []
        self.events = PoolEvents(
            loaded=lambda s: self.loaded.append(s.version.ref),
            swapped=lambda *args: self.swapped.append(args),
            failed=self.failed.append,
            dropped=self.dropped.append,
        )


def register(registry: Registry, name: str, frame: pd.DataFrame, c: float, **kwargs: Any) -> int:
    model = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=1000))
    model.fit(frame.drop(columns="target"), frame.target)
    version = registry.register(model, name, train_data=frame, target="target", **kwargs)
    return version.version


def damage(registry: Registry, home: Path, ref: str) -> None:
    """Overwrite a version's artifact: its recorded hash no longer matches, so it cannot load."""
    digest = registry.resolve(ref).artifact_sha256
    (home / "artifacts" / "sha256" / digest[:2] / digest[2:]).write_bytes(b"damaged")


@pytest.fixture
def store(registry: Registry, home: Path, cancer_frame: pd.DataFrame) -> Registry:
    """``good`` 1 and ``broken`` 1 (damaged) under production; ``broken`` 2 loads."""
    register(registry, "good", cancer_frame, 1.0, aliases=["production"])
    register(registry, "broken", cancer_frame, 0.5, aliases=["production"])
    register(registry, "broken", cancer_frame, 0.1)
    damage(registry, home, "broken/1")
    return registry


def no_poll(**kwargs: Any) -> PoolSettings:
    return PoolSettings(poll_interval=0, **kwargs)


@pytest.fixture
def server_registry(settings: Settings) -> Iterator[Registry]:
    """The registry a server opens: its own, with nothing loaded yet (registering loads the
    model back, and a process's registry keeps what it loaded)."""
    registry = Registry(settings)
    yield registry
    registry.close()


async def started(registry: Registry, settings: PoolSettings, events: Events) -> ModelPool:
    pool = ModelPool(registry, settings, events.events)
    await pool.start()
    return pool


def test_the_others_are_served_and_the_broken_one_is_unavailable_with_its_reason(
    store: Registry, server_registry: Registry, caplog: pytest.LogCaptureFixture
) -> None:
    events = Events()

    async def main() -> None:
        pool = await started(server_registry, no_poll(), events)
        try:
            assert pool.ready
            assert pool.names == ["good"]
            [(name, failure)] = pool.unavailable.items()
            assert (name, failure.version, failure.serving) == ("broken", 1, None)
            assert DAMAGED in failure.reason
            with pytest.raises(ModelUnavailableError) as caught:
                await pool.runner(ModelRef.parse("broken"))
            assert (caught.value.name, caught.value.version) == ("broken", 1)
            assert "model 'broken' cannot be served" in str(caught.value)
            assert DAMAGED in str(caught.value)
            for ref in ("broken@production", "broken/1"):
                with pytest.raises(ModelUnavailableError):
                    await pool.runner(ModelRef.parse(ref))
            # its other versions still answer
            assert (await pool.runner(ModelRef.parse("broken/2"))).served.number == 2
            with pytest.raises(ModelNotFoundError, match=r"served: broken, good"):
                await pool.runner(ModelRef.parse("ghost"))
            for _ in range(3):  # the same version is not tried again
                assert await pool.refresh() == []
        finally:
            await pool.stop()

    with caplog.at_level(logging.ERROR, logger="ferryman.serving"):
        asyncio.run(main())
    said = [r for r in caplog.records if "cannot load broken/1" in r.getMessage()]
    assert len(said) == 1
    assert said[0].exc_info is None  # ferryman's own error: one line, no traceback
    assert "broken answers 503 until production moves" in said[0].getMessage()
    assert [f.name for f in events.failed] == ["broken"]
    assert sorted(events.loaded) == ["broken/2", "good/1"]


def test_a_broken_model_is_served_once_its_alias_moves_to_a_version_that_loads(
    store: Registry,
    server_registry: Registry,
) -> None:
    events = Events()

    async def main() -> None:
        pool = await started(server_registry, no_poll(), events)
        try:
            store.set_alias("broken", "production", 2)
            assert await pool.refresh() == ["broken"]
            assert pool.names == ["broken", "good"]
            assert pool.unavailable == {}
            assert (await pool.runner(ModelRef.parse("broken"))).served.number == 2
        finally:
            await pool.stop()

    asyncio.run(main())
    assert events.swapped == [("broken", None, 2)]


def test_an_alias_moving_to_a_broken_version_keeps_the_old_one_and_retries_on_the_next_move(
    store: Registry, server_registry: Registry, home: Path, cancer_frame: pd.DataFrame
) -> None:
    assert register(store, "good", cancer_frame, 0.01) == 2
    damage(store, home, "good/2")
    events = Events()

    async def main() -> None:
        pool = await started(server_registry, no_poll(), events)
        try:
            store.set_alias("good", "production", 2)
            assert await pool.refresh() == []
            assert await pool.refresh() == []  # not tried again
            assert pool.served("good").number == 1  # still answers
            assert "good" not in pool.unavailable
            store.set_alias("good", "production", 1)  # back: the failure is forgotten
            assert await pool.refresh() == []
            store.set_alias("good", "production", 2)  # a move: tried again
            assert await pool.refresh() == []
        finally:
            await pool.stop()

    asyncio.run(main())
    assert [(f.name, f.version, f.serving) for f in events.failed] == [
        ("broken", 1, None),
        ("good", 2, 1),
        ("good", 2, 1),
    ]


def test_a_broken_model_that_loses_its_alias_is_no_longer_served(
    store: Registry, server_registry: Registry
) -> None:
    events = Events()

    async def main() -> None:
        pool = await started(server_registry, no_poll(), events)
        try:
            store.remove_alias("broken", "production")
            assert await pool.refresh() == []
            assert pool.unavailable == {}
            with pytest.raises(ModelNotFoundError):
                await pool.runner(ModelRef.parse("broken"))
        finally:
            await pool.stop()

    asyncio.run(main())
    assert events.dropped == ["broken"]


def test_another_version_that_cannot_be_loaded_is_unavailable(
    store: Registry, server_registry: Registry, home: Path, cancer_frame: pd.DataFrame
) -> None:
    assert register(store, "good", cancer_frame, 0.01) == 2
    damage(store, home, "good/2")

    loads: list[object] = []
    real_load = server_registry.load

    def counted_load(ref: object, *args: object) -> object:
        loads.append(ref)
        return real_load(ref, *args)  # type: ignore[arg-type]

    server_registry.load = counted_load  # type: ignore[method-assign]

    async def main() -> None:
        pool = await started(server_registry, no_poll(), Events())
        try:
            before = len(loads)
            for _ in range(3):
                with pytest.raises(ModelUnavailableError, match="'good' version 2 cannot be"):
                    await pool.runner(ModelRef.parse("good/2"))
            assert len(loads) == before + 1  # tried once, not on every request
            assert pool.served("good").number == 1
        finally:
            await pool.stop()

    asyncio.run(main())


def test_a_named_model_that_cannot_be_loaded_stops_the_start_naming_it(
    store: Registry, server_registry: Registry
) -> None:
    async def main() -> None:
        pool = ModelPool(server_registry, no_poll(models=("good", "broken")))
        try:
            with pytest.raises(ConfigError) as caught:
                await pool.start()
            assert not pool.ready
        finally:
            await pool.stop()
        message = str(caught.value)
        assert message.startswith("cannot serve 'broken': version 1 (production) cannot be")
        assert DAMAGED in message
        assert message.endswith("leave it out of --models to serve the others")
        assert "\n" not in message

    asyncio.run(main())


def test_a_start_where_no_model_can_be_loaded_fails(
    store: Registry, server_registry: Registry, home: Path
) -> None:
    damage(store, home, "good/1")

    async def main() -> None:
        pool = ModelPool(server_registry, no_poll())
        try:
            with pytest.raises(ConfigError, match=r"could be loaded \(broken, good\)"):
                await pool.start()
        finally:
            await pool.stop()

    asyncio.run(main())


def test_a_version_that_fails_to_load_is_tried_once_per_alias_move(
    home: Path, cancer_model: Pipeline, cancer_frame: pd.DataFrame, caplog: pytest.LogCaptureFixture
) -> None:
    registry = Registry(Settings.load(home=home, record_git=False, snapshot_models=False))
    try:
        registry.register(cancer_model, "cancer", train_data=cancer_frame, target="target",
                          aliases=["production"])  # fmt: skip
        broken = registry.register(cancer_model, "cancer", train_data=cancer_frame, target="target")
        registry.cache.clear()
        blob = registry.artifacts.local_path(broken.artifact_sha256, broken.artifact_size)
        shutil.copyfile(blob, home / "kept")
        Path(blob).write_bytes(b"not a model")

        async def main() -> tuple[int, list[str]]:
            pool = ModelPool(registry, PoolSettings(poll_interval=0))
            await pool.start()
            try:
                registry.set_alias("cancer", "production", 2)
                changed = [name for _ in range(5) for name in await pool.refresh()]
                return pool.served("cancer").number, changed
            finally:
                await pool.stop()

        with caplog.at_level(logging.ERROR, logger="ferryman.serving"):
            number, changed = asyncio.run(main())
    finally:
        registry.close()
    assert number == 1
    assert changed == []
    failures = [r for r in caplog.records if "cannot load cancer/2" in r.getMessage()]
    assert len(failures) == 1
