"""Serving benchmark (issue 3): ferryman against a bare endpoint, measured side by side.

Workload: make_classification(20000, 20, n_informative=10, random_state=0), columns f0..f19;
model A LogisticRegression(max_iter=1000), model B RandomForestClassifier(100, max_depth=10).
Load: wrk (Debian package ``wrk``), single-row JSON, concurrency 16, one worker each.

    .venv/bin/python bench/serving_bench.py [--duration 10] [--skip-rf]
    .venv/bin/python bench/serving_bench.py --durable [--rounds 3]   # the durable log's cost
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median
from typing import Any

import httpx
import numpy as np
import pandas as pd
import psutil
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

from ferryman.config import Settings
from ferryman.registry import Registry

HERE = Path(__file__).parent
VENV_BIN = Path(sys.executable).parent
LUA = """wrk.method = "POST"
wrk.body = '{body}'
wrk.headers["Content-Type"] = "application/json"
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url} not ready after {timeout}s")


def wrk(
    url: str,
    body: str,
    duration: int,
    connections: int = 16,
    cpu: int | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, float]:
    """wrk's figures for ``duration`` seconds of load (on CPU ``cpu`` only, if given), each
    request with ``headers`` too."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA.format(body=body))
    try:
        out = subprocess.run(
            [*pinned(cpu), "wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "-s",
             script.name, *[f"-H{k}: {v}" for k, v in (headers or {}).items()], url],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    finally:
        os.unlink(script.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    done = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    p50 = _latency(out, "50%")
    p99 = _latency(out, "99%")
    return {
        "rps": rps,
        "requests": float(done),
        "p50_ms": p50,
        "p99_ms": p99,
        "non2xx": float(errors.group(1)) if errors else 0,
    }


def _latency(out: str, label: str) -> float:
    match = re.search(rf"{re.escape(label)}\s+([\d.]+)(us|ms|s)\b", out)
    assert match, out
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def pinned(cpu: int | None) -> list[str]:
    """The command prefix that runs a program on CPU ``cpu`` only (none if None)."""
    return ["taskset", "-c", str(cpu)] if cpu is not None else []


def start(cmd: list[str], env: dict[str, str], ready: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(ready)
    except BaseException:
        stop(proc)
        raise
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop a server: SIGTERM, and SIGKILL if it has not exited within 30 s."""
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=7, help="rounds of --monitoring-only")
    parser.add_argument("--skip-rf", action="store_true")
    parser.add_argument(
        "--epochs", type=int, default=1, help="--monitoring-only: fresh servers this many times"
    )
    parser.add_argument(
        "--pin",
        action="store_true",
        help="--monitoring-only: servers on CPU 0, wrk on CPU 1 (the log's writer thread then "
        "takes its CPU from serving, as when every core serves)",
    )
    parser.add_argument("--cold-start-only", action="store_true")
    parser.add_argument(
        "--monitoring-only",
        action="store_true",
        help="only model A with the prediction log on and off, alternated (issue 4's target)",
    )
    parser.add_argument(
        "--durable",
        action="store_true",
        help="only model A with the default and the durable prediction log, alternated",
    )
    args = parser.parse_args()

    X, y = make_classification(n_samples=20000, n_features=20, n_informative=10, random_state=0)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(20)])
    frame["target"] = y
    work = Path(tempfile.mkdtemp(prefix="ferryman-serving-bench-"))
    home = work / "home"
    env = {**os.environ, "FERRYMAN_HOME": str(home), "FERRYMAN_RECORD_GIT": "false"}
    reg = Registry(Settings.load(home=home, record_git=False))
    models = {
        "model-a": LogisticRegression(max_iter=1000),
        "model-b": RandomForestClassifier(n_estimators=100, max_depth=10, random_state=0),
    }
    for name, model in models.items():
        model.fit(frame.drop(columns="target"), y)
        reg.register(model, name, train_data=frame, target="target", aliases=["production"])
        bare = type(model)(**model.get_params()).fit(X, y)  # same model, fitted on the array
        (work / f"{name}.pkl").write_bytes(pickle.dumps(bare))
    reg.close()
    body = json.dumps({"records": [frame.drop(columns="target").iloc[7].to_dict()]})
    results: dict[str, dict[str, float]] = {}

    def bare(name: str) -> dict[str, float]:
        port = free_port()
        proc = start(
            [sys.executable, str(HERE / "_bare_server.py"), str(work / f"{name}.pkl"), str(port)],
            env,
            f"http://127.0.0.1:{port}/ping",
        )
        try:
            return wrk(f"http://127.0.0.1:{port}/predict", body, args.duration)
        finally:
            stop(proc)

    def serve(name: str, *flags: str, monitoring: bool = True, cpu: int | None = None) -> Served:
        port = free_port()
        run_env = {
            **env,
            "FERRYMAN_MONITORING__ENABLED": "true" if monitoring else "false",
            # the scheduled pass (drift, KPIs, merging the log's segments) is measured apart
            # (drift_bench.py, monitoring_overhead.py); here only the request path and the log
            "FERRYMAN_MONITORING__SCHEDULE_SECONDS": "86400",
        }
        cmd = [*pinned(cpu), str(VENV_BIN / "ferryman"), "serve", "--port", str(port),
               "--models", name, "--log-level", "warning", *flags]  # fmt: skip
        proc = start(cmd, run_env, f"http://127.0.0.1:{port}/v2/health/ready")
        return Served(proc, f"http://127.0.0.1:{port}/models/{name}/predict", cpu)

    def ours(name: str, *flags: str, monitoring: bool = True) -> dict[str, float]:
        served = serve(name, *flags, monitoring=monitoring)
        try:
            return served.load(body, args.duration)
        finally:
            stop(served.proc)

    if args.cold_start_only:
        cold_start(env, work)
        shutil.rmtree(work, ignore_errors=True)
        return
    if args.monitoring_only:
        monitoring_overhead(
            serve, body, args.duration, args.rounds, pin=args.pin, epochs=args.epochs
        )
        shutil.rmtree(work, ignore_errors=True)
        return
    if args.durable:
        durable_cost(serve, body, args.duration, args.rounds)
        shutil.rmtree(work, ignore_errors=True)
        return
    results["bare A"] = bare("model-a")
    results["ferryman A"] = ours("model-a")
    results["ferryman A, monitoring off"] = ours("model-a", monitoring=False)
    results["ferryman A, batching off"] = ours("model-a", "--no-batching")
    if not args.skip_rf:
        results["bare B"] = bare("model-b")
        results["ferryman B"] = ours("model-b")
        results["ferryman B, batching off"] = ours("model-b", "--no-batching")

    print(f"\n{'setup':28} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}")
    for label, r in results.items():
        print(
            f"{label:28} {r['rps']:9.0f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} {r['non2xx']:8.0f}"
        )
    a, bare_a = results["ferryman A"], results["bare A"]
    print("\nratios (targets from issue 3)")
    print(f"  A throughput ferryman / bare      {a['rps'] / bare_a['rps']:.2f}x  (target >= 0.8)")
    print(
        f"  A p99 latency ferryman / bare     {a['p99_ms'] / bare_a['p99_ms']:.2f}x"
        "  (target <= 1.5)"
    )
    logged = a["rps"] / results["ferryman A, monitoring off"]["rps"]
    print(f"  A throughput monitoring on / off  {logged:.2f}x  (target >= 0.95, issue 4)")
    if not args.skip_rf:
        b, off = results["ferryman B"], results["ferryman B, batching off"]
        print(f"  B throughput batching on / off    {b['rps'] / off['rps']:.2f}x  (target >= 2)")
        print(f"  B throughput ferryman / bare      {b['rps'] / results['bare B']['rps']:.2f}x")
    cold_start(env, work)
    shutil.rmtree(work, ignore_errors=True)


def durable_cost(serve: Any, body: str, duration: int, rounds: int) -> None:
    """Model A with the default log and with ``--durable-log`` (a journal fsynced before each
    model call's answers), alternated ``rounds`` times on fresh servers: medians and ratio."""
    figures: dict[str, list[dict[str, float]]] = {"default log": [], "durable log": []}
    for _ in range(rounds):
        for label, flags in (("default log", ()), ("durable log", ("--durable-log",))):
            served = serve("model-a", *flags)
            try:
                figures[label].append(served.load(body, duration))
            finally:
                stop(served.proc)
    print(f"\nmodel A, single row, c=16, {rounds} alternated rounds of {duration} s (medians)")
    print(f"{'setup':14} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}")
    medians = {}
    for label, runs in figures.items():
        m = {key: median(r[key] for r in runs) for key in ("rps", "p50_ms", "p99_ms", "non2xx")}
        medians[label] = m
        print(
            f"{label:14} {m['rps']:9.0f} {m['p50_ms']:8.2f} {m['p99_ms']:8.2f} {m['non2xx']:8.0f}"
        )
    ratio = medians["durable log"]["rps"] / medians["default log"]["rps"]
    print(f"\nthroughput durable / default  {ratio:.2f}x")


class Served:
    """A running ``ferryman serve`` and its predict URL."""

    def __init__(self, proc: subprocess.Popen[bytes], url: str, cpu: int | None = None) -> None:
        self.proc = proc
        self.url = url
        self.process = psutil.Process(proc.pid)
        # pinned to one CPU: wrk gets the other one (the server's threads share its CPU)
        self.wrk_cpu = None if cpu is None else 1 - cpu

    def cpu(self) -> float:
        """CPU seconds the server (every thread) has used so far."""
        return sum(self.process.cpu_times()[:2])

    def load(self, body: str, duration: int, settle: float = 0.0) -> dict[str, float]:
        """wrk against the server, with its CPU per answered request (unlike req/s, barely
        moved by what else the shared machine is doing). ``settle``: seconds to wait after the
        run before reading the CPU, so that the log's writer has written what the run queued
        (it flushes every 2 s) and its work counts here, not during the next run."""
        before = self.cpu()
        result = wrk(self.url, body, duration, cpu=self.wrk_cpu)
        time.sleep(settle)
        result["cpu_us"] = (self.cpu() - before) / result["requests"] * 1e6
        return result


