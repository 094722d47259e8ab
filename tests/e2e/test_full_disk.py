"""A full disk is reported as a full disk, and where, by the real CLI and server (see
``full_disk``: a filled tmpfs where a mount namespace can be made, else a file size limit)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import httpx
import pandas as pd
import skops.io
from sklearn.pipeline import Pipeline

from ferryman.config import Settings
from ferryman.registry import Registry
from full_disk import full_disk_said, mode, on_full_disk, run_on_full_disk
from live_server import FERRYMAN, cli_json, free_port

DAMAGED = "check that it is a ferryman database"


def clean_env(**more: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FERRYMAN_")}
    env.update(more)
    return env


def test_alias_set_on_a_full_disk_says_so_and_changes_nothing(
    home: Path, registry: Registry, cancer_served: Sequence[int]
) -> None:
    registry.close()
    done = run_on_full_disk(
        home, [str(FERRYMAN), "--home", str(home), "alias", "set", "cancer", "staging", "1"]
    )
    assert done.returncode == 1, done.stderr
    assert full_disk_said(done.stderr, home), done.stderr
    assert DAMAGED not in done.stderr
    assert "Traceback" not in done.stderr
    aliases = cli_json(home, "models", "show", "cancer")["aliases"]
    assert "staging" not in aliases


def test_serve_on_a_full_disk_refuses_to_start_saying_so(
    home: Path, registry: Registry, cancer_served: Sequence[int]
) -> None:
    registry.close()
    done = run_on_full_disk(
        home, [str(FERRYMAN), "--home", str(home), "serve", "--port", str(free_port())]
    )
    assert done.returncode == 1, done.stderr
    assert full_disk_said(done.stderr, home), done.stderr
    assert DAMAGED not in done.stderr
    assert "Traceback" not in done.stderr


def test_register_on_a_full_artifact_disk_says_so_and_registers_nothing(
    home: Path, tmp_path: Path, cancer_model: Pipeline
) -> None:
    model_file = tmp_path / "model.skops"
    skops.io.dump(cancer_model, model_file)
    artifacts = tmp_path / "artifacts"
    args = ["--home", str(home), "--artifact-root", str(artifacts)]
    done = run_on_full_disk(
        artifacts, [str(FERRYMAN), *args, "register", str(model_file), "--name", "full"]
    )
    assert done.returncode == 1, done.stderr
    if mode() == "mount":  # only the artifacts' disk is full
        assert "cannot write artifact" in done.stderr
        assert full_disk_said(done.stderr, artifacts), done.stderr
    else:  # the size limit holds for every file: the database's write may meet it first
        assert full_disk_said(done.stderr, tmp_path), done.stderr
    assert "Traceback" not in done.stderr
    registry = Registry(Settings.load(home=home, artifact_root=str(artifacts)))
    try:
        assert list(registry.list_models().items) == []
    finally:
        registry.close()


LOG_SCRIPT = """
import json, logging, sys
import numpy as np
from ferryman.core.predictions import PredictionBatch
from ferryman.monitoring.log.writer import PredictionLog
logging.basicConfig(stream=sys.stderr, level=logging.INFO)
log = PredictionLog(sys.argv[1], start=False, max_pending_rows=3000)
n = 2000
for _ in range(2):
    log.record_batch(PredictionBatch("m", 1, 1.7e9, ("a",), np.zeros((n, 1)), np.zeros(n), None,
        None, ("r",), (1.0,), ("simple",), (n,)))
stats = log.flush()
print(json.dumps({"pending": stats.pending, "dropped": stats.dropped,
                  "write_errors": stats.write_errors, "written": stats.written}))
"""


def test_the_prediction_log_on_a_full_disk_counts_keeps_and_drops_without_crashing(
    home: Path, registry: Registry, cancer_served: Sequence[int], cancer_frame: pd.DataFrame
) -> None:
    root = home.parent / "monitoring"
    if mode() == "rlimit":  # a server cannot start under a tiny file size limit: the log alone
        done = run_on_full_disk(root, [sys.executable, "-c", LOG_SCRIPT, str(root)])
        assert done.returncode == 0, done.stderr
        stats = json.loads(done.stdout)
        assert stats == {"pending": 2000, "dropped": 2000, "write_errors": 1, "written": 0}
        assert full_disk_said(done.stderr, root), done.stderr
        assert "Traceback" not in done.stderr
        return
    registry.close()
    port = free_port()
    log_path = home.parent / "server.log"
    env = clean_env(FERRYMAN_HOME=str(home), FERRYMAN_MONITORING__ROOT=str(root))
    env["FERRYMAN_MONITORING__FLUSH_SECONDS"] = "0.2"
    with log_path.open("w") as out:
        server = on_full_disk(
            root,
            [str(FERRYMAN), "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, server)
        row = cancer_frame.drop(columns="target").iloc[0].to_dict()
        for _ in range(20):
            answer = httpx.post(f"{url}/models/cancer/predict", json=row, timeout=10)
            assert answer.status_code == 200, answer.text
        deadline = time.monotonic() + 10
        while 'outcome="write_errors"} 0.0' in (metrics := httpx.get(f"{url}/metrics").text):
            assert time.monotonic() < deadline, metrics
            time.sleep(0.1)
        time.sleep(0.5)  # a few more failed flushes: said once
        assert 'outcome="logged"} 20.0' in metrics
        assert 'outcome="written"} 0.0' in metrics
        assert httpx.get(f"{url}/v2/health/ready").status_code == 200  # still serving
    finally:
        server.terminate()
        server.wait(30)
    said = log_path.read_text()
    assert "Traceback" not in said, said
    assert said.count("cannot write the prediction log under") == 1, said
    assert full_disk_said(said, root), said


def _wait_ready(url: str, server: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert server.poll() is None, "the server exited"
        try:
            if httpx.get(f"{url}/v2/health/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("the server did not start")
