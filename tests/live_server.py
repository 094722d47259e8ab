"""Start ``ferryman serve`` as a real subprocess on a free 127.0.0.1 port, and stop it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx

FERRYMAN = Path(sys.executable).with_name("ferryman")


def cli_json(home: Path, *args: str) -> Any:
    """``ferryman --home HOME ARGS --json`` as a subprocess, insisting on exit 0: its JSON."""
    done = subprocess.run(
        [str(FERRYMAN), "--home", str(home), *args, "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    home: Path
    args: Sequence[str] = ()
    env: Mapping[str, str] = field(default_factory=dict)  # more environment for the server
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[str] | None = None
    log_path: Path | None = None
    _log: IO[str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 90.0) -> LiveServer:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FERRYMAN_")}
        env["FERRYMAN_HOME"] = str(self.home)
        env.update(self.env)
        self.log_path = self.home.parent / f"server-{self.port}.log"
        self._log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [str(FERRYMAN), "serve", "--port", str(self.port), *self.args],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.stop()  # closes the log file
                raise RuntimeError(f"server exited with {self.process.returncode}:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/v2/health/ready", timeout=2.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"server not ready after {timeout}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path and self.log_path.exists() else ""

    def stop(self) -> int | None:
        """SIGTERM, then wait. uvicorn finishes the requests in flight and re-raises the
        signal, so a clean stop exits with -SIGTERM and logs 'Application shutdown complete'."""
        if self._log is not None:
            self._log.close()
            self._log = None
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode
