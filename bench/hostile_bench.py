"""Hostile bodies (issue 16): how fast a real server refuses them, and whether it keeps
answering its health check meanwhile.

Workload: make_classification(2000, 20, random_state=0), columns f0..f19, a
LogisticRegression; one ``ferryman serve`` worker. Each hostile body is sent five times while
a second client asks ``GET /v2/health/live`` every 10 ms; printed are the median time to the
refusal, the refusal's size, and the slowest health answer during the hostile requests.

    .venv/bin/python bench/hostile_bench.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from statistics import median

import httpx
import pandas as pd
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

from ferryman.config import Settings
from ferryman.registry import Registry

VENV_BIN = Path(sys.executable).parent
COLUMNS = [f"f{i}" for i in range(20)]
REFUSE_TARGET_MS = 100.0
HEALTH_TARGET_MS = 50.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wide_record(size: int) -> bytes:
    """One record of known columns and as many unknown ones as fill ``size`` bytes."""
    record: dict[str, float] = dict.fromkeys(COLUMNS, 0.5)
    i = 0
    text = json.dumps(record)
    while len(text) < size:
        batch = {f"unknown_column_{i + k}": 1 for k in range(1000)}
        record.update(batch)
        i += 1000
        text = json.dumps(record)
    return text.encode()


def bad_rows(size: int) -> bytes:
    """As many records as fill ``size`` bytes, each with a text where a number belongs."""
    row = {**dict.fromkeys(COLUMNS, 0.5), "f3": "not a number"}
    one = len(json.dumps(row)) + 2
    return json.dumps({"records": [row] * (size // one)}).encode()


def v2_bad_range(size: int) -> bytes:
    """A V2 tensor of INT8 values, all out of range."""
    count = size // 5
    rows = count // len(COLUMNS)
    tensor = {"name": "x", "datatype": "INT8", "shape": [rows, len(COLUMNS)]}
    tensor["data"] = [1000] * (rows * len(COLUMNS))
    return json.dumps({"inputs": [tensor]}).encode()


class HealthWatch:
    """Asks /v2/health/live every 10 ms in a thread; keeps the slowest answer per phase."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.slowest = 0.0
        self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> HealthWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        with httpx.Client(timeout=10) as client:
            while not self._stop.is_set():
                started = time.perf_counter()
                try:
                    client.get(f"{self.url}/v2/health/live")
                except httpx.HTTPError:
                    self.failures += 1
                self.slowest = max(self.slowest, time.perf_counter() - started)
                time.sleep(0.01)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "store"
        x, y = make_classification(2000, 20, random_state=0)
        frame = pd.DataFrame(x, columns=COLUMNS).assign(target=y)
        registry = Registry(Settings.load(home=home, actor="bench", record_git=False))
        model = LogisticRegression(max_iter=1000).fit(frame[COLUMNS], y)
        registry.register(model, "a", train_data=frame, target="target", aliases=["production"])
        registry.close()
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("FERRYMAN_")}
        env["FERRYMAN_HOME"] = str(home)
        server = subprocess.Popen(
            [str(VENV_BIN / "ferryman"), "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_ready(url)
            cases: list[tuple[str, str, Callable[[int], bytes]]] = [
                (
                    "20,000+ unknown columns (250 KB)",
                    "/models/a/predict",
                    lambda _: wide_record(250_000),
                ),
                ("unknown columns, 1 MB", "/models/a/predict", wide_record),
                ("a bad value in every row, 1 MB", "/models/a/predict", bad_rows),
                ("V2 INT8 out of range, 1 MB", "/v2/models/a/infer", v2_bad_range),
            ]
            print(f"{'hostile body':36} {'status':>6} {'refused ms':>10} {'target':>7} "
                  f"{'answer KB':>9} {'health max ms':>13} {'target':>7}")  # fmt: skip
            for label, path, make in cases:
                body = make(1_000_000)
                times: list[float] = []
                with httpx.Client(base_url=url, timeout=120) as client, HealthWatch(url) as watch:
                    client.get("/v2/health/live")
                    for _ in range(args.repeat):
                        started = time.perf_counter()
                        answer = client.post(
                            path, content=body, headers={"content-type": "application/json"}
                        )
                        times.append(time.perf_counter() - started)
                refused = median(times) * 1000
                print(
                    f"{label:36} {answer.status_code:>6} {refused:>10.1f} "
                    f"{REFUSE_TARGET_MS:>7.0f} {len(answer.content) / 1024:>9.1f} "
                    f"{watch.slowest * 1000:>13.1f} {HEALTH_TARGET_MS:>7.0f}"
                )
        finally:
            server.terminate()
            server.wait(30)


def wait_ready(url: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/v2/health/ready", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"server at {url} not ready after {timeout}s")


if __name__ == "__main__":
    main()
