"""CLI helpers: run ``ferryman`` in process against a fresh store, and real model/data files.

The model and data files are built once per session and only read by the tests.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
import skops.io as sio
import xgboost as xgb
from cli_support import FEATURES, INPUT_ROWS, TARGET, Cli, ThresholdClassifier
from skl2onnx import to_onnx
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier
from typer.testing import CliRunner

from ferryman.config import Settings
from ferryman.registry import Registry


@pytest.fixture
def run(home: Path) -> Cli:
    """The CLI against an empty store in ``home`` (FERRYMAN_HOME; cwd is its parent)."""
    Registry(Settings.load(home=home)).close()  # read-only commands need a store to exist
    return Cli(CliRunner())


@pytest.fixture
def run_without_store(home: Path) -> Cli:
    """The CLI where ``home`` holds no store yet."""
    return Cli(CliRunner())


# --- data ---------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def frame() -> pd.DataFrame:
    """200 rows, five float features x0..x4 and a 0/1 ``label``."""
    X, y = make_classification(n_samples=200, n_features=5, random_state=0)
    out = pd.DataFrame(X, columns=FEATURES)
    out[TARGET] = y
    return out


@pytest.fixture(scope="session")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli-files")


@pytest.fixture(scope="session")
def train_csv(frame: pd.DataFrame, files: Path) -> Path:
    path = files / "train.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def train_parquet(frame: pd.DataFrame, files: Path) -> Path:
    path = files / "train.parquet"
    frame.to_parquet(path, index=False)
    return path


@pytest.fixture(scope="session")
def input_csv(frame: pd.DataFrame, files: Path) -> Path:
    """The first INPUT_ROWS rows, features only."""
    path = files / "input.csv"
    frame[FEATURES].head(INPUT_ROWS).to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def input_parquet(frame: pd.DataFrame, files: Path) -> Path:
    path = files / "input.parquet"
    frame[FEATURES].head(INPUT_ROWS).to_parquet(path, index=False)
    return path


# --- model files --------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def skops_file(frame: pd.DataFrame, files: Path) -> Path:
    model = LogisticRegression().fit(frame[FEATURES], frame[TARGET])
    path = files / "model.skops"
    sio.dump(model, path)
    return path


@pytest.fixture(scope="session")
def onnx_file(frame: pd.DataFrame, files: Path) -> Path:
    X = frame[FEATURES].to_numpy(dtype=np.float32)
    model = LogisticRegression().fit(X, frame[TARGET])
    path = files / "model.onnx"
    path.write_bytes(to_onnx(model, X[:1]).SerializeToString())
    return path


@pytest.fixture(scope="session")
def xgboost_booster(frame: pd.DataFrame) -> xgb.Booster:
    model = xgb.XGBClassifier(n_estimators=5, max_depth=2, n_jobs=1)
    return model.fit(frame[FEATURES], frame[TARGET]).get_booster()


@pytest.fixture(scope="session")
def xgboost_json(xgboost_booster: xgb.Booster, files: Path) -> Path:
    path = files / "model.json"
    xgboost_booster.save_model(path)
    return path


@pytest.fixture(scope="session")
def xgboost_ubj(xgboost_booster: xgb.Booster, files: Path) -> Path:
    path = files / "model.ubj"
    xgboost_booster.save_model(path)
    return path


@pytest.fixture(scope="session")
def lightgbm_file(frame: pd.DataFrame, files: Path) -> Path:
    model = lgb.LGBMClassifier(n_estimators=5, n_jobs=1, verbose=-1)
    model.fit(frame[FEATURES], frame[TARGET])
    path = files / "model.txt"
    model.booster_.save_model(path)
    return path


@pytest.fixture(scope="session")
def model_files(
    skops_file: Path, onnx_file: Path, xgboost_json: Path, xgboost_ubj: Path, lightgbm_file: Path
) -> dict[str, tuple[Path, str]]:
    """Each kind of model file, with the flavor ferryman should give it."""
    return {
        "skops": (skops_file, "sklearn"),
        "onnx": (onnx_file, "onnx"),
        "xgboost-json": (xgboost_json, "xgboost"),
        "xgboost-ubj": (xgboost_ubj, "xgboost"),
        "lightgbm": (lightgbm_file, "lightgbm"),
    }


@pytest.fixture(scope="session")
def custom_skops(frame: pd.DataFrame, files: Path) -> Path:
    """A skops file holding an estimator class skops does not trust by default."""
    model = ThresholdClassifier(column=0, threshold=0.0).fit(frame[FEATURES], frame[TARGET])
    path = files / "custom.skops"
    sio.dump(model, path)
    return path


@pytest.fixture(scope="session")
def nullable_train_csv(frame: pd.DataFrame, files: Path) -> Path:
    """The training data with a few empty cells in x1: its signature allows nulls there."""
    data = frame.copy()
    data.loc[::20, "x1"] = np.nan
    path = files / "train_with_nulls.csv"
    data.to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def nullable_skops(frame: pd.DataFrame, files: Path) -> Path:
    """A model that takes nulls, as one trained with nulls would (trees route them)."""
    model = DecisionTreeClassifier(max_depth=3, random_state=0)
    model.fit(frame[FEATURES], frame[TARGET])
    path = files / "nullable.skops"
    sio.dump(model, path)
    return path


@pytest.fixture(scope="session")
def pickle_file(frame: pd.DataFrame, files: Path) -> Path:
    """A fitted estimator saved with pickle, as many notebooks do (never loaded by ferryman)."""
    path = files / "model.pkl"
    path.write_bytes(pickle.dumps(LogisticRegression().fit(frame[FEATURES], frame[TARGET])))
    return path
