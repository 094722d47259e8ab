"""Issue 23's performance targets: what the tolerance probe and its checks cost model A.

1. Registration: model A registered with the probe (the default) and without it (every
   policy given with ``tolerate``, so nothing is left to try), alternated; the probe's added
   milliseconds and the ratio. Target: under 100 ms added.
2. Serving: model A's single-row throughput under this code and under the commit before the
   issue (``--base``, default 59bda9e, unpacked with ``git archive`` and run with the same
   virtualenv through PYTHONPATH), two servers side by side, loaded in turns by wrk (Debian
   package ``wrk``) in alternating order. Target: at least 0.97x.

    .venv/bin/python bench/tolerance_bench.py [--duration 5] [--rounds 8] [--registrations 15]
        [--registration-only]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

import pandas as pd
import skops.io
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

from ferryman.config import Settings
from ferryman.registry import Registry
from serving_bench import Served, free_port, start, stop

HERE = Path(__file__).parent
REPO = HERE.parent
VENV_BIN = Path(sys.executable).parent
NO_PROBE = {"*": {"unknown_categories": "refuse", "unseen_nulls": "refuse"}}


def model_a() -> tuple[pd.DataFrame, LogisticRegression]:
    X, y = make_classification(n_samples=20000, n_features=20, n_informative=10, random_state=0)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(20)])
    frame["target"] = y
    return frame, LogisticRegression(max_iter=1000).fit(frame.drop(columns="target"), y)


def registration(reg: Registry, frame: pd.DataFrame, model: LogisticRegression, n: int) -> None:
    took: dict[str, list[float]] = {"probe": [], "no probe": []}
    for i in range(n + 1):
        for label in ("probe", "no probe") if i % 2 else ("no probe", "probe"):
            options = {"tolerate": NO_PROBE} if label == "no probe" else {}
            began = time.perf_counter()
            reg.register(model, "model-a", train_data=frame, target="target", **options)
            if i:  # the first pair warms imports and caches
                took[label].append((time.perf_counter() - began) * 1000)
    probe, plain = median(took["probe"]), median(took["no probe"])
    print(f"\nregister model A (20,000 x 21 training rows), median of {n} alternated each way")
    print(f"  with the probe        {probe:8.1f} ms")
    print(f"  without (tolerate=*)  {plain:8.1f} ms")
    print(
        f"  probe adds            {probe - plain:8.1f} ms  ({probe / plain:.3f}x; target < 100 ms)"
    )


def throughput(work: Path, model_file: Path, data: Path, base_src: Path, duration: int,
               rounds: int) -> None:  # fmt: skip
    body = json.dumps({"records": [{f"f{i}": 0.1 * i for i in range(20)}]})
    env = {
        **os.environ,
        "FERRYMAN_RECORD_GIT": "false",
        "FERRYMAN_MONITORING__SCHEDULE_SECONDS": "86400",
    }
    trees = {
        "base": {**env, "PYTHONPATH": str(base_src), "FERRYMAN_HOME": str(work / "base")},
        "new": {**env, "FERRYMAN_HOME": str(work / "new")},
    }
    for run_env in trees.values():  # each code registers model A in a store of its own
        subprocess.run(
            [str(VENV_BIN / "ferryman"), "register", str(model_file), "--name", "model-a",
             "--train-data", str(data), "--target", "target", "--alias", "production"],
            env=run_env, check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
    servers: dict[str, Served] = {}
    rps: dict[str, list[float]] = {name: [] for name in trees}
    try:
        for name, run_env in trees.items():
            port = free_port()
            cmd = [str(VENV_BIN / "ferryman"), "serve", "--port", str(port), "--models",
                   "model-a", "--log-level", "warning"]  # fmt: skip
            proc = start(cmd, run_env, f"http://127.0.0.1:{port}/v2/health/ready")
            servers[name] = Served(proc, f"http://127.0.0.1:{port}/models/model-a/predict")
        for server in servers.values():
            server.load(body, 2)  # warm-up
        for round_ in range(rounds):
            order = list(trees) if round_ % 2 == 0 else list(reversed(trees))
            for name in order:
                result = servers[name].load(body, duration)
                assert result["non2xx"] == 0, result
                rps[name].append(result["rps"])
    finally:
        for server in servers.values():
            stop(server.proc)
    print(f"\nmodel A single-row predict, 2 servers side by side, {rounds} rounds of {duration}s")
    for name in trees:
        print(f"  {name:5} req/s median {median(rps[name]):7.0f}  ({min(rps[name]):.0f}-"
              f"{max(rps[name]):.0f})")  # fmt: skip
    paired = [n / b for n, b in zip(rps["new"], rps["base"], strict=True)]
    print(
        f"  new / base: median of round ratios {median(paired):.3f}x, ratio of medians "
        f"{median(rps['new']) / median(rps['base']):.3f}x  (target >= 0.97)"
    )


def unpack(commit: str, into: Path) -> Path:
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", commit, "src"], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into / "src"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", default="59bda9e", help="the commit to compare with")
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--registrations", type=int, default=15)
    parser.add_argument("--registration-only", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ferryman-tolerance-bench-"))
    try:
        frame, model = model_a()
        reg = Registry(Settings.load(home=work / "home", record_git=False))
        registration(reg, frame, model, args.registrations)
        reg.close()
        if not args.registration_only:
            model_file, data = work / "model-a.skops", work / "model-a.parquet"
            skops.io.dump(model, model_file)
            frame.to_parquet(data)
            base = unpack(args.base, work)
            throughput(work, model_file, data, base, args.duration, args.rounds)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
