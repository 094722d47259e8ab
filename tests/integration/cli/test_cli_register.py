"""``ferryman register``: each kind of model file, guessed or named flavor, and what is recorded."""

from __future__ import annotations

import hashlib
import platform
from pathlib import Path

import pandas as pd
import pytest
import skops.io as sio
from cli_support import FEATURES, TARGET, Cli
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from ferryman.flavors.pickles import SKOPS_LINE
from ferryman.registry import Registry
from text_reviews import NEW_REVIEWS, reviews

KINDS = ["skops", "onnx", "xgboost-json", "xgboost-ubj", "lightgbm"]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("kind", KINDS)
def test_register_guesses_the_flavor_of_each_file_kind(
    run: Cli, model_files: dict[str, tuple[Path, str]], kind: str
) -> None:
    path, flavor = model_files[kind]

    result = run.ok("register", path, "--name", "m")

    assert result.stdout.startswith(f"registered m/1 ({flavor}, sha256:{sha256(path)[:12]})")
    shown = run.json("versions", "show", "m/1")
    assert shown["flavor"] == flavor
    assert shown["artifact_sha256"] == sha256(path)
    assert shown["artifact_size"] == path.stat().st_size
    assert shown["output"]["kind"] == "classifier"
    assert shown["output"]["classes"] == [0, 1]


@pytest.mark.parametrize("kind", KINDS)
def test_register_with_the_flavor_named(
    run: Cli, model_files: dict[str, tuple[Path, str]], kind: str
) -> None:
    path, flavor = model_files[kind]

    version = run.json("register", path, "--name", "m", "--flavor", flavor)

    assert (version["model"], version["version"], version["flavor"]) == ("m", 1, flavor)
    assert run.versions("m") == [1]


def test_register_with_training_data_metrics_params_tags_and_alias(
    run: Cli, skops_file: Path, train_csv: Path
) -> None:
    run.ok(
        "register", skops_file, "--name", "churn",
        "--train-data", train_csv, "--target", TARGET,
        "--metric", "acc=0.9", "--metric", "auc=0.95",
        "--param", "C=1", "--tag", "team=x", "--alias", "production",
        "--description", "first try",
    )  # fmt: skip

    shown = run.json("versions", "show", "churn/1")
    assert [c["name"] for c in shown["signature"]["columns"]] == FEATURES
    assert {c["kind"] for c in shown["signature"]["columns"]} == {"float"}
    assert shown["metrics"] == {"acc": 0.9, "auc": 0.95}
    assert shown["params"] == {"C": "1"}
    assert shown["tags"] == {"team": "x"}
    assert shown["aliases"] == ["production"]
    assert shown["description"] == "first try"
    assert shown["flavor"] == "sklearn"
    assert shown["artifact_sha256"] == sha256(skops_file)
    assert shown["output"]["target"] == TARGET
    assert shown["has_profile"] is True
    assert shown["data_fingerprint"]
    assert shown["created_by"] == "tester"
    env = shown["environment"]
    assert env["python"] == platform.python_version()
    assert env["packages"]["scikit-learn"]
    assert env["packages"]["skops"]


def test_register_json_output_is_the_new_version(
    run: Cli, lightgbm_file: Path, train_parquet: Path
) -> None:
    version = run.json(
        "register", lightgbm_file, "--name", "m", "--train-data", train_parquet,
        "--target", TARGET, "--alias", "staging",
    )  # fmt: skip

    assert version["version"] == 1
    assert version["aliases"] == ["staging"]
    assert [c["name"] for c in version["signature"]["columns"]] == FEATURES
    assert version["environment"]["packages"]["lightgbm"]
    assert version == run.json("versions", "show", "m@staging")


def test_register_again_adds_the_next_version(
    run: Cli, skops_file: Path, xgboost_ubj: Path
) -> None:
    run.ok("register", skops_file, "--name", "m")
    run.ok("register", xgboost_ubj, "--name", "m")

    assert run.versions("m") == [2, 1]
    assert run.json("versions", "show", "m@latest")["flavor"] == "xgboost"
    assert run.json("models", "show", "m")["latest_version"] == 2


def test_register_the_same_file_twice_shares_one_artifact(
    run: Cli, home: Path, skops_file: Path
) -> None:
    first = run.json("register", skops_file, "--name", "a")
    second = run.json("register", skops_file, "--name", "b")

    assert first["artifact_sha256"] == second["artifact_sha256"]
    blobs = [p for p in (home / "artifacts").rglob("*") if p.is_file()]
    assert len(blobs) == 1


def test_register_without_training_data_has_no_signature(run: Cli, onnx_file: Path) -> None:
    version = run.json("register", onnx_file, "--name", "m")

    assert version["signature"] is None
    assert version["has_profile"] is False
    assert version["metrics"] == {}
    assert version["tags"] == {}


def test_register_trusted_custom_type(run: Cli, custom_skops: Path, input_csv: Path) -> None:
    version = run.json(
        "register", custom_skops, "--name", "custom", "--trust",
        "cli_support.ThresholdClassifier",
    )  # fmt: skip

    assert version["flavor"] == "sklearn"
    out = run.ok(
        "predict", "custom/1", "--input", input_csv, "--trust",
        "cli_support.ThresholdClassifier",
    )  # fmt: skip
    assert out.stdout.splitlines()[0] == "prediction"


