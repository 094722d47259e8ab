"""The server's token refresh loop outlives any failure to re-read the tokens."""

from __future__ import annotations

import asyncio
import logging

import pytest

from ferryman.access import TokenBook, TokenVerifier
from ferryman.errors import StoreError
from ferryman.registry import Registry
from ferryman.server.app import create_app


class FlakyVerifier(TokenVerifier):
    """The real verifier, whose next refreshes fail with the given errors first."""

    failures: list[Exception]
    calls = 0

    def refresh(self) -> None:
        self.calls += 1
        if getattr(self, "failures", None):
            raise self.failures.pop(0)
        super().refresh()


def test_the_refresh_loop_survives_failures_and_says_each_kind_once(
    registry: Registry, caplog: pytest.LogCaptureFixture
) -> None:
    book = TokenBook(registry)
    book.create("first", "viewer")
    lifecycle = create_app(registry).state.lifecycle
    verifier = FlakyVerifier(book.store, actor="tester")
    verifier.failures = [
        RuntimeError("boom"),
        RuntimeError("boom again"),
        OSError("no file"),
        StoreError("locked"),
        RuntimeError("boom a third time"),
    ]
    lifecycle.gate.verifier = verifier
    lifecycle.refresh_seconds = 0.01

    async def run() -> None:
        task = asyncio.create_task(lifecycle._refresh_tokens())
        deadline = asyncio.get_running_loop().time() + 5
        while verifier.failures or verifier.calls < 8:
            assert asyncio.get_running_loop().time() < deadline, "the loop stopped refreshing"
            assert not task.done(), f"the loop ended: {task.exception()!r}"
            await asyncio.sleep(0.01)
        secret = book.create("second", "viewer")[1]  # read by a later, good refresh
        calls = verifier.calls
        while verifier.calls < calls + 2:
            assert asyncio.get_running_loop().time() < deadline, "the loop stopped refreshing"
            await asyncio.sleep(0.01)
        assert verifier.check(secret).name == "second"
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    with caplog.at_level(logging.INFO, logger="ferryman"):
        asyncio.run(run())
    said = [r.getMessage() for r in caplog.records if "re-read the API tokens" in r.getMessage()]
    assert len(said) == 3, said  # RuntimeError, OSError, StoreError: once each
    assert any("boom" in line for line in said)
    assert any("locked" in line for line in said)
    assert verifier.needs_auth
