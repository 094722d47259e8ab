"""The README's main job, run as a new user would: the example script, then the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from live_server import LiveServer

ROOT = Path(__file__).resolve().parents[2]
FERRYMAN = Path(sys.executable).with_name("ferryman")


def _run(args: list[str], home: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FERRYMAN_")}
    env["FERRYMAN_HOME"] = str(home)
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=180, check=False
    )


def test_example_registers_promotes_rolls_back_and_predicts(tmp_path: Path) -> None:
    home = tmp_path / "store"
    trained = _run([sys.executable, str(ROOT / "examples/breast_cancer/train.py")], home, tmp_path)
    assert trained.returncode == 0, trained.stderr
    assert "registered breast-cancer/1" in trained.stdout
    assert "rolled back production" in trained.stdout

    listed = _run([str(FERRYMAN), "versions", "list", "breast-cancer", "--json"], home, tmp_path)
    assert listed.returncode == 0, listed.stderr
    versions = json.loads(listed.stdout)["versions"]
    assert [v["version"] for v in versions] == [2, 1]
    best = max(versions, key=lambda v: v["metrics"]["roc_auc"])
    assert best["aliases"] == ["production"]  # promoted, moved away, rolled back
    assert all(v["signature"]["columns"][0]["name"] == "mean radius" for v in versions)

    history = _run([str(FERRYMAN), "history", "breast-cancer", "--json"], home, tmp_path)
    kinds = [e["kind"] for e in json.loads(history.stdout)["events"]]
    assert kinds[:3] == ["alias.rollback", "alias.set", "alias.set"]

    out = tmp_path / "predictions.csv"
    predicted = _run(
        [
            str(FERRYMAN),
            "predict",
            "breast-cancer",
            "--input",
            str(home / "new_patients.csv"),
            "--output",
            str(out),
        ],
        home,
        tmp_path,
    )
    assert predicted.returncode == 0, predicted.stderr
    lines = out.read_text().splitlines()
    assert lines[0] == "prediction,proba_0,proba_1"
    assert len(lines) == 21

    # the demo ends by serving production and calling it once per protocol
    server = LiveServer(home, ["--log-level", "warning"]).start()
    try:
        called = _run(
            [sys.executable, str(ROOT / "examples/breast_cancer/call_server.py"), "--port",
             str(server.port)],
            home,
            tmp_path,
        )  # fmt: skip
    finally:
        server.stop()
    assert called.returncode == 0, called.stderr
    answers = [line for line in called.stdout.splitlines() if line[:4] in ("200 ", "422 ")]
    assert [a[:3] for a in answers] == ["200", "200", "422", "200", "200"]
    assert '"accepted":2' in answers[1]  # the ground truth for the first two predictions
    assert '"model_name":"breast-cancer"' in called.stdout
    assert 'ferryman_requests_total{endpoint="v2_infer",model="breast-cancer"' in called.stdout
    # every curl line it prints with a body names the body's type (curl -d alone sends a form)
    sent = [line for line in called.stdout.splitlines() if line.startswith("$ curl")]
    with_body = [line for line in sent if " -d " in line or "--data-binary" in line]
    assert len(with_body) == 5
    assert all(" -H 'Content-Type: " in line for line in with_body), with_body