@pytest.mark.parametrize("flavor", [None, "sklearn", "onnx"])
def test_register_refuses_a_pickle_by_design_and_shows_how_to_save_skops(
    run: Cli,
    pickle_file: Path,
    frame: pd.DataFrame,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    flavor: str | None,
) -> None:
    named = ["--flavor", flavor] if flavor is not None else []

    line = run.fails("register", pickle_file, "--name", "m", *named)

    assert line.startswith("error: model.pkl is a pickle file, which ferryman refuses by design")
    assert "never unpickles" in line
    assert line.endswith(f"register that file instead: {SKOPS_LINE}")
    # the line shown is the real skops API: run as written, it gives a file register takes
    monkeypatch.chdir(tmp_path)
    exec(SKOPS_LINE, {"model": LogisticRegression().fit(frame[FEATURES], frame[TARGET])})
    assert run.json("register", tmp_path / "model.skops", "--name", "m")["version"] == 1


def test_register_keeps_held_out_rows_as_the_prediction_drift_reference(
    run: Cli,
    registry: Registry,
    lightgbm_file: Path,
    train_parquet: Path,
    frame: pd.DataFrame,
    tmp_path: Path,
) -> None:
    held_out = tmp_path / "held_out.csv"
    rows = frame.iloc[120:].copy()
    rows[FEATURES] += 0.001  # rows the model was not fitted on (training rows are refused)
    rows.to_csv(held_out, index=False)
    run.ok(
        "register", lightgbm_file, "--name", "m", "--train-data", train_parquet,
        "--target", TARGET, "--validation-data", held_out,
    )  # fmt: skip

    sample = registry.validation_sample("m/1")
    assert sample is not None
    assert list(sample.columns) == [*FEATURES, TARGET]
    assert len(sample) == 80


def test_register_refuses_validation_data_it_cannot_use(
    run: Cli, lightgbm_file: Path, train_parquet: Path, train_csv: Path
) -> None:
    usage = run.misused("register", lightgbm_file, "--name", "m", "--validation-data", train_csv)
    assert "--validation-data needs --train-data" in usage
    line = run.fails(
        "register", lightgbm_file, "--name", "m", "--train-data", train_parquet,
        "--target", TARGET, "--validation-data", train_csv,
    )  # fmt: skip
    assert "validation data is the training data itself" in line


# -- text models and --kind ------------------------------------------------------------------


@pytest.fixture
def text_files(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A skops text pipeline fitted on a Series, its training CSV (review, label) and a CSV of
    new reviews."""
    data = reviews()
    model = make_pipeline(TfidfVectorizer(), LogisticRegression()).fit(
        data["review"], data["label"]
    )
    paths = tmp_path / "reviews.skops", tmp_path / "reviews.csv", tmp_path / "new.csv"
    sio.dump(model, paths[0])
    data.to_csv(paths[1], index=False)
    pd.DataFrame({"review": NEW_REVIEWS}).to_csv(paths[2], index=False)
    return paths


def test_register_a_text_model_with_its_one_text_column(
    run: Cli, text_files: tuple[Path, Path, Path]
) -> None:
    model, train, new = text_files

    run.ok("register", model, "--name", "reviews", "--train-data", train, "--target", "label")
    predicted = run.ok("predict", "reviews/1", "-i", new).stdout

    columns = run.json("versions", "show", "reviews/1")["signature"]["columns"]
    assert [(c["name"], c["kind"], c["categories"]) for c in columns] == [
        ("review", "string", None)
    ]
    native = sio.load(model, trusted=sio.get_untrusted_types(file=model))
    expected = native.predict(pd.read_csv(new)["review"])
    assert [int(line.split(",")[0]) for line in predicted.splitlines()[1:]] == expected.tolist()


def test_register_kind_sets_a_text_columns_kind(
    run: Cli, text_files: tuple[Path, Path, Path]
) -> None:
    model, train, _ = text_files

    run.ok(
        "register", model, "--name", "reviews", "--train-data", train, "--target", "label",
        "--kind", "review=category",
    )  # fmt: skip

    (column,) = run.json("versions", "show", "reviews/1")["signature"]["columns"]
    assert len(column["categories"]) == pd.read_csv(train)["review"].nunique()


def test_register_kind_mistakes(run: Cli, text_files: tuple[Path, Path, Path]) -> None:
    model, train, _ = text_files
    base = ("register", model, "--name", "reviews")
    with_data = (*base, "--train-data", train, "--target", "label")

    assert "--kind needs --train-data" in run.misused(*base, "--kind", "review=text")
    assert "--kind 'review' must be KEY=VALUE" in run.misused(*with_data, "--kind", "review")
    assert run.fails(*with_data, "--kind", "review=words") == (
        "error: the kind given for column 'review' is 'words'; choose one of category, string, text"
    )
    assert "a kind is given for column 'city'" in run.fails(*with_data, "--kind", "city=text")
    assert run.model_names() == []
