"""How the CLI fails: exit 1 with one ``error:`` line for ferryman errors, exit 2 for usage
mistakes, no traceback unless ``--debug``, and nothing half-written after a refused write."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from cli_support import CUSTOM_TYPE, FEATURES, TARGET, Cli

from ferryman.errors import ModelNotFoundError


def artifact_files(home: Path) -> list[Path]:
    return sorted(p for p in (home / "artifacts").rglob("*") if p.is_file())


def assert_nothing_registered(run: Cli, home: Path) -> None:
    assert run.model_names() == []
    assert artifact_files(home) == []


@pytest.fixture
def one_version(run: Cli, skops_file: Path, train_csv: Path) -> Cli:
    """Model ``m`` with version 1 (sklearn, with a signature) and no aliases."""
    run.ok("register", skops_file, "--name", "m", "--train-data", train_csv, "--target", TARGET)
    return run


# --- lookups ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "args",
    [
        ["models", "show", "nope"],
        ["models", "update", "nope", "--description", "x"],
        ["models", "delete", "nope", "--yes"],
        ["versions", "list", "nope"],
        ["versions", "show", "nope/1"],
        ["versions", "show", "nope"],
        ["alias", "set", "nope", "production", "1"],
        ["alias", "list", "nope"],
        ["rollback", "nope"],
    ],
)
def test_unknown_model(run: Cli, args: list[str]) -> None:
    line = run.fails(*args)

    assert "no model named 'nope'" in line
    assert run.model_names() == []


def test_predict_with_an_unknown_model(run: Cli, input_csv: Path) -> None:
    assert "'nope'" in run.fails("predict", "nope/1", "--input", input_csv)


@pytest.mark.parametrize(
    "args",
    [
        ["versions", "show", "m/9"],
        ["versions", "tag", "m/9", "--tag", "a=b"],
        ["versions", "delete", "m/9", "--yes"],
        ["alias", "set", "m", "production", "9"],
    ],
)
def test_unknown_version(one_version: Cli, args: list[str]) -> None:
    line = one_version.fails(*args)

    assert "model 'm' has no version 9" in line
    assert "versions list m" in line
    assert one_version.json("alias", "list", "m") == {}


@pytest.mark.parametrize("ref", ["a b", "x/0", "m/-1", "m/abc", "m@", "@prod", "m/1/2"])
def test_malformed_reference(one_version: Cli, ref: str) -> None:
    line = one_version.fails("versions", "show", ref)

    assert line.startswith(f"error: invalid model reference {ref!r}")
    assert "'name@alias'" in line


@pytest.mark.parametrize("args", [["versions", "show", "m@staging"], ["versions", "show", "m"]])
def test_unknown_alias(one_version: Cli, args: list[str]) -> None:
    line = one_version.fails(*args)

    assert "model 'm' has no alias" in line
    assert "alias set m" in line


def test_predict_with_an_unknown_alias(one_version: Cli, input_csv: Path) -> None:
    assert "no alias 'production'" in one_version.fails("predict", "m", "--input", input_csv)


def test_invalid_page_token(run: Cli) -> None:
    assert "page token" in run.fails("models", "list", "--page-token", "garbage")


def test_invalid_metric_filter(one_version: Cli) -> None:
    line = one_version.fails("versions", "list", "m", "--metric", "acc>>1")

    assert "invalid metric filter 'acc>>1'" in line


# --- registering files that are not (the right) models ------------------------------------------
def test_register_a_missing_file(run: Cli, home: Path, tmp_path: Path) -> None:
    missing = tmp_path / "missing.skops"

    line = run.fails("register", missing, "--name", "m")

    assert str(missing) in line
    assert "does not exist" in line
    assert_nothing_registered(run, home)


def test_register_random_bytes(run: Cli, home: Path, tmp_path: Path) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(os.urandom(4096))

    line = run.fails("register", junk, "--name", "m")

    assert "junk.bin" in line
    assert "--flavor" in line
    assert_nothing_registered(run, home)


def test_register_an_empty_file(run: Cli, home: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")

    assert "empty.onnx" in run.fails("register", empty, "--name", "m")
    assert_nothing_registered(run, home)


def test_register_with_an_unknown_flavor(run: Cli, home: Path, skops_file: Path) -> None:
    line = run.fails("register", skops_file, "--name", "m", "--flavor", "nope")

    assert "unknown flavor 'nope'" in line
    assert "lightgbm, onnx, sklearn, xgboost" in line
    assert_nothing_registered(run, home)


@pytest.mark.parametrize(
    ("kind", "flavor"),
    [
        ("skops", "onnx"),
        ("skops", "lightgbm"),
        ("skops", "xgboost"),
        ("onnx", "sklearn"),
        ("lightgbm", "xgboost"),
        ("xgboost-json", "lightgbm"),
        ("lightgbm", "onnx"),
    ],
)
def test_register_with_the_wrong_flavor(
    run: Cli, home: Path, model_files: dict[str, tuple[Path, str]], kind: str, flavor: str
) -> None:
    path, _ = model_files[kind]

    line = run.fails("register", path, "--name", "m", "--flavor", flavor)

    assert path.name in line
    assert_nothing_registered(run, home)


def test_register_an_untrusted_skops_file(run: Cli, home: Path, custom_skops: Path) -> None:
    line = run.fails("register", custom_skops, "--name", "custom")

    assert CUSTOM_TYPE in line
    assert "not trusted" in line
    assert_nothing_registered(run, home)

    version = run.json("register", custom_skops, "--name", "custom", "--trust", CUSTOM_TYPE)
    assert version["version"] == 1


def test_register_trusting_another_type_is_not_enough(
    run: Cli, home: Path, custom_skops: Path
) -> None:
    line = run.fails("register", custom_skops, "--name", "custom", "--trust", "cli_support.Other")

    assert CUSTOM_TYPE in line
    assert_nothing_registered(run, home)


# --- corrupted store --------------------------------------------------------------------------
def blob_of(run: Cli, home: Path, ref: str) -> Path:
    sha = run.json("versions", "show", ref)["artifact_sha256"]
    return home / "artifacts" / "sha256" / sha[:2] / sha[2:]


def test_predict_with_a_truncated_artifact(one_version: Cli, home: Path, input_csv: Path) -> None:
    blob = blob_of(one_version, home, "m/1")
    blob.write_bytes(blob.read_bytes()[:100])

    line = one_version.fails("predict", "m/1", "--input", input_csv)

    assert "truncated" in line
    assert str(blob) in line


def test_predict_with_a_corrupt_artifact(one_version: Cli, home: Path, input_csv: Path) -> None:
    blob = blob_of(one_version, home, "m/1")
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0xFF
    blob.write_bytes(bytes(data))

    line = one_version.fails("predict", "m/1", "--input", input_csv)

    assert "corrupt" in line
    assert hashlib.sha256(data).hexdigest()[:12] in line


def test_predict_with_a_missing_artifact(one_version: Cli, home: Path, input_csv: Path) -> None:
    blob_of(one_version, home, "m/1").unlink()

    line = one_version.fails("predict", "m/1", "--input", input_csv)

    assert "missing" in line


# --- names --------------------------------------------------------------------------------------
def test_models_create_twice(run: Cli) -> None:
    run.ok("models", "create", "m", "--description", "first")

    line = run.fails("models", "create", "m", "--description", "second")

    assert "a model named 'm' already exists" in line
    assert run.json("models", "show", "m")["description"] == "first"


@pytest.mark.parametrize("alias", ["123", "latest", "LATEST", "has space", "a/b"])
def test_alias_set_with_an_invalid_alias(one_version: Cli, alias: str) -> None:
    line = one_version.fails("alias", "set", "m", alias, "1")

    assert f"invalid alias {alias!r}" in line
    assert one_version.json("alias", "list", "m") == {}


@pytest.mark.parametrize("alias", ["123", "latest"])
def test_register_with_an_invalid_alias_registers_nothing(
    run: Cli, home: Path, skops_file: Path, alias: str
) -> None:
    line = run.fails("register", skops_file, "--name", "m", "--alias", alias)

    assert f"invalid alias {alias!r}" in line
    assert_nothing_registered(run, home)


def test_register_with_an_invalid_model_name(run: Cli, home: Path, skops_file: Path) -> None:
    line = run.fails("register", skops_file, "--name", "a b")

    assert "invalid model name 'a b'" in line
    assert_nothing_registered(run, home)


# --- usage mistakes -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["versions", "show"], "Missing argument"),
        (["register", "{skops}"], "--name"),
        (["alias", "set", "m", "production"], "Missing argument"),
        (["alias", "set", "m", "production", "x"], "version"),
        (["alias", "set", "m", "production", "0"], "version"),
        (["register", "{skops}", "--name", "m", "--metric", "acc=abc"], "acc"),
        (["register", "{skops}", "--name", "m", "--metric", "acc"], "KEY=VALUE"),
        (["register", "{skops}", "--name", "m", "--tag", "novalue"], "novalue"),
        (["register", "{skops}", "--name", "m", "--param", "=1"], "KEY=VALUE"),
        (["register", "{skops}", "--name", "m", "--target", "label"], "--train-data"),
        (["models", "create", "m2", "--tag", "novalue"], "novalue"),
        (["models", "list", "--limit", "0"], "--limit"),
        (["versions", "list", "m", "--limit", "0"], "--limit"),
        (["history", "m", "--limit", "0"], "--limit"),
        (["models", "list", "--nope"], "--nope"),
        (["nope"], "nope"),
    ],
)
def test_usage_mistakes_exit_2(
    one_version: Cli, skops_file: Path, args: list[str], needle: str
) -> None:
    err = one_version.misused(*(a.replace("{skops}", str(skops_file)) for a in args))

    assert needle in err
    assert one_version.model_names() == ["m"]
    assert one_version.versions("m") == [1]
    assert one_version.json("alias", "list", "m") == {}


# --- training data ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "column",
    [
        pa.array([[1, 2], [3]] * 100, type=pa.list_(pa.int64())),
        pa.array([b"ab", b"cd"] * 100, type=pa.binary()),
        pa.array([1, 2] * 100, type=pa.duration("s")),
    ],
    ids=["list", "binary", "duration"],
)
def test_register_with_an_unsupported_column(
    run: Cli, home: Path, frame: pd.DataFrame, skops_file: Path, tmp_path: Path, column: pa.Array
) -> None:
    table = pa.Table.from_pandas(frame, preserve_index=False).append_column("odd_one", column)
    data = tmp_path / "odd.parquet"
    pq.write_table(table, data)

    line = run.fails(
        "register", skops_file, "--name", "m", "--train-data", data, "--target", TARGET
    )

    assert "'odd_one'" in line
    assert_nothing_registered(run, home)


def test_register_with_a_target_not_in_the_data(
    run: Cli, home: Path, skops_file: Path, train_csv: Path
) -> None:
    line = run.fails(
        "register", skops_file, "--name", "m", "--train-data", train_csv, "--target", "nope"
    )

    assert "target column 'nope'" in line
    assert "x0" in line
    assert_nothing_registered(run, home)


def test_register_with_data_lacking_the_model_columns(
    run: Cli, home: Path, frame: pd.DataFrame, skops_file: Path, tmp_path: Path
) -> None:
    data = tmp_path / "other.csv"
    frame.rename(columns={"x3": "renamed"}).to_csv(data, index=False)

    line = run.fails(
        "register", skops_file, "--name", "m", "--train-data", data, "--target", TARGET
    )

    assert "x3" in line
    assert_nothing_registered(run, home)


@pytest.mark.parametrize("name", ["missing.csv", "data.xlsx"])
def test_register_with_an_unreadable_data_file(
    run: Cli, home: Path, skops_file: Path, tmp_path: Path, name: str
) -> None:
    line = run.fails("register", skops_file, "--name", "m", "--train-data", tmp_path / name)

    assert name in line
    assert_nothing_registered(run, home)


def test_register_with_a_broken_parquet_file(
    run: Cli, home: Path, skops_file: Path, tmp_path: Path
) -> None:
    data = tmp_path / "broken.parquet"
    data.write_bytes(b"PAR1 this is not parquet")

    line = run.fails("register", skops_file, "--name", "m", "--train-data", data)

    assert "broken.parquet" in line
    assert_nothing_registered(run, home)


# --- prediction input ---------------------------------------------------------------------------
def test_predict_input_with_a_wrong_value(
    one_version: Cli, frame: pd.DataFrame, tmp_path: Path
) -> None:
    data = tmp_path / "bad.csv"
    bad = frame[FEATURES].head(3).astype(object)
    bad.loc[1, "x4"] = "abc"
    bad.to_csv(data, index=False)

    line = one_version.fails("predict", "m/1", "--input", data)

    assert "row 1" in line
    assert "'x4'" in line


@pytest.mark.parametrize("kind", ["skops", "onnx", "xgboost-json", "lightgbm"])
def test_predict_without_a_signature_on_input_missing_columns(
    run: Cli, model_files: dict[str, tuple[Path, str]], tmp_path: Path, kind: str
) -> None:
    path, _ = model_files[kind]
    run.ok("register", path, "--name", "m")
    data = tmp_path / "bad.csv"
    pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]}).to_csv(data, index=False)
    out = tmp_path / "out.csv"

    line = run.fails("predict", "m/1", "--input", data, "--output", out)

    assert "input" in line
    assert not out.exists()


@pytest.mark.parametrize("name", ["missing.csv", "input.json"])
def test_predict_with_an_unreadable_input_file(one_version: Cli, tmp_path: Path, name: str) -> None:
    assert name in one_version.fails("predict", "m/1", "--input", tmp_path / name)


def test_predict_to_an_unknown_output_format(
    one_version: Cli, input_csv: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out.xlsx"

    line = one_version.fails("predict", "m/1", "--input", input_csv, "--output", out)

    assert "out.xlsx" in line
    assert not out.exists()


# --- the store and the settings -----------------------------------------------------------------
def test_database_from_a_newer_ferryman(run: Cli, home: Path) -> None:
    run.ok("models", "create", "m")
    with sqlite3.connect(home / "ferryman.db") as db:
        db.execute("UPDATE alembic_version SET version_num = 'ffff_future'")
    db.close()

    line = run.fails("models", "list")

    assert "'ffff_future'" in line
    assert "newer ferryman" in line
    assert "Upgrade ferryman" in line
    with sqlite3.connect(home / "ferryman.db") as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [
            ("ffff_future",)
        ]
        assert db.execute("SELECT name FROM models").fetchall() == [("m",)]
    db.close()


@pytest.mark.parametrize(
    "text", ['colour = "blue"\n', '[ferryman]\ncolour = "blue"\n'], ids=["top", "table"]
)
def test_settings_file_with_an_unknown_key(run_without_store: Cli, home: Path, text: str) -> None:
    Path("ferryman.toml").write_text(text)

    line = run_without_store.fails("models", "list")

    assert "unknown setting 'colour'" in line
    assert "home" in line
    assert not home.exists()


def test_settings_file_that_is_not_toml(run_without_store: Cli, home: Path) -> None:
    Path("ferryman.toml").write_text("this is = = not toml\n")

    line = run_without_store.fails("models", "list")

    assert "ferryman.toml" in line
    assert not home.exists()


def test_settings_with_a_bad_value(run: Cli, home: Path) -> None:
    Path("ferryman.toml").write_text("sample_rows = -1\n")

    assert "'sample_rows'" in run.fails("models", "list")


# --- --debug ------------------------------------------------------------------------------------
def test_debug_lets_the_exception_through(run: Cli) -> None:
    result = run("--debug", "models", "show", "nope")

    assert result.exit_code == 1
    assert isinstance(result.exception, ModelNotFoundError)
    assert "no model named 'nope'" in str(result.exception)
    assert "error:" not in result.stderr


# --- the real console script --------------------------------------------------------------------
def ferryman(*args: str | Path) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).parent / "ferryman"
    assert script.is_file(), script
    return subprocess.run(
        [str(script), *map(str, args)], capture_output=True, text=True, timeout=120, check=False
    )


def test_console_script_exit_codes(home: Path) -> None:
    created = ferryman("models", "create", "m")
    unknown = ferryman("models", "show", "nope")
    misused = ferryman("models", "list", "--limit", "0")
    debug = ferryman("--debug", "models", "show", "nope")

    assert (created.returncode, created.stdout.strip(), created.stderr) == (
        0,
        "created model m",
        f"created a new store at {home}\n",
    )
    assert unknown.returncode == 1
    assert unknown.stdout == ""
    assert unknown.stderr.splitlines() == [
        "error: no model named 'nope'; list them with `ferryman models list`"
    ]
    assert misused.returncode == 2
    assert "--limit" in misused.stderr
    for done in (created, unknown, misused):
        assert "Traceback" not in done.stdout + done.stderr
    assert debug.returncode == 1
    assert "Traceback" in debug.stderr
    assert "ModelNotFoundError: no model named 'nope'" in debug.stderr


def test_console_script_wrong_flavor_prints_one_line(home: Path, xgboost_json: Path) -> None:
    done = ferryman("register", xgboost_json, "--name", "m", "--flavor", "lightgbm")

    assert done.returncode == 1
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert done.stderr.startswith("error: ")
    assert "model.json" in done.stderr


# --- a store that does not exist ----------------------------------------------------------------
@pytest.mark.parametrize(
    "args",
    [
        ["models", "list"],
        ["models", "show", "churn"],
        ["versions", "list", "churn"],
        ["history", "churn"],
        ["alias", "set", "churn", "production", "1"],
        ["rollback", "churn"],
        ["monitor", "drift", "churn"],
        ["monitor", "run", "churn"],
        ["monitor", "alerts"],
        ["predict", "churn", "--input", "rows.csv"],
        ["score", "churn", "rows.csv", "-o", "out.csv"],
        ["feedback", "churn", "labels.csv"],
        ["serve", "--port", "0"],
    ],
    ids=lambda args: " ".join(args),
)
def test_a_command_on_a_store_that_does_not_exist_says_so(
    run_without_store: Cli, home: Path, args: list[str]
) -> None:
    line = run_without_store.fails("--home", home.parent / "mistyped", *args)

    assert "no ferryman store at" in line
    assert "mistyped" in line
    assert "--home" in line
    assert not (home.parent / "mistyped").exists()  # nothing made on the way


def test_creating_a_model_in_a_new_store_says_it_created_the_store(
    run_without_store: Cli, home: Path
) -> None:
    done = run_without_store.ok("models", "create", "churn")

    assert done.stderr.splitlines() == [f"created a new store at {home}"]
    again = run_without_store.ok("models", "create", "other")
    assert again.stderr == ""
    assert "churn" in run_without_store.ok("models", "list").stdout


def test_a_store_whose_folder_name_holds_a_percent_sign_is_found_again(
    run_without_store: Cli, home: Path
) -> None:
    odd = home.parent / "p%41"
    run_without_store.ok("--home", odd, "models", "create", "churn")
    assert "churn" in run_without_store.ok("--home", odd, "models", "list").stdout
    assert (odd / "ferryman.db").exists()


def test_a_register_that_fails_leaves_no_new_store_behind(
    run_without_store: Cli, home: Path, tmp_path: Path
) -> None:
    pickled = tmp_path / "model.pkl"
    pickled.write_bytes(b"\x80\x04K\x01.")  # pickle.dumps(1)
    typo = home.parent / "typo"

    line = run_without_store.fails("--home", typo, "register", pickled, "--name", "m")

    assert "pickle" in line
    assert not typo.exists()
    assert "no ferryman store" in run_without_store.fails("--home", typo, "models", "list")


def test_a_failing_command_leaves_an_existing_store_alone(run: Cli, home: Path) -> None:
    run.ok("models", "create", "keep")
    run.fails("register", home.parent / "missing.skops", "--name", "m")
    assert "keep" in run.ok("models", "list").stdout
