"""A real server killed with SIGKILL under load: in durable mode every answered request is in
the prediction log after the restart, once; by default the loss stays within the flush
interval."""

from __future__ import annotations

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
    server: LiveServer, row: dict[str, float], seconds: float, clients: int = 8
) -> dict[str, float]:
    """Send predictions from ``clients`` threads for ``seconds``, then SIGKILL the server
    while they still send; return the answered request ids with the time of their answer."""
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


def test_durable_mode_keeps_every_answer_of_a_killed_server_exactly_once(
    home: Path, cancer_served: Sequence[int], cancer_frame: pd.DataFrame
) -> None:
    row = cancer_frame.drop(columns="target").iloc[0].to_dict()
    # the writer never flushes before the kill: every row comes back from the journal
    answered, logged, said = run_killed(home, row, ["--durable-log"], flush="60")
    assert len(answered) > 50, len(answered)
    assert set(answered) <= set(logged), sorted(set(answered) - set(logged))[:5]
    assert len(logged) == len(set(logged))  # no row twice
    assert "replayed" in said
    assert not list((home / "monitoring" / "journal").glob("*.journal"))


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