def monitoring_overhead(
    serve: Any, body: str, duration: int, rounds: int = 7, pin: bool = False, epochs: int = 1
) -> None:
    """Model A with every prediction logged (sampling 1.0) against the log turned off, and a
    control: a second, identical off server. The control's ratio to the first off server
    would be 1.000 on a quiet machine; how far it strays is how far this machine lets two
    identical servers differ. The three servers run side by side (idle but for their turn),
    and each round loads each of them for ``duration`` seconds in a rotated order: short
    turns close together, so that the machine's drifting load hits all three alike. Two
    identical server processes can differ by several percent for their whole life (seen
    here: 8%), so ``epochs`` starts fresh servers that many times, ``rounds`` each."""
    names = ("on", "off", "off again")
    cpu = 0 if pin else None
    rps: dict[str, list[float]] = {name: [] for name in names}
    used: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(epochs):
        servers: dict[str, Served] = {}
        try:
            for name in names:
                servers[name] = serve("model-a", monitoring=name == "on", cpu=cpu)
            for server in servers.values():  # warm-up: first answers, the log's first write
                server.load(body, 2, settle=2.5)
            for round_ in range(rounds):
                for i in range(3):
                    name = names[(round_ + i) % 3]
                    result = servers[name].load(body, duration, settle=2.5)
                    rps[name].append(result["rps"])
                    used[name].append(result["cpu_us"])
        finally:
            for server in servers.values():
                stop(server.proc)
    epoch_of = [round_ // rounds for round_ in range(rounds * epochs)]
    print(
        f"\nmodel A, 3 servers side by side{', pinned to CPU 0 (wrk on 1)' if pin else ''}, "
        f"{epochs} x {rounds} rounds of {duration}s turns, each round on / off / "
        "off again, rotated"
    )
    for name in names:
        print(f"  req/s {name:9}  median {median(rps[name]):7.0f}   ({min(rps[name]):.0f}-"
              f"{max(rps[name]):.0f})")  # fmt: skip
    for name in names:
        print(
            f"  CPU us/request {name:9}  median {median(used[name]):6.1f}   "
            f"({min(used[name]):.1f}-{max(used[name]):.1f})"
        )
    for name in ("on", "off again"):
        paired = [a / b for a, b in zip(rps[name], rps["off"], strict=True)]
        low, high = median_interval(paired, epoch_of)
        label = "monitoring on / off" if name == "on" else "control: off again / off"
        print(
            f"  {label:26} median of round ratios {median(paired):.3f}x (90% bootstrap "
            f"interval {low:.3f}-{high:.3f}), ratio of medians "
            f"{median(rps[name]) / median(rps['off']):.3f}x, server CPU per request "
            f"{median(used['off']) / median(used[name]):.3f}x"
        )
    # each round's on turn against the mean of its two off turns: a steadier baseline
    pooled = [
        a / ((b + c) / 2) for a, b, c in zip(rps["on"], rps["off"], rps["off again"], strict=True)
    ]
    low, high = median_interval(pooled, epoch_of)
    print(
        f"  on / mean of both off servers, median of round ratios {median(pooled):.3f}x "
        f"(90% bootstrap interval {low:.3f}-{high:.3f})"
    )
    print(
        "  target: monitoring on / off >= 0.95 (issue 4); the control shows how much of the "
        "difference this machine's noise alone makes"
    )


def median_interval(
    values: list[float], groups: list[int], draws: int = 10_000
) -> tuple[float, float]:
    """The 5th and 95th percentiles of the median of ``values`` resampled in two stages:
    the groups (epochs: their rounds share server processes, so they are not independent)
    with replacement, then the values within each drawn group. Seeded, so a run's figures can
    be printed again."""
    rng = np.random.default_rng(0)
    by_group = [np.asarray([v for v, g in zip(values, groups, strict=True) if g == k])
                for k in sorted(set(groups))]  # fmt: skip
    medians = np.empty(draws)
    for d in range(draws):
        drawn = rng.integers(len(by_group), size=len(by_group))
        medians[d] = np.median(
            np.concatenate([rng.choice(by_group[k], len(by_group[k])) for k in drawn])
        )
    low, high = np.quantile(medians, [0.05, 0.95])
    return float(low), float(high)


def launch(cmd: list[str], env: dict[str, str], url: str, body: object) -> tuple[float, float]:
    """Seconds from launch to the first successful answer, and MiB resident 2 s later."""
    began = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                if httpx.post(url, json=body, timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.02)
            if time.perf_counter() - began > 60:
                raise RuntimeError(f"{cmd[0]} never answered")
        first = time.perf_counter() - began
        time.sleep(2.0)
        rss = psutil.Process(proc.pid).memory_info().rss / 2**20
    finally:
        stop(proc)
    return first, rss


def cold_start(env: dict[str, str], work: Path, repeat: int = 3) -> None:
    """Launch to first successful answer and idle memory of a server with one small model,
    ferryman and the bare floor alternately (best of ``repeat``)."""
    body = {"records": [{f"f{i}": 0.1 for i in range(20)}]}
    ours: list[tuple[float, float]] = []
    unmonitored: list[tuple[float, float]] = []
    bare: list[tuple[float, float]] = []
    quiet = {**env, "FERRYMAN_MONITORING__ENABLED": "false"}
    for _ in range(repeat):
        for runs, run_env in ((ours, env), (unmonitored, quiet)):
            port = free_port()
            cmd = [str(VENV_BIN / "ferryman"), "serve", "--port", str(port), "--models",
                   "model-a", "--log-level", "warning"]  # fmt: skip
            url = f"http://127.0.0.1:{port}/models/model-a/predict"
            runs.append(launch(cmd, run_env, url, body))
        port = free_port()
        cmd = [sys.executable, str(HERE / "_bare_server.py"), str(work / "model-a.pkl"), str(port)]
        bare.append(launch(cmd, env, f"http://127.0.0.1:{port}/predict", body))
    first, rss = min(ours)
    bare_first, bare_rss = min(bare)
    print(f"  launch to first answer            {first:.2f} s   (target < 3 s; "
          f"bare floor {bare_first:.2f} s, {first / bare_first:.2f}x)")  # fmt: skip
    print(f"  idle resident memory              {rss:.0f} MiB (target < 250 MiB; "
          f"bare floor {bare_rss:.0f} MiB)")  # fmt: skip
    off_first, off_rss = min(unmonitored)
    print(f"  same with monitoring off          {off_first:.2f} s, {off_rss:.0f} MiB")


if __name__ == "__main__":
    main()
