"""The models a server answers for, kept current as their aliases move.

Each served model name has one current version. A watcher polls the registry; when the alias
points elsewhere it loads and warms the new version beside the old one, then swaps the
reference in one assignment: a request sees the old version or the new one, never a half-made
one. The old version's queued requests are still answered by it.

A version that cannot be loaded never stops the others: it is logged once and remembered
(``LoadFailure``); while no version of its model answers, requests for it raise
ModelUnavailableError with the reason. It is tried again when its alias moves.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ferryman.core.predictions import NullSink, PredictionSink
from ferryman.core.records import ModelVersion
from ferryman.core.refs import ModelRef
from ferryman.errors import (
    AliasNotFoundError,
    ConfigError,
    FerrymanError,
    ModelNotFoundError,
    ModelUnavailableError,
    NotFoundError,
    UnavailableError,
)
from ferryman.registry import Registry
from ferryman.serving.batching import BatchSettings, Runner
from ferryman.serving.recording import CallRecorder
from ferryman.serving.served import WARMUP_ROWS, ServedVersion

log = logging.getLogger("ferryman.serving")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PoolSettings:
    """What to serve and how. ``models`` None means every model that has ``alias``."""

    alias: str = "production"
    models: tuple[str, ...] | None = None
    poll_interval: float = 1.0
    extra_versions: int = 4
    batching: BatchSettings = field(default_factory=BatchSettings)


@dataclass(frozen=True, slots=True)
class LoadFailure:
    """A served model's version that could not be loaded, and why. ``serving``: the version
    still answering for the alias (None: no version of the model answers)."""

    name: str
    version: int
    reason: str
    serving: int | None = None


@dataclass
class PoolEvents:
    """Hooks the server uses for metrics and logs (all optional). ``dropped``: a model that
    could not be loaded lost its alias and is no longer served."""

    loaded: Callable[[ServedVersion], None] | None = None
    swapped: Callable[[str, int | None, int], None] | None = None
    batch: Callable[[ServedVersion, int], None] | None = None
    failed: Callable[[LoadFailure], None] | None = None
    dropped: Callable[[str], None] | None = None


class ModelPool:
    """Served models by name; ``runner(ref)`` answers which version handles a request.

    What the versions answer (and refuse) goes to ``sink``, the prediction log (none: kept
    nothing, built nothing).
    """

    def __init__(
        self,
        registry: Registry,
        settings: PoolSettings | None = None,
        events: PoolEvents | None = None,
        sink: PredictionSink | None = None,
    ) -> None:
        self.registry = registry
        self.settings = settings or PoolSettings()
        self.events = events or PoolEvents()
        self.recorder = CallRecorder(sink if sink is not None else NullSink())
        self._current: dict[str, Runner] = {}
        self._extra: OrderedDict[tuple[str, int], Runner] = OrderedDict()
        self._aliases: dict[tuple[str, str], tuple[float, int]] = {}
        self._loading: dict[tuple[str, int], asyncio.Future[Runner]] = {}
        self._db = ThreadPoolExecutor(1, thread_name_prefix="registry")
        self._watcher: asyncio.Task[None] | None = None
        self._retired: set[asyncio.Task[None]] = set()
        self._failed: dict[str, LoadFailure] = {}  # the alias's version that failed, by name
        # other versions that could not be loaded, with why: not tried again (a version's
        # artifact does not change; a request for it must not reload it each time)
        self._extra_failed: dict[tuple[str, int], str] = {}
        self._missing: set[str] = set()  # served names whose alias is gone (warned once)
        self.ready = False
        self.started_at = time.time()

    # -- life cycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Load and warm every served model, then watch their aliases.

        A model that cannot be loaded is logged and left out (its requests are unavailable),
        unless it was named in ``settings.models``: then ConfigError names it. ConfigError too
        when no model at all could be loaded.
        """
        alias = self.settings.alias
        names = await self._call(servable_names, self.registry, self.settings, True)
        for name in names:
            version = await self._call(resolve_alias, self.registry, name, alias)
            try:
                runner = await self._load(version)
            except Exception as exc:
                if self.settings.models is not None:
                    raise ConfigError(
                        f"cannot serve {name!r}: version {version.version} ({alias}) cannot be "
                        f"loaded: {_reason(exc)}; leave it out of --models to serve the others"
                    ) from exc
                self._fail(version, exc, None)
                continue
            self._current[name] = runner
            log.info("serving %s as %s@%s", version.ref, name, alias)
        if names and not self._current:
            raise ConfigError(
                f"none of the models with the {alias!r} alias could be loaded "
                f"({', '.join(sorted(self._failed))}); the log above says why"
            )
        self.ready = True
        if self.settings.poll_interval > 0:
            self._watcher = asyncio.create_task(self._watch(), name="alias watcher")

    async def stop(self) -> None:
        """Stop watching and answer what is queued."""
        self.ready = False
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        runners = [*self._current.values(), *self._extra.values()]
        for runner in runners:
            await runner.close()
        for task in list(self._retired):
            await task
        self._db.shutdown(wait=False)

    async def _call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._db, lambda: fn(*args, **kwargs))

    # -- what is served -------------------------------------------------------------------

    @property
    def names(self) -> list[str]:
        """The models answering (a version of each is loaded)."""
        return sorted(self._current)

    @property
    def unavailable(self) -> dict[str, LoadFailure]:
        """The served models no version of which could be loaded, with why."""
        return {n: f for n, f in sorted(self._failed.items()) if n not in self._current}

    def current(self) -> dict[str, ServedVersion]:
        return {name: runner.served for name, runner in sorted(self._current.items())}

    def served(self, name: str) -> ServedVersion:
        return self._runner_by_name(name).served

    def _runner_by_name(self, name: str) -> Runner:
        runner = self._current.get(name)
        if runner is not None:
            return runner
        failure = self._failed.get(name)
        if failure is not None:
            raise ModelUnavailableError(
                f"model {name!r} cannot be served: its {self.settings.alias!r} version "
                f"{failure.version} cannot be loaded: {failure.reason}",
                name,
                failure.version,
                failure.reason,
            )
        if not self.ready:
            raise UnavailableError("the server is still loading its models; retry shortly")
        raise not_served(name, {*self._current, *self._failed})

    async def runner(self, ref: ModelRef) -> Runner:
        """The runner answering ``ref``: the current version for the serving alias, any other
        version or alias of a served model loaded on first use (and kept a while). A model
        that could not be loaded still answers for its other versions."""
        current = self._current.get(ref.name)
        served_alias = ref.version is None and ref.alias in (self.settings.alias, None)
        if current is None and (served_alias or ref.name not in self._failed):
            return self._runner_by_name(ref.name)  # raises: unavailable, loading or not found
        if served_alias and current is not None:
            return current
        number = ref.version
        if number is None:
            assert ref.alias is not None
            number = await self._alias_number(ref.name, ref.alias)
        if current is None:
            if number == self._failed[ref.name].version:
                return self._runner_by_name(ref.name)  # raises why it is unavailable
        elif number == current.served.number:
            return current
        key = (ref.name, number)
        extra = self._extra.get(key)
        if extra is not None:
            self._extra.move_to_end(key)
            return extra
        return await self._load_extra(key)

    async def _alias_number(self, name: str, alias: str) -> int:
        key = (name, alias)
        cached = self._aliases.get(key)
        now = time.monotonic()
        if cached is not None and now - cached[0] < max(self.settings.poll_interval, 0.1):
            return cached[1]
        ref = ModelRef(name, alias=alias)
        version = await self._call(self.registry.resolve, ref)
        self._aliases[key] = (now, version.version)
        return version.version

    async def _load_extra(self, key: tuple[str, int]) -> Runner:
        pending = self._loading.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Runner] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        try:
            version = await self._call(self.registry.resolve, ModelRef(key[0], version=key[1]))
            runner = await self._load_other(version)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved here; waiters get it too
            raise
        finally:
            self._loading.pop(key, None)
        future.set_result(runner)
        self._extra[key] = runner
        while len(self._extra) > self.settings.extra_versions:
            _, old = self._extra.popitem(last=False)
            self._retire(old)
        return runner

    async def _load_other(self, version: ModelVersion) -> Runner:
        """Load a version other than the alias's; a failure is unavailable (logged once)."""
        key = (version.model, version.version)
        reason = self._extra_failed.get(key)
        if reason is None:
            try:
                return await self._load(version)
            except Exception as exc:
                reason = self._extra_failed[key] = _reason(exc)
                log.error("cannot load %s: %s", version.ref, reason, exc_info=_trace(exc))
        raise ModelUnavailableError(
            f"model {version.model!r} version {version.version} cannot be loaded: {reason}",
            version.model,
            version.version,
            reason,
        )

    def _fail(self, version: ModelVersion, exc: Exception, serving: int | None) -> None:
        """Remember (and log, once) that the alias's version of a model cannot be loaded."""
        failure = LoadFailure(version.model, version.version, _reason(exc), serving)
        self._failed[version.model] = failure
        alias = self.settings.alias
        if serving is None:
            then = f"{version.model} answers 503 until {alias} moves to a version that loads"
        else:
            then = f"still serving version {serving}"
        log.error(
            "cannot load %s (%s@%s): %s; %s",
            version.ref,
            version.model,
            alias,
            failure.reason,
            then,
            exc_info=_trace(exc),
        )
        if self.events.failed is not None:
            self.events.failed(failure)

    # -- loading and swapping -------------------------------------------------------------

    def _build(self, version: ModelVersion) -> ServedVersion:
        """Load and warm a version (runs in the registry thread)."""
        started = time.perf_counter()
        loaded = self.registry.load(ModelRef(version.model, version=version.version))
        served = ServedVersion(loaded)
        try:
            example = self.registry.reference_sample(
                ModelRef(version.model, version=version.version), rows=WARMUP_ROWS
            )
        except FerrymanError as exc:
            log.warning("%s: no example rows to warm with (%s)", version.ref, exc)
            example = None
        served.warm(example)
        served.load_seconds = time.perf_counter() - started
        return served

    async def _load(self, version: ModelVersion) -> Runner:
        served = await self._call(self._build, version)
        if self.events.loaded is not None:
            self.events.loaded(served)
        recorder = self.recorder
        return Runner(
            served, self.settings.batching, self.events.batch, recorder.observer, recorder.barrier
        )

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.settings.poll_interval)
            try:
                await self.refresh()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("checking the registry for alias moves failed; retrying")

    async def refresh(self) -> list[str]:
        """Look for alias moves (and new models when serving all) now; swap what moved.
        Returns the names swapped or added."""
        changed: list[str] = []
        names = list(dict.fromkeys([*self._current, *self._failed]))
        if self.settings.models is None:
            wanted = await self._call(servable_names, self.registry, self.settings)
            names.extend(n for n in wanted if n not in names)
        for name in names:
            try:
                version = await self._call(resolve_alias, self.registry, name, self.settings.alias)
            except NotFoundError as exc:
                self._drop_unloaded(name, exc)
                if name in self._current and name not in self._missing:  # say it once
                    self._missing.add(name)
                    log.warning(
                        "%s: %s; still serving version %s",
                        name,
                        exc,
                        self._current[name].served.number,
                    )
                continue
            self._missing.discard(name)
            current = self._current.get(name)
            failure = self._failed.get(name)
            if current is not None and current.served.number == version.version:
                self._failed.pop(name, None)  # the alias is back on the served version
                continue
            if failure is not None and failure.version == version.version:
                continue  # tried and failed: wait for the alias to move again
            try:
                runner = await self._load(version)
            except Exception as exc:  # noqa: BLE001 - logged by _fail; the others go on
                self._fail(version, exc, current.served.number if current is not None else None)
                continue
            self._failed.pop(name, None)
            self._current[name] = runner  # the swap: one reference assignment
            old = current.served.number if current is not None else None
            log.info(
                "%s@%s moved: now serving version %s (was %s)",
                name,
                self.settings.alias,
                version.version,
                old,
            )
            if self.events.swapped is not None:
                self.events.swapped(name, old, version.version)
            if current is not None:
                self._retire(current)
            changed.append(name)
        return changed

    def _drop_unloaded(self, name: str, why: NotFoundError) -> None:
        """A model that could never be loaded lost its alias: it is no longer served."""
        if name in self._current or self._failed.pop(name, None) is None:
            return
        log.info("%s: %s; no longer served", name, why)
        if self.events.dropped is not None:
            self.events.dropped(name)

    def _retire(self, runner: Runner) -> None:
        task = asyncio.create_task(runner.close())
        self._retired.add(task)
        task.add_done_callback(self._retired.discard)


