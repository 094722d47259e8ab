"""``ferryman serve`` says "serving" only once it serves, and refuses what would stop it first."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

from ferryman.config import Settings
from ferryman.registry import Registry
from live_server import FERRYMAN, LiveServer, free_port


def serve(
    home: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FERRYMAN_")}
    clean.update({"FERRYMAN_HOME": str(home), **(env or {})})
    return subprocess.run(
        [str(FERRYMAN), "serve", *args],
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_busy_port_is_refused_in_one_line_before_models_load(
    home: Path, cancer_served: Sequence[int]
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = serve(home, "--port", str(port))
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    [line] = done.stderr.strip().splitlines()
    assert line.startswith(f"error: cannot listen on 127.0.0.1:{port}: ")
    assert "--port" in line
    assert "serving" not in done.stderr


def test_an_invalid_webhook_is_refused_before_serving(
    home: Path, cancer_served: Sequence[int]
) -> None:
    done = serve(
        home, "--port", str(free_port()), env={"FERRYMAN_MONITORING__WEBHOOKS": '["ftp://x"]'}
    )
    assert done.returncode == 1, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert "webhook URL 'ftp://x' is not an http or https URL" in line
    assert "serving" not in done.stderr


def test_serving_is_said_once_the_models_are_ready(
    start_server: Callable[..., LiveServer], cancer_served: Sequence[int]
) -> None:
    server = start_server("--log-level", "info")
    log = server.log()
    url = f"http://127.0.0.1:{server.port}"
    said = f"serving cancer (production) on {url}; docs at {url}/docs"
    assert said in log
    assert log.index("model(s) loaded and warmed") < log.index(said)
    assert log.count(said) == 1


def test_a_server_none_of_whose_models_can_load_exits_1_saying_so(
    home: Path, cancer_served: Sequence[int]
) -> None:
    registry = Registry(Settings.load(home=home))
    digest = registry.resolve("cancer/1").artifact_sha256
    registry.close()
    artifact = home / "artifacts" / "sha256" / digest[:2] / digest[2:]
    artifact.write_bytes(b"not the registered model")  # its hash no longer matches

    done = serve(home, "--port", str(free_port()), "--log-level", "error")

    assert done.returncode == 1, done.stderr
    why, said = done.stderr.strip().splitlines()
    assert why.startswith("ERROR:    cannot load cancer/1 (cancer@production): artifact ")
    assert said == (
        "error: none of the models with the 'production' alias could be loaded (cancer); "
        "the log above says why"
    )
