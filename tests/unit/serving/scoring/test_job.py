"""Batch scoring: CSV and Parquet in and out in chunks, rejects with reasons, no half files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scoring_support import FIRST, ROWS, SECOND, leftovers, read_file, write_file
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from ferryman.errors import (
    DataFileError,
    InvalidInputError,
    PredictionError,
)
from ferryman.registry import LoadedModel, Registry
from ferryman.serving.scoring.job import ScoreProgress, default_rejects_path, score_file


@pytest.mark.parametrize(
    ("source", "target"),
    [(".csv", ".csv"), (".parquet", ".parquet"), (".csv", ".parquet"), (".parquet", ".csv")],
)
def test_scores_every_row_as_the_loaded_model_does(
    registry: Registry,
    model: LoadedModel,
    with_ids: pd.DataFrame,
    features: pd.DataFrame,
    tmp_path: Path,
    source: str,
    target: str,
) -> None:
    data = write_file(with_ids, tmp_path / f"in{source}")
    out = tmp_path / f"out{target}"

    report = score_file(registry, "cancer@latest", data, out, id_column="customer", chunk_rows=100)

    table = read_file(out)
    assert list(table.columns) == ["customer", "prediction", "proba_0", "proba_1"]
    assert table["customer"].tolist() == with_ids["customer"].tolist()
    np.testing.assert_allclose(
        table[["proba_0", "proba_1"]].to_numpy(), model.predict_proba(features), rtol=1e-12
    )
    assert table["prediction"].tolist() == model.predict(features).tolist()
    assert (report.rows_in, report.rows_scored, report.rows_rejected) == (ROWS, ROWS, 0)
    assert (report.ref, report.output, report.rejects) == ("cancer/1", out, None)
    assert report.seconds > 0
    assert not default_rejects_path(out).exists()
    assert leftovers(tmp_path) == []


def test_without_an_id_column_rows_are_numbered_from_zero(
    registry: Registry, model: LoadedModel, features: pd.DataFrame, tmp_path: Path
) -> None:
    data = write_file(features, tmp_path / "in.parquet")

    score_file(registry, "cancer/1", data, tmp_path / "out.parquet", chunk_rows=64)

    table = pq.read_table(tmp_path / "out.parquet")
    assert table.schema.field("row").type == pa.int64()
    assert table.column("row").to_pylist() == list(range(ROWS))


def test_ids_are_copied_as_written(
    registry: Registry, model: LoadedModel, features: pd.DataFrame, tmp_path: Path
) -> None:
    rows = pd.concat([pd.Series(["007", "010", "7"], name="code"), features.head(3)], axis=1)
    data = write_file(rows, tmp_path / "in.csv")

    score_file(registry, "cancer/1", data, tmp_path / "out.parquet", id_column="code")

    assert pq.read_table(tmp_path / "out.parquet").column("code").to_pylist() == [
        "007",
        "010",
        "7",
    ]


def test_a_saved_pandas_index_is_skipped_unless_named(
    registry: Registry, model: LoadedModel, features: pd.DataFrame, tmp_path: Path
) -> None:
    shuffled = features.sample(frac=1.0, random_state=0)  # saved as __index_level_0__
    shuffled.to_parquet(unnamed := tmp_path / "unnamed.parquet")
    keyed = features.set_axis([f"k{i}" for i in range(ROWS)]).rename_axis("customer")
    keyed.to_parquet(named := tmp_path / "named.parquet")
    assert "__index_level_0__" in pq.read_schema(unnamed).names

    score_file(registry, "cancer/1", unnamed, tmp_path / "a.parquet", chunk_rows=100)
    score_file(registry, "cancer/1", named, tmp_path / "b.parquet", id_column="customer")

    assert pd.read_parquet(tmp_path / "a.parquet")["row"].tolist() == list(range(ROWS))
    ids = pd.read_parquet(tmp_path / "b.parquet")["customer"].tolist()
    assert ids == [f"k{i}" for i in range(ROWS)]


def test_rows_that_break_the_signature_are_rejected_with_reasons(
    registry: Registry,
    model: LoadedModel,
    with_ids: pd.DataFrame,
    features: pd.DataFrame,
    tmp_path: Path,
) -> None:
    frame = with_ids.astype({FIRST: object, SECOND: object})
    frame.loc[3, FIRST] = "abc"  # not a number
    frame.loc[150, SECOND] = None  # null where training had none
    frame.loc[151, FIRST] = "big"  # two problems in one row
    frame.loc[151, SECOND] = None
    frame.loc[568, FIRST] = float("inf")
    data = write_file(frame, tmp_path / "in.csv")
    out = tmp_path / "scores.csv"

    report = score_file(registry, "cancer@latest", data, out, id_column="customer", chunk_rows=100)

    bad = [3, 150, 151, 568]
    assert (report.rows_in, report.rows_scored, report.rows_rejected) == (ROWS, ROWS - 4, 4)
    assert report.rejects == tmp_path / "scores.rejects.csv"
    rejects = pd.read_csv(report.rejects, dtype=str)
    assert list(rejects.columns[:2]) == ["customer", "reason"]
    assert list(rejects.columns[2:]) == [c for c in frame.columns if c != "customer"]
    assert rejects["customer"].tolist() == [f"c{i:04d}" for i in bad]
    assert rejects["reason"].tolist() == [
        "column 'mean radius': expected float, got str 'abc'",
        "column 'mean texture': null, but training data had no nulls here",
        "column 'mean radius': expected float, got str 'big'; "
        "column 'mean texture': null, but training data had no nulls here",
        "column 'mean radius': infinite",
    ]
    assert rejects[FIRST].tolist() == ["abc", str(frame.loc[150, FIRST]), "big", "inf"]
    table = pd.read_csv(out, dtype={"customer": str})
    good = [i for i in range(ROWS) if i not in bad]
    assert table["customer"].tolist() == [f"c{i:04d}" for i in good]
    np.testing.assert_allclose(
        table[["proba_0", "proba_1"]].to_numpy(),
        model.predict_proba(features.iloc[good]),
        rtol=1e-12,
    )


def test_rejected_rows_keep_their_row_number_in_the_input(
    registry: Registry, model: LoadedModel, features: pd.DataFrame, tmp_path: Path
) -> None:
    frame = features.copy()
    frame.loc[[0, 99, 100, 333], FIRST] = np.nan
    data = write_file(frame, tmp_path / "in.parquet")
    rejects = tmp_path / "bad" / "rejects.csv"
    rejects.parent.mkdir()

    report = score_file(
        registry, "cancer/1", data, tmp_path / "out.parquet", rejects_path=rejects, chunk_rows=50
    )

    assert report.rejects == rejects
    assert pd.read_csv(rejects)["row"].tolist() == [0, 99, 100, 333]
    rows = pq.read_table(tmp_path / "out.parquet").column("row").to_pylist()
    assert len(rows) == ROWS - 4
    assert {0, 99, 100, 333}.isdisjoint(rows)
    assert rows == sorted(rows)


def test_a_stale_rejects_file_is_removed_when_no_row_is_rejected(
    registry: Registry, model: LoadedModel, features: pd.DataFrame, tmp_path: Path
) -> None:
    data = write_file(features, tmp_path / "in.csv")
    stale = tmp_path / "out.rejects.csv"
    stale.write_text("row,reason\n1,old\n")

    report = score_file(registry, "cancer/1", data, tmp_path / "out.csv")

    assert report.rejects is None
    assert not stale.exists()


def test_a_regressor_answers_one_number_per_row(
    registry: Registry, cancer_frame: pd.DataFrame, features: pd.DataFrame, tmp_path: Path
) -> None:
    train = features.assign(score=cancer_frame["target"] * 10.0)
    registry.register(
        Ridge().fit(features, train["score"]), "reg", train_data=train, target="score"
    )
    data = write_file(train, tmp_path / "in.parquet")

    report = score_file(registry, "reg/1", data, tmp_path / "out.csv", chunk_rows=128)

    table = pd.read_csv(tmp_path / "out.csv")
    assert list(table.columns) == ["row", "prediction"]
    np.testing.assert_allclose(
        table["prediction"], registry.load("reg/1").predict(features), rtol=1e-12
    )
    assert report.rows_scored == ROWS


def test_text_and_category_columns_stay_text(registry: Registry, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    train = pd.DataFrame(
        {
            "city": rng.choice(["oslo", "bergen", "0047"], size=300),
            "x": rng.normal(size=300),
        }
    )
    train["y"] = (train["city"] == "oslo") ^ (train["x"] > 0)
    pipe = make_pipeline(
        make_column_transformer((OneHotEncoder(), ["city"]), remainder="passthrough"),
        LogisticRegression(),
    )
    pipe.fit(train[["city", "x"]], train["y"])
    registry.register(pipe, "city", train_data=train, target="y")
    loaded = registry.load("city/1")
    assert loaded.signature is not None
    city = loaded.signature.column("city")
    assert (city.kind, city.categories) == ("string", ("0047", "bergen", "oslo"))
    data = pd.DataFrame({"city": ["0047", "paris", "oslo", "bergen"], "x": [0.5, 1.0, -1.0, 2.0]})
    path = write_file(data, tmp_path / "in.csv")

    report = score_file(registry, "city/1", path, tmp_path / "out.parquet", chunk_rows=3)

    assert report.rows_rejected == 1
    rejects = pq.read_table(tmp_path / "out.rejects.parquet").to_pylist()
    assert rejects[0]["row"] == 1
    assert rejects[0]["city"] == "paris"
    assert "'paris' was never seen in training" in rejects[0]["reason"]
    table = pd.read_parquet(tmp_path / "out.parquet")
    assert table["row"].tolist() == [0, 2, 3]
    expected = loaded.predict_proba(data.iloc[[0, 2, 3]])
    np.testing.assert_allclose(table[["proba_False", "proba_True"]].to_numpy(), expected)
    assert table["prediction"].tolist() == loaded.predict(data.iloc[[0, 2, 3]]).tolist()


def test_a_missing_column_fails_before_any_output_exists(
    registry: Registry, model: LoadedModel, features: pd.DataFrame, tmp_path: Path
) -> None:
    data = write_file(features.drop(columns=[FIRST, SECOND]).assign(extra=1), tmp_path / "in.csv")
    out = tmp_path / "out.csv"

    with pytest.raises(InvalidInputError) as caught:
        score_file(registry, "cancer/1", data, out)

    message = str(caught.value)
    assert message.startswith(f"{data} does not have the columns cancer/1 takes")
    assert "missing 'mean radius', 'mean texture'" in message
    assert "unknown 'extra'" in message
    assert {p.kind for p in caught.value.problems} == {"missing_column", "unknown_column"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "store"]


def test_an_id_column_the_file_lacks_is_refused(
    registry: Registry, model: LoadedModel, features: pd.DataFrame, tmp_path: Path
) -> None:
    data = write_file(features, tmp_path / "in.parquet")

    with pytest.raises(InvalidInputError, match=r"id column 'customer' is not in .*in\.parquet"):
        score_file(registry, "cancer/1", data, tmp_path / "out.csv", id_column="customer")
    with pytest.raises(InvalidInputError, match="clash with the output's own 'prediction'"):
        score_file(
            registry,
            "cancer/1",
            write_file(features.assign(prediction=1), tmp_path / "in2.csv"),
            tmp_path / "out.csv",
            id_column="prediction",
        )
    assert not (tmp_path / "out.csv").exists()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("absent.csv", None, "does not exist"),
        ("garbage.parquet", b"not parquet at all", "cannot read .* as Parquet"),
        ("binary.csv", b"\xff\xfe\x00\x81\x00,\xff\n\x80\x81,\x82\n", "cannot read .* as CSV"),
        ("empty.csv", b"", "is empty: a CSV input needs a header line"),
        ("data.json", b"{}", "cannot tell the format of .*data.json"),
    ],
)
def test_unreadable_input_is_a_data_file_error_naming_it(
    registry: Registry,
    model: LoadedModel,
    tmp_path: Path,
    name: str,
    content: bytes | None,
    message: str,
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)

    with pytest.raises(DataFileError, match=message) as caught:
        score_file(registry, "cancer/1", path, tmp_path / "out.parquet")

    assert name in str(caught.value)
    assert not (tmp_path / "out.parquet").exists()
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_an_input_with_no_rows_gives_an_output_with_no_rows(
    registry: Registry, model: LoadedModel, features: pd.DataFrame, tmp_path: Path, suffix: str
) -> None:
    data = write_file(features.head(0), tmp_path / f"in{suffix}")
    out = tmp_path / f"out{suffix}"

    report = score_file(registry, "cancer/1", data, out)

    assert (report.rows_in, report.rows_scored, report.rows_rejected) == (0, 0, 0)
    table = read_file(out)
    assert list(table.columns) == ["row", "prediction", "proba_0", "proba_1"]
    assert len(table) == 0


def test_a_failure_halfway_leaves_no_output_and_the_old_one_untouched(
    registry: Registry, model: LoadedModel, features: pd.DataFrame, tmp_path: Path
) -> None:
    data = write_file(features, tmp_path / "in.csv")
    lines = data.read_text().splitlines()
    lines[400] += ",1,2,3"  # too many fields, well past the first chunks
    data.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out.parquet"
    out.write_bytes(b"yesterday's scores")

    with pytest.raises(DataFileError, match=r"cannot read .*in\.csv as CSV: .*line 401"):
        score_file(registry, "cancer/1", data, out, chunk_rows=50)

    assert out.read_bytes() == b"yesterday's scores"
    assert leftovers(tmp_path) == []


def test_the_output_cannot_be_the_input(
    registry: Registry, model: LoadedModel, features: pd.DataFrame, tmp_path: Path
) -> None:
    data = write_file(features, tmp_path / "in.csv")

    with pytest.raises(DataFileError, match="is the input file"):
        score_file(registry, "cancer/1", data, data)

    assert len(pd.read_csv(data)) == ROWS


def test_progress_counts_rows_for_parquet_and_bytes_for_csv(
    registry: Registry, model: LoadedModel, features: pd.DataFrame, tmp_path: Path
) -> None:
    parquet: list[ScoreProgress] = []
    data = write_file(features, tmp_path / "in.parquet")
    score_file(
        registry, "cancer/1", data, tmp_path / "out.csv", chunk_rows=200, progress=parquet.append
    )
    csv: list[ScoreProgress] = []
    big = write_file(pd.concat([features] * 8, ignore_index=True), tmp_path / "big.csv")
    score_file(registry, "cancer/1", big, tmp_path / "out.csv", chunk_rows=500, progress=csv.append)

    assert [p.rows_done for p in parquet] == [200, 400, ROWS]
    assert {p.rows_total for p in parquet} == {ROWS}
    assert [p.rows_done for p in csv] == [*range(500, 8 * ROWS, 500), 8 * ROWS]
    assert {p.rows_total for p in csv} == {None}
    done = [p.bytes_done for p in csv]
    assert done == sorted(done)
    assert 0 < done[0] < done[-1] == csv[-1].bytes_total == big.stat().st_size


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_predicting_several_chunks_at_once_keeps_the_input_order(
    registry: Registry, model: LoadedModel, with_ids: pd.DataFrame, tmp_path: Path, suffix: str
) -> None:
    frame = with_ids.copy()
    for row in (5, 17, 200, 560):
        frame.loc[row, FIRST] = None  # refused rows (training had no nulls) in several chunks
    data = write_file(frame, tmp_path / f"in{suffix}")
    outputs = {}
    for threads in (1, 4):
        out = tmp_path / f"out-{threads}{suffix}"
        seen: list[ScoreProgress] = []
        report = score_file(
            registry,
            "cancer/1",
            data,
            out,
            id_column="customer",
            chunk_rows=16,
            threads=threads,
            progress=seen.append,
        )
        assert report.rows_rejected == 4
        assert [p.rows_done for p in seen] == [*range(16, ROWS, 16), ROWS]
        outputs[threads] = (read_file(out), read_file(default_rejects_path(out)))

    (one, one_rejects), (four, four_rejects) = outputs[1], outputs[4]
    pd.testing.assert_frame_equal(one, four)
    pd.testing.assert_frame_equal(one_rejects, four_rejects)
    expected = [c for i, c in enumerate(with_ids["customer"]) if i not in (5, 17, 200, 560)]
    assert one["customer"].tolist() == expected


def test_threads_below_one_are_refused(
    registry: Registry, model: LoadedModel, features: pd.DataFrame, tmp_path: Path
) -> None:
    data = write_file(features, tmp_path / "in.parquet")

    with pytest.raises(ValueError, match="threads must be at least 1, got 0"):
        score_file(registry, "cancer/1", data, tmp_path / "out.parquet", threads=0)


@pytest.mark.parametrize("threads", [1, 3])
def test_rows_the_model_fails_on_go_to_the_rejects_file_and_the_job_goes_on(
    registry: Registry,
    model: LoadedModel,
    features: pd.DataFrame,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    threads: int,
) -> None:
    loaded = registry.load("cancer/1")  # the registry's cached instance, used by score_file
    real = loaded.predictor.predict_proba
    bad = np.flatnonzero(features[FIRST].to_numpy() > 28).tolist()
    assert bad == [212]  # radius 28.11, in the fifth chunk

    def fails_on_big_radius(frame: pd.DataFrame) -> np.ndarray:
        if (frame[FIRST] > 28).any():
            raise RuntimeError("tree 7 exploded\nsecond line")
        return real(frame)

    monkeypatch.setattr(loaded.predictor, "predict_proba", fails_on_big_radius)
    data = write_file(features, tmp_path / "in.parquet")
    out = tmp_path / "out.parquet"

    report = score_file(registry, "cancer/1", data, out, chunk_rows=50, threads=threads)

    assert (report.rows_in, report.rows_scored, report.rows_rejected) == (ROWS, ROWS - 1, 1)
    table = read_file(out)
    assert 212 not in table["row"].tolist()
    assert len(table) == ROWS - 1
    good = features.drop(index=212)
    np.testing.assert_allclose(table[["proba_0", "proba_1"]].to_numpy(), real(good), rtol=1e-12)
    assert report.rejects is not None
    rejects = read_file(report.rejects)
    assert rejects["row"].tolist() == [212]
    assert rejects["reason"].tolist() == ["the model failed on this row: tree 7 exploded"]
    assert rejects[FIRST].tolist() == [str(features.loc[212, FIRST])]
    assert leftovers(tmp_path) == []


def test_a_model_failing_only_on_rows_together_fails_the_job_and_leaves_no_output(
    registry: Registry,
    model: LoadedModel,
    features: pd.DataFrame,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loaded = registry.load("cancer/1")
    real = loaded.predictor.predict_proba

    def fails_on_big_chunks(frame: pd.DataFrame) -> np.ndarray:
        if len(frame) > 40:
            raise RuntimeError("out of memory")
        return real(frame)

    monkeypatch.setattr(loaded.predictor, "predict_proba", fails_on_big_chunks)
    data = write_file(features, tmp_path / "in.parquet")
    out = tmp_path / "out.parquet"

    together = r"cancer/1 failed to predict on the chunk starting at input row 0, though on "
    with pytest.raises(PredictionError, match=together + r"each row alone it can: out of memory$"):
        score_file(registry, "cancer/1", data, out, chunk_rows=50, threads=1)

    assert not out.exists()
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("chunk_rows", [50, 400])
def test_a_model_failing_on_every_row_fails_the_job_instead_of_rejecting_them_all(
    registry: Registry,
    model: LoadedModel,
    features: pd.DataFrame,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    chunk_rows: int,
) -> None:
    loaded = registry.load("cancer/1")
    calls = 0

    def broken(frame: pd.DataFrame) -> np.ndarray:
        nonlocal calls
        calls += 1
        raise AttributeError("'LogisticRegression' object has no attribute 'multi_class'")

    monkeypatch.setattr(loaded.predictor, "predict_proba", broken)
    data = write_file(features, tmp_path / "in.parquet")
    out = tmp_path / "out.parquet"

    many = "every row" if chunk_rows == 50 else "more than 100 rows"
    with pytest.raises(PredictionError, match=f"fails on {many} of the chunk starting at input"):
        score_file(registry, "cancer/1", data, out, chunk_rows=chunk_rows, threads=1)

    assert calls < 2 * 101 * 10  # the search stopped: not two calls for each of the rows
    assert not out.exists()
    assert leftovers(tmp_path) == []
