"""Regression tests for the review fixes, through the ``ferryman`` CLI on real files."""

from __future__ import annotations

import importlib
import io
import shutil
import sys
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from cli_support import FEATURES, INPUT_ROWS, TARGET, Cli
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from ferryman.registry import Registry
from store_damage import damage_database

MARKUP = "[/bold] oops"
MARKUP_TAG = "k=[/]"
GHOST_MODULE = "ferryman_ghost_models"
GHOST_SOURCE = """
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin


class GhostClassifier(ClassifierMixin, BaseEstimator):
    def fit(self, X, y):
        self.classes_ = np.unique(np.asarray(y))
        return self

    def predict(self, X):
        return np.repeat(self.classes_[:1], len(X))
"""


def artifact_files(home: Path) -> list[Path]:
    return sorted(p for p in (home / "artifacts").rglob("*") if p.is_file())


def read_csv(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text))


@pytest.fixture
def one_version(run: Cli, skops_file: Path, train_csv: Path) -> Cli:
    """Model ``m`` with version 1 (sklearn, with a signature and target ``label``)."""
    run.ok("register", skops_file, "--name", "m", "--train-data", train_csv, "--target", TARGET)
    return run


@pytest.fixture
def int_files(tmp_path: Path) -> tuple[Path, Path]:
    """A skops model over an integer column ``n`` and a float column ``x``, and its train CSV."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=40)
    frame = pd.DataFrame({"n": np.arange(40, dtype="int64"), "x": x, "y": (x > 0).astype(int)})
    model = LogisticRegression().fit(frame[["n", "x"]], frame["y"])
    model_path, train_path = tmp_path / "int.skops", tmp_path / "int-train.csv"
    sio.dump(model, model_path)
    frame.to_csv(train_path, index=False)
    return model_path, train_path


# --- 1. Rich markup in user text ----------------------------------------------------------------
def test_markup_in_descriptions_and_tags_prints_literally(run: Cli, skops_file: Path) -> None:
    run.ok("models", "create", "mk", "--description", MARKUP, "--tag", MARKUP_TAG)
    run.ok("register", skops_file, "--name", "mk", "--description", MARKUP, "--tag", MARKUP_TAG)

    assert MARKUP_TAG in run.ok("models", "list").stdout
    shown = run.ok("models", "show", "mk").stdout
    assert MARKUP in shown
    assert MARKUP_TAG in shown
    assert MARKUP_TAG in run.ok("versions", "list", "mk").stdout
    version = run.ok("versions", "show", "mk/1").stdout
    assert MARKUP in version
    assert MARKUP_TAG in version
    assert MARKUP in run.ok("history", "mk").stdout


# --- 2. integer overflow ------------------------------------------------------------------------
@pytest.mark.parametrize("big", ["1e20", "100000000000000000000"])
def test_an_integer_too_big_for_int64_in_a_csv_is_refused(
    run: Cli, int_files: tuple[Path, Path], tmp_path: Path, big: str
) -> None:
    model_path, train_path = int_files
    run.ok("register", model_path, "--name", "m", "--train-data", train_path, "--target", "y")
    data = tmp_path / "big.csv"
    data.write_text(f"n,x\n1,0.5\n{big},0.5\n")

    line = run.fails("predict", "m/1", "--input", data)

    assert "row 1" in line
    assert "'n'" in line


# --- 3. zero-row input --------------------------------------------------------------------------
def test_predict_on_a_header_only_csv_writes_only_a_header(
    one_version: Cli, tmp_path: Path
) -> None:
    data = tmp_path / "empty.csv"
    data.write_text(",".join(FEATURES) + "\n")

    out = one_version.ok("predict", "m/1", "--input", data).stdout

    assert out.splitlines() == ["prediction,proba_0,proba_1"]


# --- 5. deleting a model ------------------------------------------------------------------------
def test_a_deleted_model_keeps_counting_versions(run: Cli, skops_file: Path) -> None:
    run.ok("register", skops_file, "--name", "m")
    run.ok("register", skops_file, "--name", "m")
    run.ok("models", "delete", "m", "--yes")

    assert run.json("register", skops_file, "--name", "m")["version"] == 3

    assert run.versions("m") == [3]
    kinds = [e["kind"] for e in run.json("history", "m")["events"]]
    assert kinds[:3] == ["version.created", "model.created", "model.deleted"]


# --- 6. aliases at registration -----------------------------------------------------------------
def test_register_with_two_aliases(run: Cli, skops_file: Path, lightgbm_file: Path) -> None:
    run.ok("register", skops_file, "--name", "m", "--alias", "production")

    version = run.json(
        "register", lightgbm_file, "--name", "m", "--alias", "staging", "--alias", "production"
    )

    assert version["version"] == 2
    assert sorted(version["aliases"]) == ["production", "staging"]
    assert run.json("versions", "show", "m@staging")["version"] == 2
    assert run.json("versions", "show", "m@production")["version"] == 2


@pytest.mark.parametrize("alias", ["123", "latest", "bad/alias"])
def test_register_with_an_invalid_alias_registers_nothing(
    run: Cli, home: Path, skops_file: Path, alias: str
) -> None:
    line = run.fails("register", skops_file, "--name", "m", "--alias", "ok", "--alias", alias)

    assert "alias" in line
    assert run.model_names() == []
    assert artifact_files(home) == []


# --- 9. the model's columns ---------------------------------------------------------------------
def test_lightgbm_file_with_a_renamed_training_column_is_refused(run: Cli, tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60)})
    frame["y"] = (frame["a"] > 0).astype(int)
    model = lgb.LGBMClassifier(n_estimators=3, n_jobs=1, verbose=-1, min_child_samples=5)
    model.fit(frame[["a", "b"]], frame["y"])
    model_path, train_path = tmp_path / "model.txt", tmp_path / "renamed.csv"
    model.booster_.save_model(model_path)
    frame.rename(columns={"a": "A"}).to_csv(train_path, index=False)

    line = run.fails("register", model_path, "--name", "m", "--train-data", train_path,
                     "--target", "y")  # fmt: skip

    assert "'a'" in line
    assert run.model_names() == []


# --- 10. the target column in the input ---------------------------------------------------------
def test_predict_ignores_the_target_column(
    one_version: Cli, train_csv: Path, input_csv: Path
) -> None:
    with_target = read_csv(one_version.ok("predict", "m/1", "--input", train_csv).stdout)
    without = read_csv(one_version.ok("predict", "m/1", "--input", input_csv).stdout)

    assert len(with_target) == 200
    pd.testing.assert_frame_equal(with_target.head(INPUT_ROWS), without)


# --- 11. predict --keep -------------------------------------------------------------------------
def test_predict_keep_copies_an_id_column_first(
    one_version: Cli, frame: pd.DataFrame, tmp_path: Path
) -> None:
    data = tmp_path / "with-id.csv"
    rows = frame[FEATURES].head(INPUT_ROWS).copy()
    rows.insert(0, "id", [f"row-{i}" for i in range(INPUT_ROWS)])
    rows.to_csv(data, index=False)

    out = read_csv(one_version.ok("predict", "m/1", "--input", data, "--keep", "id").stdout)

    assert list(out.columns) == ["id", "prediction", "proba_0", "proba_1"]
    assert out["id"].tolist() == rows["id"].tolist()


def test_predict_keep_of_a_missing_column_is_a_usage_error(
    one_version: Cli, input_csv: Path
) -> None:
    err = one_version.misused("predict", "m/1", "--input", input_csv, "--keep", "nope")

    assert "nope" in err


# --- 12. text codes in a CSV --------------------------------------------------------------------
def test_a_text_column_of_digits_is_read_as_text(
    run: Cli, registry: Registry, tmp_path: Path
) -> None:
    rng = np.random.default_rng(6)
    frame = pd.DataFrame({"code": ["1", "2", "3"] * 20, "x": rng.normal(size=60)})
    frame["y"] = (frame["x"] > 0).astype(int)
    encode = ColumnTransformer(
        [("code", OneHotEncoder(handle_unknown="ignore"), ["code"])], remainder="passthrough"
    )
    model = make_pipeline(encode, LogisticRegression()).fit(frame[["code", "x"]], frame["y"])
    registry.register(model, "codes", train_data=frame, target="y")
    data = tmp_path / "codes.csv"
    data.write_text("code,x\n1,0.5\n2,-0.5\n3,0.1\n")
    expected = model.predict(pd.DataFrame({"code": ["1", "2", "3"], "x": [0.5, -0.5, 0.1]}))

    out = read_csv(run.ok("predict", "codes/1", "--input", data).stdout)

    assert out["prediction"].tolist() == expected.tolist()


# --- 13. version numbers ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "args",
    [
        ["versions", "show", "m/99999999999999999999"],
        ["versions", "show", "m/²"],
        ["alias", "set", "m", "prod", "99999999999999999999"],
    ],
)
def test_huge_or_unicode_version_numbers_fail_cleanly(one_version: Cli, args: list[str]) -> None:
    result = one_version(*args)

    assert result.exit_code in (1, 2), (result.exit_code, result.output)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert one_version.json("versions", "show", "m/1")["aliases"] == []


def test_a_page_token_beyond_range_is_an_error(one_version: Cli) -> None:
    line = one_version.fails(
        "versions", "list", "m", "--page-token", "OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk"
    )

    assert "page token" in line


# --- 14. a damaged database, a store folder that is a file --------------------------------------
@pytest.mark.parametrize(
    "args",
    [
        ["models", "list"],
        ["models", "show", "m"],
        ["versions", "list", "m"],
        ["versions", "show", "m/1"],
        ["history", "m"],
        ["alias", "list", "m"],
        ["alias", "set", "m", "staging", "1"],
        ["predict", "m/1", "--input", "INPUT"],
        ["register", "MODEL", "--name", "m"],
        ["models", "create", "other"],
        ["models", "update", "m", "--description", "x"],
        ["models", "delete", "m", "--yes"],
        ["versions", "show", "m/1", "--profile"],
        ["versions", "tag", "m/1", "--tag", "a=b"],
        ["versions", "delete", "m/1", "--yes"],
        ["alias", "rm", "m", "production"],
        ["rollback", "m"],
    ],
)
def test_every_command_fails_cleanly_on_a_damaged_database(
    one_version: Cli, home: Path, skops_file: Path, input_csv: Path, args: list[str]
) -> None:
    damage_database(home / "ferryman.db")
    files = {"INPUT": str(input_csv), "MODEL": str(skops_file)}

    line = one_version.fails(*[files.get(a, a) for a in args])

    assert "database" in line


def test_a_home_that_is_a_file_is_an_error(run: Cli, tmp_path: Path) -> None:
    not_a_folder = tmp_path / "plain-file"
    not_a_folder.write_text("x")

    line = run.fails("--home", not_a_folder, "models", "list")

    assert "is a file" in line


# --- 15. a type that cannot be imported ---------------------------------------------------------
def test_a_skops_type_that_cannot_be_imported_is_an_error(
    run: Cli, frame: pd.DataFrame, tmp_path: Path
) -> None:
    source = tmp_path / "ghost-src"
    source.mkdir()
    (source / f"{GHOST_MODULE}.py").write_text(GHOST_SOURCE)
    path = tmp_path / "ghost.skops"
    sys.path.insert(0, str(source))
    try:
        module = importlib.import_module(GHOST_MODULE)
        model = module.GhostClassifier().fit(frame[FEATURES], frame[TARGET])
        sio.dump(model, path)
    finally:
        sys.path.remove(str(source))
        sys.modules.pop(GHOST_MODULE, None)
    shutil.rmtree(source)

    line = run.fails("register", path, "--name", "g", "--trust", f"{GHOST_MODULE}.GhostClassifier")

    assert "cannot be imported" in line
    assert run.model_names() == []


# --- 16. a profile with an all-NaN column -------------------------------------------------------
def test_show_profile_with_an_all_missing_numeric_column(
    run: Cli, frame: pd.DataFrame, tmp_path: Path
) -> None:
    model = LogisticRegression().fit(frame[FEATURES], frame[TARGET])
    model_path, train_path = tmp_path / "model.skops", tmp_path / "train-nan.csv"
    sio.dump(model, model_path)
    frame.assign(empty=np.nan).to_csv(train_path, index=False)
    run.ok("register", model_path, "--name", "m", "--train-data", train_path, "--target", TARGET)

    out = run.ok("versions", "show", "m/1", "--profile").stdout

    assert "empty" in out


# --- 17. a settings file that is not UTF-8 ------------------------------------------------------
def test_a_settings_file_that_is_not_utf8_is_an_error(run: Cli, tmp_path: Path) -> None:
    (tmp_path / "ferryman.toml").write_bytes(b"\xff\xfe home = 1")

    line = run.fails("models", "list")

    assert "ferryman.toml" in line


# --- 20. detection by content, repeated headers -------------------------------------------------
def test_a_skops_file_named_onnx_registers_as_sklearn(
    run: Cli, skops_file: Path, tmp_path: Path
) -> None:
    path = tmp_path / "something.onnx"
    shutil.copyfile(skops_file, path)

    version = run.json("register", path, "--name", "m")

    assert version["flavor"] == "sklearn"


@pytest.mark.parametrize("command", ["register", "predict"])
def test_a_csv_with_a_repeated_header_is_refused(
    one_version: Cli, skops_file: Path, tmp_path: Path, command: str
) -> None:
    data = tmp_path / "dup.csv"
    data.write_text("x0,x0,x1,x2,x3,x4,label\n1,2,3,4,5,6,0\n")
    if command == "register":
        args: list[str | Path] = ["register", skops_file, "--name", "m", "--train-data", data]
    else:
        args = ["predict", "m/1", "--input", data]

    line = one_version.fails(*args)

    assert "repeated" in line
    assert one_version.versions("m") == [1]


# --- 21. tree ensembles -------------------------------------------------------------------------
@pytest.fixture
def forest_file(frame: pd.DataFrame, tmp_path: Path) -> Path:
    forest = RandomForestClassifier(n_estimators=3, max_depth=2, random_state=0, n_jobs=1)
    forest.fit(frame[FEATURES], frame[TARGET])
    path = tmp_path / "forest.skops"
    sio.dump(forest, path)
    return path


def test_a_forest_registers_and_predicts_by_default(
    run: Cli, forest_file: Path, input_csv: Path
) -> None:
    run.ok("register", forest_file, "--name", "f")

    out = read_csv(run.ok("predict", "f/1", "--input", input_csv).stdout)

    assert len(out) == INPUT_ROWS


def test_a_forest_is_refused_without_trusting_sklearn_internals(
    run: Cli, forest_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FERRYMAN_TRUST_SKLEARN_INTERNALS", "false")

    line = run.fails("register", forest_file, "--name", "f")

    assert "sklearn.tree._tree.Tree" in line
    assert run.model_names() == []


# --- second review --------------------------------------------------------------------------
def test_keep_is_refused_for_a_model_without_names_or_signature(run: Cli, tmp_path: Path) -> None:
    import skops.io as sio
    from sklearn.linear_model import LinearRegression

    x = np.arange(20.0).reshape(10, 2)
    model_path = tmp_path / "arr.skops"
    sio.dump(LinearRegression().fit(x, x.sum(axis=1)), model_path)
    run.ok("register", model_path, "--name", "arr")
    data = tmp_path / "in.csv"
    data.write_text("a,b,id\n1,2,x\n")

    result = run("predict", "arr/1", "--input", data, "--keep", "a")

    assert result.exit_code == 2
    assert "--keep" in result.stderr


def test_keep_refuses_output_column_names(one_version: Cli, input_csv: Path) -> None:
    result = one_version("predict", "m/1", "--input", input_csv, "--keep", "prediction")
    assert result.exit_code == 2


def test_numeric_categories_are_read_as_numbers_from_csv(run: Cli, tmp_path: Path) -> None:
    import lightgbm as lgb

    frame = pd.DataFrame({"c": pd.Categorical([1, 2] * 30), "x": np.arange(60.0)})
    model = lgb.LGBMRegressor(n_estimators=3, n_jobs=1, verbose=-1, min_child_samples=2)
    model.fit(frame, frame["x"] * 2)
    # Files lose the category dtype, so the SDK registers it (the store is the CLI's).
    from ferryman.config import Settings
    from ferryman.registry import Registry

    registry = Registry(Settings.load(record_git=False))
    registry.register(model, "cat", train_data=frame.assign(y=frame["x"] * 2), target="y")
    registry.close()
    data = tmp_path / "in.csv"
    data.write_text("c,x\n1,1.0\n2,2.0\n")

    out = run.ok("predict", "cat/1", "--input", data).stdout

    assert len(out.splitlines()) == 3
