"""Write the store, artifacts, prediction log and feedback that ``test_previous_release.py``
opens, with the ferryman of the commit this is run from (the previous release), and the
answers that ferryman gave about them (``expected.json``).

Run from the repository's root, with the previous release installed::

    python tests/compat/make_previous_release.py tests/compat/previous_release

The folder is committed: later code must open it unchanged. Everything here goes through
public entry points (the SDK, the ``ferryman`` command, the prediction log's public class),
so the script itself stays runnable while modules move.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression

FEATURES = ["mean radius", "mean texture", "mean smoothness", "worst area", "worst symmetry"]
FERRYMAN = Path(sys.executable).with_name("ferryman")


def frame() -> pd.DataFrame:
    data = load_breast_cancer(as_frame=True)
    table = data.frame[[*FEATURES, "target"]].copy()
    table["target"] = np.where(table["target"] == 1, "benign", "malignant")
    return table


def cli(home: Path, *args: str) -> Any:
    done = subprocess.run(
        [str(FERRYMAN), "--home", str(home), *args, "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"ferryman {' '.join(args)} failed: {done.stderr}")
    return json.loads(done.stdout)


def main(out: Path) -> None:
    if out.exists():
        shutil.rmtree(out)
    home = out / "home"
    os.environ["FERRYMAN_HOME"] = str(home)
    import ferryman
    from ferryman.config import Settings
    from ferryman.core.predictions import PredictionRecord, RejectionRecord
    from ferryman.monitoring import PredictionLog

    table = frame()
    train, held_out, live = table.iloc[:300], table.iloc[300:420], table.iloc[420:]
    model = LogisticRegression(max_iter=5000).fit(train[FEATURES], train["target"])
    ferryman.register(
        model,
        "tumours",
        train_data=train,
        target="target",
        validation_data=held_out,
        aliases=["production"],
        description="written by the previous release",
    )
    rows = live[FEATURES].to_numpy().copy()
    rows[len(rows) // 2 :, 0] += 6.0  # the second half drifts in its first feature
    labels, proba = model.predict(rows), model.predict_proba(rows)
    settings = Settings()
    with PredictionLog.from_settings(settings, start=False) as log:
        for i, row in enumerate(rows):
            log.record(
                PredictionRecord(
                    model="tumours",
                    version=1,
                    request_id=f"old-{i}",
                    at=time.time(),
                    latency_ms=2.0,
                    source="predict",
                    columns=tuple(FEATURES),
                    inputs=row.reshape(1, -1),
                    predictions=labels[i : i + 1],
                    probabilities=proba[i : i + 1],
                    classes=tuple(model.classes_),
                )
            )
        log.reject(
            RejectionRecord(
                "tumours", 1, "old-bad", time.time(), "predict", ((0, "mean radius", "null"),)
            )
        )
    truth = live["target"].to_numpy()
    feedback = pd.DataFrame(
        {"request_id": [f"old-{i}" for i in range(0, len(rows), 2)], "label": truth[::2]}
    )
    feedback_file = out / "feedback.csv"
    feedback.to_csv(feedback_file, index=False)
    inputs = out / "inputs.csv"
    live[FEATURES].iloc[:20].to_csv(inputs, index=False)
    window = ["--window", "3650d"]  # the log's rows are dated when this script ran
    expected = {
        "feedback": cli(home, "feedback", "tumours", str(feedback_file)),
        "run": cli(home, "monitor", "run", "tumours", *window),
        "drift": cli(home, "monitor", "drift", "tumours", *window),
        "performance": cli(home, "monitor", "performance", "tumours", *window),
        "quality": cli(home, "monitor", "quality", "tumours", *window),
        "alerts": cli(home, "monitor", "alerts", "tumours"),
        "versions": cli(home, "versions", "list", "tumours"),
        "history": cli(home, "history", "tumours"),
        "predictions": {
            "labels": model.predict(live[FEATURES].iloc[:20]).tolist(),
            "proba": model.predict_proba(live[FEATURES].iloc[:20]).tolist(),
        },
        "written_by": subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip(),
    }
    expected["written_on"] = datetime.now(UTC).date().isoformat()  # the log's partitions' day
    # keys in the order ferryman printed them: the order is part of what must not change
    (out / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve())
