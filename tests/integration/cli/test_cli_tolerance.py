"""``register --tolerate``, ``versions show`` and ``versions probe``: what a model tolerates."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pandas as pd
from cli_support import FEATURES, TARGET, Cli


def _forget_tolerance(home: Path, number: int) -> None:
    """Make version ``number`` of ``m`` look registered before the probe existed."""
    with sqlite3.connect(home / "ferryman.db") as db:
        (raw,) = db.execute("SELECT signature FROM versions WHERE number = ?", (number,)).fetchone()
        signature = json.loads(raw)
        for column in signature["columns"]:
            column.pop("unknown_categories", None)
            column.pop("unseen_nulls", None)
        db.execute(
            "UPDATE versions SET signature = ? WHERE number = ?", (json.dumps(signature), number)
        )


def test_register_records_the_probe_and_tolerate_overrides_it(
    run: Cli, skops_file: Path, train_csv: Path
) -> None:
    run.ok("register", skops_file, "--name", "m", "--train-data", train_csv, "--target", TARGET)
    run.ok(
        "register", skops_file, "--name", "m", "--train-data", train_csv, "--target", TARGET,
        "--tolerate", "x1:unseen_nulls=accept",
    )  # fmt: skip

    probed = run.json("versions", "show", "m/1")["signature"]["columns"]
    assert [c["unseen_nulls"] for c in probed] == ["refuse"] * 5  # LogisticRegression and NaN
    given = run.json("versions", "show", "m/2")["signature"]["columns"]
    assert [c["unseen_nulls"] for c in given] == ["refuse", "accept", "refuse", "refuse", "refuse"]
    table = run.ok("versions", "show", "m/2").stdout
    assert "tolerates" in table
    assert "nulls" in table
    assert "not probed" not in table


def test_a_tolerance_that_cannot_apply_is_refused_naming_the_option(
    run: Cli, skops_file: Path, train_csv: Path
) -> None:
    base = ("register", skops_file, "--name", "m", "--train-data", train_csv, "--target", TARGET)
    assert "must be COLUMN:CASE=POLICY" in run.misused(*base, "--tolerate", "x1=accept")
    assert "both 'accept' and 'refuse'" in run.misused(
        *base, "--tolerate", "x1:unseen_nulls=accept", "--tolerate", "x1:unseen_nulls=refuse"
    )
    assert "--tolerate needs --train-data" in run.misused(
        "register", skops_file, "--name", "m", "--tolerate", "x1:unseen_nulls=accept"
    )
    line = run.fails(*base, "--tolerate", "x9:unseen_nulls=accept")
    assert "column 'x9', which the model does not take" in line
    line = run.fails(*base, "--tolerate", "x1:unknown_categories=accept")
    assert "'x1' is float without a list of categories" in line
    assert "no model named 'm'" in run.fails("versions", "list", "m")  # nothing half-written


def test_versions_probe_records_the_tolerance_of_a_version_registered_before(
    run: Cli, home: Path, tmp_path: Path, skops_file: Path, train_csv: Path, input_csv: Path
) -> None:
    run.ok("register", skops_file, "--name", "m", "--train-data", train_csv, "--target", TARGET)
    before = run.json("versions", "show", "m/1")
    _forget_tolerance(home, 1)
    assert "tolerance not probed" in run.ok("versions", "show", "m/1").stdout

    probed = run.json("versions", "probe", "m/1")
    assert probed["tolerance"] == {name: {"unseen_nulls": "refuse"} for name in FEATURES}
    after = run.json("versions", "show", "m/1")
    assert after["artifact_sha256"] == before["artifact_sha256"]
    assert after["signature"] == before["signature"]
    events = run.json("history", "m")["events"]
    assert events[0]["kind"] == "version.updated"
    assert events[0]["after"] == {"tolerance": probed["tolerance"]}
    assert events[0]["before"] == {"tolerance": {}}

    changed = run.json("versions", "probe", "m/1", "--tolerate", "*:unseen_nulls=accept")
    assert {c["unseen_nulls"] for c in changed["tolerance"].values()} == {"accept"}
    # the policy applies to every later load: an accepted null reaches the model, which fails
    # on it and names the row (exit 1), where before it was refused as a null
    frame = pd.read_csv(input_csv)
    frame.loc[2, "x3"] = None
    frame.to_csv(tmp_path / "nulls.csv", index=False)
    line = run.fails("predict", "m/1", "--input", tmp_path / "nulls.csv")
    assert "cannot predict on row 2" in line
