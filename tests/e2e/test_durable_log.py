"""A real server killed with SIGKILL under load: in durable mode every answered request is in
the prediction log after the restart, once; by default the loss stays within the flush
interval."""

from __future__ import annotations

import re
import signal
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pandas as pd

from ferryman.monitoring.log.reader import LogReader
from live_server import LiveServer


def load_until_killed(
    server: LiveServer,
    row: dict[str, float],
    seconds: float,
    clients: int = 8,
    at_least: int = 200,
) -> dict[str, float]:
    """Send predictions from ``clients`` threads for ``seconds`` (longer, up to 30 s, until
    ``at_least`` are answered: a loaded machine answers fewer), then SIGKILL the server while
    they still send; return the answered request ids with the time of their answer."""
    answered: dict[str, float] = {}
    stop = threading.Event()

    def send(worker: int) -> None:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            n = 0
            while not stop.is_set():
                rid = f"w{worker}-{n}"
                n += 1
                try:
                    answer = client.post(
                        "/models/cancer/predict", json=row, headers={"x-request-id": rid}
                    )
                except httpx.HTTPError:
                    return  # the server is gone
                if answer.status_code == 200:
                    answered[rid] = time.monotonic()

    threads = [threading.Thread(target=send, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    deadline = time.monotonic() + 30
    while len(answered) < at_least and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.process is not None
    server.process.send_signal(signal.SIGKILL)
    killed = time.monotonic()
    server.process.wait(10)
    stop.set()
    for thread in threads:
        thread.join(15)
    return {rid: killed - at for rid, at in answered.items()}  # seconds before the kill


def logged_ids(home: Path) -> list[str]:
    reader = LogReader(str(home / "monitoring"))
    try:
        now = datetime.now(UTC)
        frame = reader.read_window(
            "cancer", now - timedelta(hours=1), now + timedelta(hours=1), columns=["request_id"]
        )
    finally:
        reader.close()
    return list(frame["request_id"])


def run_killed(
    home: Path, row: dict[str, float], args: Sequence[str], flush: str
) -> tuple[dict[str, float], list[str], str]:
    env = {"FERRYMAN_MONITORING__FLUSH_SECONDS": flush}
    server = LiveServer(home, args, env).start()
    try:
        answered = load_until_killed(server, row, seconds=1.5)
    finally:
        server.stop()
    again = LiveServer(home, args, env).start()  # replays the journal (durable mode)
    said = again.log()
    assert again.stop() is not None  # a clean stop writes what is pending
    return answered, logged_ids(home), said + again.log()


def run_durable_killed(
    home: Path, row: dict[str, float], flush: str
) -> tuple[dict[str, float], str]:
    """``run_killed`` in durable mode, checking that every answer is logged once and that
    the journal is gone; the answers and what the servers said."""
    answered, logged, said = run_killed(home, row, ["--durable-log"], flush)
    assert len(answered) > 50, len(answered)
    assert set(answered) <= set(logged), sorted(set(answered) - set(logged))[:5]
    assert len(logged) == len(set(logged))  # no row twice
    assert not list((home / "monitoring" / "journal").glob("*.journal"))
    return answered, said


def test_durable_mode_keeps_every_answer_of_a_killed_server_exactly_once(
    home: Path, cancer_served: Sequence[int], cancer_frame: pd.DataFrame
) -> None:
    row = cancer_frame.drop(columns="target").iloc[0].to_dict()
    # the writer never flushes before the kill: every row comes back from the journal
    _, said = run_durable_killed(home, row, flush="60")
    assert "replayed" in said


def test_durable_mode_keeps_every_answer_of_a_server_killed_between_flushes(
    home: Path, cancer_served: Sequence[int], cancer_frame: pd.DataFrame
) -> None:
    row = cancer_frame.drop(columns="target").iloc[0].to_dict()
    # the writer flushes several times before the kill: some rows come from segments (their
    # journal generations released), the rest from the journal, none from both
    answered, said = run_durable_killed(home, row, flush="0.3")
    replayed = re.search(r"replayed (\d+) logged rows", said)
    assert int(replayed.group(1) if replayed else 0) < len(answered)  # flushed before the kill


def test_by_default_a_killed_server_loses_at_most_its_flush_interval(
    home: Path, cancer_served: Sequence[int], cancer_frame: pd.DataFrame
) -> None:
    row = cancer_frame.drop(columns="target").iloc[0].to_dict()
    answered, logged, _ = run_killed(home, row, [], flush="0.3")
    assert len(answered) > 50, len(answered)
    missing = set(answered) - set(logged)
    # lost: only answers of the last flush interval (plus the time a write takes)
    assert all(answered[rid] < 0.3 + 0.7 for rid in missing), sorted(
        answered[rid] for rid in missing
    )[-5:]
    assert len(logged) == len(set(logged))
