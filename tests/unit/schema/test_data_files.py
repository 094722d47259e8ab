"""read_table, read_input, write_table: CSV and Parquet files, errors naming the file."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ferryman.core.signature import ColumnSpec, Signature
from ferryman.errors import DataFileError, InvalidArgumentError
from ferryman.schema import read_input, read_table, validate, write_table


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "n": [1, 2, 3],
            "x": [0.25, np.nan, 2.5],
            "flag": [True, False, True],
            "city": ["Oslo", "Bergen", "Tromsø"],
        }
    )


@pytest.mark.parametrize("name", ["data.csv", "data.txt", "DATA.CSV"])
def test_csv_round_trip(tmp_path: Path, frame: pd.DataFrame, name: str) -> None:
    path = tmp_path / name

    write_table(frame, path)
    back = read_table(path)

    pd.testing.assert_frame_equal(back, frame, check_dtype=False)
    assert back["n"].dtype == np.dtype("int64")
    assert back["x"].dtype == np.dtype("float64")
    assert back["flag"].dtype == np.dtype("bool")


def test_csv_is_written_without_the_index(tmp_path: Path, frame: pd.DataFrame) -> None:
    path = tmp_path / "data.csv"

    write_table(frame.set_axis([5, 6, 7]), path)

    assert path.read_text(encoding="utf-8").splitlines()[0] == "n,x,flag,city"


@pytest.mark.parametrize("name", ["data.parquet", "data.pq"])
def test_parquet_round_trip_keeps_dtypes(tmp_path: Path, frame: pd.DataFrame, name: str) -> None:
    frame = frame.assign(
        plan=pd.Categorical(["a", "b", "a"]),
        at=pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"]),
    )
    path = tmp_path / name

    write_table(frame, path)

    pd.testing.assert_frame_equal(read_table(path), frame)


def test_accepts_a_string_path(tmp_path: Path, frame: pd.DataFrame) -> None:
    path = str(tmp_path / "data.parquet")

    write_table(frame, path)

    assert len(read_table(path)) == 3


def test_write_leaves_no_temporary_file(tmp_path: Path, frame: pd.DataFrame) -> None:
    write_table(frame, tmp_path / "a.csv")
    write_table(frame, tmp_path / "b.parquet")

    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "b.parquet"]


def test_write_replaces_an_existing_file(tmp_path: Path, frame: pd.DataFrame) -> None:
    path = tmp_path / "data.csv"
    write_table(frame, path)

    write_table(frame.head(1), path)

    assert len(read_table(path)) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["data.csv"]


def test_write_into_a_missing_folder_is_a_data_file_error(
    tmp_path: Path, frame: pd.DataFrame
) -> None:
    path = tmp_path / "nowhere" / "data.csv"

    with pytest.raises(DataFileError, match=r"data\.csv"):
        write_table(frame, path)


@pytest.mark.parametrize("name", ["data.xlsx", "data.json", "data"])
def test_unknown_suffix(tmp_path: Path, frame: pd.DataFrame, name: str) -> None:
    path = tmp_path / name
    path.write_text("a,b\n1,2\n", encoding="utf-8")

    with pytest.raises(DataFileError, match=re.escape(name)):
        read_table(path)
    with pytest.raises(DataFileError, match=re.escape(name)):
        write_table(frame, tmp_path / f"out-{name}")


@pytest.mark.parametrize("name", ["missing.csv", "missing.parquet"])
def test_missing_file(tmp_path: Path, name: str) -> None:
    with pytest.raises(DataFileError, match=re.escape(name)):
        read_table(tmp_path / name)


def test_a_folder_is_not_a_data_file(tmp_path: Path) -> None:
    (tmp_path / "folder.csv").mkdir()

    with pytest.raises(DataFileError, match=r"folder\.csv"):
        read_table(tmp_path / "folder.csv")


@pytest.mark.parametrize(
    "content",
    [b"", b"PAR1 this is not really parquet", np.random.default_rng(0).bytes(500)],
    ids=["empty", "fake-magic", "random"],
)
def test_corrupt_parquet(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "broken.parquet"
    path.write_bytes(content)

    with pytest.raises(DataFileError, match=r"broken\.parquet"):
        read_table(path)


def test_truncated_parquet(tmp_path: Path, frame: pd.DataFrame) -> None:
    path = tmp_path / "cut.parquet"
    write_table(frame, path)
    path.write_bytes(path.read_bytes()[:-20])

    with pytest.raises(DataFileError, match=r"cut\.parquet"):
        read_table(path)


def test_empty_csv(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")

    with pytest.raises(DataFileError, match=r"empty\.csv"):
        read_table(path)


def test_malformed_csv(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text("a,b\n1,2\n3,4,5,6\n", encoding="utf-8")

    with pytest.raises(DataFileError, match=r"ragged\.csv"):
        read_table(path)


def test_csv_that_is_not_text(tmp_path: Path) -> None:
    path = tmp_path / "binary.csv"
    path.write_bytes(b"a,b\n\xff\xfe\xfa,1\n")

    with pytest.raises(DataFileError, match=r"binary\.csv"):
        read_table(path)


SIGNATURE = Signature(
    (
        ColumnSpec("age", "float", "float64", nullable=True),
        ColumnSpec("code", "string", "object", nullable=True),
    )
)


def test_read_input_leaves_only_the_bad_cell_as_text(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("age,code\n41,007\n,008\nabc,009\nnan,010\n", encoding="utf-8")

    frame = read_input(path, SIGNATURE)

    assert frame["age"].tolist()[:1] == [41.0]
    assert np.isnan(frame.loc[1, "age"])
    assert frame["age"].tolist()[2:] == ["abc", "nan"]  # text the user wrote, not a null
    assert frame["code"].tolist() == ["007", "008", "009", "010"]
    assert [p.row for p in validate(SIGNATURE, frame)] == [2, 3]


def test_read_input_reads_only_the_empty_field_as_missing(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("age,code\n1,n/a\n,NA\nn/a,\nNULL,x\n", encoding="utf-8")

    default = read_input(path, SIGNATURE)
    named = read_input(path, SIGNATURE, na_values=["n/a", "NA", "NULL"])

    assert default["code"].isna().tolist() == [False, False, True, False]
    assert default["age"].isna().tolist() == [False, True, False, False]
    assert named["code"].isna().tolist() == [True, True, True, False]
    assert named["age"].isna().tolist() == [False, True, True, True]
    assert validate(SIGNATURE, named) == []


def test_read_input_refuses_na_values_for_parquet(tmp_path: Path, frame: pd.DataFrame) -> None:
    path = tmp_path / "in.parquet"
    frame.to_parquet(path)

    with pytest.raises(InvalidArgumentError, match=r"apply to CSV input only; .*in\.parquet"):
        read_input(path, None, na_values=["NA"])


def test_a_csv_with_a_repeated_header_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text("a,a,b\n1,2,3\n")

    with pytest.raises(DataFileError, match="repeated"):
        read_table(path)


def test_dates_in_mixed_formats_are_read_or_refused_cleanly() -> None:
    from ferryman.schema import check_input, infer_signature

    signature = infer_signature(pd.DataFrame({"d": pd.to_datetime(["2024-01-01", "2024-02-01"])}))
    frame = check_input(signature, [{"d": "2024-01-03"}, {"d": "01/02/2024 10:00"}])
    assert frame["d"].dt.year.tolist() == [2024, 2024]


def test_a_csv_row_longer_than_its_header_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text("a,b\n1,2,3,4\n5,6\n")
    with pytest.raises(DataFileError, match="line 2 has 4 fields"):
        read_table(path)
