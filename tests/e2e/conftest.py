"""Fixtures for tests that drive a real ``ferryman serve`` subprocess."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from ferryman.registry import Registry
from live_server import LiveServer


@pytest.fixture
def start_server(home: Path) -> Iterator[Callable[..., LiveServer]]:
    """``start_server("--models", "a")`` runs a server on the test's store until the test ends."""
    started: list[LiveServer] = []

    def start(*args: str, timeout: float = 90.0) -> LiveServer:
        server = LiveServer(home, args).start(timeout)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def cancer_served(
    registry: Registry, cancer_frame: pd.DataFrame, cancer_model: Pipeline
) -> Sequence[int]:
    """breast-cancer registered with its training data, version 1 under ``production``."""
    version = registry.register(
        cancer_model, "cancer", train_data=cancer_frame, target="target", aliases=["production"]
    )
    return [version.version]
