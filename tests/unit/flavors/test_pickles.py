"""Pickle files are recognised by their first bytes or their suffix, and refused."""

from __future__ import annotations

import pickle
from pathlib import Path

import joblib
import pytest
import skops.io as sio
from sklearn.linear_model import LinearRegression

from ferryman.errors import ModelFileError
from ferryman.flavors.pickles import is_pickle, refuse_pickle

MODEL = LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0])


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_a_pickle_is_known_by_its_first_bytes_whatever_its_name(
    tmp_path: Path, protocol: int
) -> None:
    path = tmp_path / "model.bin"
    path.write_bytes(pickle.dumps(MODEL, protocol=protocol))

    assert is_pickle(path)
    with pytest.raises(ModelFileError, match=r"model\.bin is a pickle file"):
        refuse_pickle(path)


def test_a_compressed_joblib_file_is_known_by_its_suffix(tmp_path: Path) -> None:
    path = tmp_path / "model.joblib"
    joblib.dump(MODEL, path, compress=3)

    assert path.read_bytes()[:1] != b"\x80"
    assert is_pickle(path)


def test_a_skops_file_is_not_a_pickle_even_named_pkl(tmp_path: Path) -> None:
    path = tmp_path / "model.pkl"
    sio.dump(MODEL, path)

    assert not is_pickle(path)
    refuse_pickle(path)


def test_other_files_are_not_pickles(tmp_path: Path) -> None:
    for name, content in [("m.json", b'{"learner": {}}'), ("m.txt", b"tree\n"), ("e", b"")]:
        path = tmp_path / name
        path.write_bytes(content)
        assert not is_pickle(path)