def servable_names(registry: Registry, settings: PoolSettings, strict: bool = False) -> list[str]:
    """The models ``settings`` serves: those named, or every model with the alias. ``strict``
    checks that each named one has the alias (ConfigError naming what to do otherwise)."""
    alias = settings.alias
    if settings.models is not None:
        for name in settings.models if strict else ():
            try:
                resolve_alias(registry, name, alias)
            except ModelNotFoundError as exc:
                raise ConfigError(f"cannot serve {name!r}: {exc}") from exc
            except AliasNotFoundError as exc:
                raise ConfigError(
                    f"cannot serve {name!r}: it has no {alias!r} alias; set one with "
                    f"`ferryman alias set {name} {alias} VERSION` or pass --alias"
                ) from exc
        return list(settings.models)
    names: list[str] = []
    token: str | None = None
    while True:
        page = registry.list_models(alias=alias, limit=500, page_token=token)
        names.extend(m.name for m in page.items)
        token = page.next_page_token
        if not token:
            return names


def resolve_alias(registry: Registry, name: str, alias: str) -> ModelVersion:
    return registry.resolve(ModelRef(name, alias=alias))


def _reason(exc: Exception) -> str:
    """Why a load failed, in one line: ferryman's own message, else the error's type too."""
    text = str(exc) if isinstance(exc, FerrymanError) else f"{type(exc).__name__}: {exc}"
    return " ".join(text.split())


def _trace(exc: Exception) -> Exception | None:
    """The traceback worth logging: none for ferryman's own errors (the message says it all)."""
    return None if isinstance(exc, FerrymanError) else exc


def not_served(name: str, served: Iterable[str]) -> ModelNotFoundError:
    """The error for a model this server does not serve, naming those it does (the HTTP
    layer passes only the ones a scoped token may see)."""
    listed = ", ".join(sorted(served)) or "none"
    return ModelNotFoundError(f"model {name!r} is not served here (served: {listed})")
