"""Hot swap under load: moving ``production`` (from another process) while a real server
answers steady traffic gives no errors, no half-loaded or mixed answers, and the new version
within two seconds; with two workers, both follow."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from ferryman.registry import Registry
from live_server import LiveServer

PROBE_ROWS = [0, 20, 57]
THREADS = 8
MOVE_EVERY = 2.5  # seconds between alias moves
SETTLE = 2.0  # every request sent this long after a move must get the new version
POLL = "0.2"


@dataclass
class Answer:
    sent: float
    received: float
    status: int
    version: int | None = None
    body_version: int | None = None
    proba: list[list[float]] | None = None
    error: str = ""


@dataclass
class Swap:
    """Two versions of ``cancer`` with answers for the probe rows far enough apart that any
    mix-up shows; ``expected[v]`` is what version ``v`` must answer."""

    probe: list[dict[str, float]]
    expected: dict[int, np.ndarray] = field(default_factory=dict)

    def check(self, answer: Answer) -> None:
        assert answer.status == 200, answer.error
        assert answer.version in self.expected, answer
        assert answer.body_version == answer.version
        assert answer.proba is not None
        np.testing.assert_allclose(
            np.array(answer.proba), self.expected[answer.version], rtol=1e-12, atol=0
        )


@pytest.fixture
def swap(registry: Registry, cancer_frame: pd.DataFrame, cancer_model: Pipeline) -> Swap:
    features = cancer_frame.drop(columns="target")
    registry.register(
        cancer_model, "cancer", train_data=cancer_frame, target="target", aliases=["production"]
    )
    other = make_pipeline(StandardScaler(), LogisticRegression(C=0.001, max_iter=1000))
    other.fit(features, cancer_frame.target)
    assert registry.register(other, "cancer", train_data=cancer_frame, target="target").version == 2
    rows = features.iloc[PROBE_ROWS]
    out = Swap([{str(k): float(v) for k, v in r.items()} for r in rows.to_dict("records")])
    for number in (1, 2):
        out.expected[number] = registry.load(f"cancer/{number}").predict_proba(out.probe)
    gap = np.abs(out.expected[1] - out.expected[2]).min()
    assert gap > 1e-3, "the two versions must answer the probe rows differently"
    return out


def ask(client: httpx.Client, probe: Sequence[dict[str, float]]) -> Answer:
    sent = time.monotonic()
    try:
        response = client.post("/models/cancer/predict", json={"records": list(probe)})
    except httpx.HTTPError as exc:
        return Answer(sent, time.monotonic(), 0, error=f"{type(exc).__name__}: {exc}")
    received = time.monotonic()
    if response.status_code != 200:
        return Answer(sent, received, response.status_code, error=response.text)
    body = response.json()
    header = response.headers.get("x-model-version")
    return Answer(
        sent,
        received,
        200,
        version=int(header) if header is not None else None,
        body_version=body.get("version"),
        proba=body.get("probabilities"),
    )


class Load:
    """Steady traffic: a few threads, each with its own client, posting without pause."""

    def __init__(self, url: str, probe: Sequence[dict[str, float]], threads: int) -> None:
        self.url = url
        self.probe = probe
        self.answers: list[Answer] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=15.0) as client:
            while not self._stop.is_set():
                answer = ask(client, self.probe)
                with self._lock:
                    self.answers.append(answer)

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def snapshot(self) -> list[Answer]:
        with self._lock:
            return list(self.answers)


@pytest.fixture
def moves(registry: Registry) -> list[Callable[[], int]]:
    """Alias moves made from the test process (another process than the server): each
    returns the version production then points at."""

    def set_to(number: int) -> Callable[[], int]:
        def move() -> int:
            return registry.set_alias("cancer", "production", number).to_version  # type: ignore[return-value]

        return move

    def roll_back() -> int:
        return registry.rollback("cancer").to_version  # type: ignore[return-value]

    return [set_to(2), set_to(1), set_to(2), roll_back, set_to(2), set_to(1)]


def test_alias_moves_under_load_give_no_errors_and_no_mixed_answers(
    start_server: Callable[..., LiveServer],
    swap: Swap,
    moves: list[Callable[[], int]],
    registry: Registry,
) -> None:
    server = start_server("--poll-interval", POLL)
    timeline: list[tuple[float, int]] = []  # (when the move was committed, new version)
    with Load(server.url, swap.probe, THREADS) as load:
        time.sleep(1.0)  # steady traffic on version 1 first
        timeline.append((0.0, 1))
        for move in moves:
            target = move()
            timeline.append((time.monotonic(), target))
            time.sleep(MOVE_EVERY)
    answers = load.snapshot()
    assert registry.resolve("cancer@production").version == timeline[-1][1] == 1
    assert [t for _, t in timeline] == [1, 2, 1, 2, 1, 2, 1]  # the rollback went 2 -> 1

    errors = [a for a in answers if a.status != 200]
    assert not errors, f"{len(errors)} of {len(answers)} requests failed, first: {errors[0]}"
    assert len(answers) > 200, "the load did not run"
    for answer in answers:
        swap.check(answer)  # version 1 or 2, and exactly that version's answer

    # within SETTLE seconds of each move, every request is answered by the new version
    for (moved, target), (next_move, _) in zip(
        timeline[1:], [*timeline[2:], (float("inf"), 0)], strict=True
    ):
        settled = [a for a in answers if moved + SETTLE <= a.sent < next_move]
        assert settled, "no traffic in the window after a move"
        stale = [a for a in settled if a.version != target]
        assert not stale, (
            f"{len(stale)} of {len(settled)} requests sent {SETTLE}s after moving to {target} "
            f"were answered by another version (first at +{stale[0].sent - moved:.2f}s)\n"
            + server.log()[-3000:]
        )
        swapped_at = min(a.sent for a in answers if a.sent >= moved and a.version == target)
        assert swapped_at - moved < SETTLE

    # and after the last move, answers come from the version it chose
    with httpx.Client(base_url=server.url, timeout=10.0) as client:
        for _ in range(20):
            answer = ask(client, swap.probe)
            swap.check(answer)
            assert answer.version == 1


def test_the_swap_reaches_every_worker(
    start_server: Callable[..., LiveServer], swap: Swap, registry: Registry
) -> None:
    server = start_server("--poll-interval", POLL, "--workers", "2")

    def fresh_answers(count: int) -> list[Answer]:
        """Each on a new connection (no keep-alive), so both workers get their share."""
        no_reuse = httpx.Limits(max_keepalive_connections=0)
        with httpx.Client(base_url=server.url, timeout=10.0, limits=no_reuse) as client:
            return [ask(client, swap.probe) for _ in range(count)]

    before = fresh_answers(30)
    for answer in before:
        swap.check(answer)
        assert answer.version == 1

    previous = 1
    for target in (2, 1, 2):
        said = f"cancer@production moved: now serving version {target} (was {previous})"
        before_move = server.log().count(said)
        registry.set_alias("cancer", "production", target)
        moved = time.monotonic()
        # each worker says when it swapped; answers alone cannot show that both have (the
        # kernel may hand every connection of a batch to the same worker)
        while server.log().count(said) < before_move + 2:
            for answer in fresh_answers(5):
                swap.check(answer)  # every answer is whole, from the old or the new version
            assert time.monotonic() - moved < 30.0, (
                f"not every worker swapped to {target} within 30 s\n" + server.log()[-3000:]
            )
            time.sleep(0.05)
        previous = target
        for answer in fresh_answers(60):
            swap.check(answer)
            assert answer.version == target

    metrics = httpx.get(f"{server.url}/metrics", timeout=10.0)
    assert metrics.status_code == 200
    assert "ferryman_requests_total" in metrics.text
    counted = [
        line
        for line in metrics.text.splitlines()
        if line.startswith("ferryman_requests_total{") and 'model="cancer"' in line
    ]
    assert any('version="1"' in line for line in counted), counted
    assert any('version="2"' in line for line in counted), counted
    total = sum(float(line.rsplit(" ", 1)[1]) for line in counted)
    assert total >= 30 + 3 * 60
