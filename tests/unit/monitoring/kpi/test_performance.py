"""Live KPIs equal scikit-learn's on the same rows."""

from __future__ import annotations

import dataclasses
import itertools
import shutil
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from scipy import stats
from sklearn import metrics

from ferryman.core.predictions import PredictionRecord
from ferryman.monitoring.kpi.feedback import FeedbackResult, FeedbackStore
from ferryman.monitoring.kpi.performance import compute_performance
from ferryman.monitoring.log.reader import LogReader
from ferryman.monitoring.log.writer import PredictionLog

DAY = datetime(2026, 5, 4, tzinfo=UTC)
END = DAY + timedelta(days=1)
TOL = 1e-9
EPS = float(np.finfo(np.float64).eps)


def normal_interval(values: np.ndarray) -> tuple[float, float]:
    """The mean of ``values`` +- 1.96 standard errors (sample standard deviation)."""
    half = stats.norm.ppf(0.975) * values.std(ddof=1) / np.sqrt(len(values))
    return float(values.mean() - half), float(values.mean() + half)


class RoutedFeedback(FeedbackStore):
    """Feedback stored with its predictions' facts ("stored"), without them as if each
    prediction were logged after its feedback ("joined": the KPI query joins those), or
    every other item each way ("mixed"). Every test runs the three ways."""

    def __init__(self, root: str, reader: LogReader, mode: str) -> None:
        ticks = itertools.count()
        # received a little after the day logged (the store looks back 30 days for it)
        super().__init__(root, reader, clock=lambda: END.timestamp() + 60 + next(ticks))
        self.mode = mode
        self.plain = FeedbackStore(root)  # no reader: nothing matched when stored
        self.plain._received_at = self._received_at  # type: ignore[method-assign]

    def add(self, model: str, items: Sequence[Mapping[str, Any]], **kw: Any) -> FeedbackResult:
        if self.mode == "stored":
            return super().add(model, items, **kw)
        if self.mode == "joined":
            return self.plain.add(model, items, **kw)
        first = super().add(model, items[::2], **kw)
        second = self.plain.add(model, items[1::2], **kw)
        return FeedbackResult(first.accepted + second.accepted, first.rejected + second.rejected)


class Fixture:
    def __init__(self, root: Path, mode: str) -> None:
        self.reader = LogReader(str(root))
        self.feedback = RoutedFeedback(str(root), self.reader, mode)
        self.root = str(root)

    def log(self, records: list[PredictionRecord]) -> None:
        log = PredictionLog(self.root, start=False)
        for record in records:
            log.record(record)
        log.close()

    def report(self, task: str, **kwargs: Any) -> Any:
        return compute_performance(self.reader, self.feedback, "m", DAY, END, task, **kwargs)


@pytest.fixture(params=["stored", "joined", "mixed"])
def fx(tmp_path: Path, request: pytest.FixtureRequest) -> Fixture:
    out = Fixture(tmp_path, request.param)
    yield out
    out.reader.close()


def classifier_records(
    n: int, classes: tuple[Any, ...], rng: np.random.Generator, version: int = 1
) -> tuple[list[PredictionRecord], np.ndarray, np.ndarray]:
    proba = rng.dirichlet(np.ones(len(classes)), size=n)
    if len(classes) == 2:
        proba[: n // 4, 1] = np.round(proba[: n // 4, 1], 1)  # ties in the score
        proba[: n // 4, 0] = 1 - proba[: n // 4, 1]
    predicted = np.array(classes, dtype=object)[proba.argmax(axis=1)]
    records = [
        PredictionRecord(
            "m",
            version,
            f"v{version}-{i}",
            (DAY + timedelta(seconds=60 * i)).timestamp(),
            1.0,
            "simple",
            ("x",),
            np.array([[float(i)]]),
            predicted[i : i + 1],
            proba[i : i + 1],
            classes,
        )
        for i in range(n)
    ]
    return records, predicted, proba


def test_binary_metrics_equal_sklearn(fx: Fixture) -> None:
    rng = np.random.default_rng(0)
    records, predicted, proba = classifier_records(600, (0, 1), rng)
    fx.log(records)
    truth = rng.integers(0, 2, 600)
    labelled = rng.random(600) < 0.7
    fx.feedback.add(
        "m",
        [
            {"request_id": records[i].request_id, "label": int(truth[i])}
            for i in np.flatnonzero(labelled)
        ],
    )
    report = fx.report("classification")
    (row,) = report.rows
    y, p, s = truth[labelled], predicted[labelled].astype(int), proba[labelled]
    m = row.metrics
    assert (report.positive_class, report.average) == ("1", "binary")
    assert row.predictions == 600
    assert row.labelled == labelled.sum()
    assert row.coverage == pytest.approx(labelled.mean())
    assert m["accuracy"] == pytest.approx(metrics.accuracy_score(y, p), abs=TOL)
    assert m["precision"] == pytest.approx(metrics.precision_score(y, p), abs=TOL)
    assert m["recall"] == pytest.approx(metrics.recall_score(y, p), abs=TOL)
    assert m["f1"] == pytest.approx(metrics.f1_score(y, p), abs=TOL)
    assert m["roc_auc"] == pytest.approx(metrics.roc_auc_score(y, s[:, 1]), abs=TOL)
    assert m["log_loss"] == pytest.approx(metrics.log_loss(y, s), abs=TOL)
    assert row.reasons == {}
    tp, fp, fn = (
        ((p == 1) & (y == 1)).sum(),
        ((p == 1) & (y == 0)).sum(),
        ((p == 0) & (y == 1)).sum(),
    )
    for name, k, n in (
        ("accuracy", (p == y).sum(), len(y)),
        ("precision", tp, tp + fp),
        ("recall", tp, tp + fn),
    ):
        wilson = stats.binomtest(int(k), int(n)).proportion_ci(method="wilson")
        assert row.intervals[name] == pytest.approx((wilson.low, wilson.high), rel=1e-9), name
    loss = -np.log(np.clip(s[np.arange(len(y)), y], EPS, 1 - EPS))
    assert row.intervals["log_loss"] == pytest.approx(normal_interval(loss), rel=1e-9)
    for name in ("f1", "roc_auc"):
        low, high = row.intervals[name]
        assert low < m[name] < high


def test_multiclass_metrics_equal_sklearn(fx: Fixture) -> None:
    rng = np.random.default_rng(1)
    classes = ("cat", "dog", "eel")
    records, predicted, proba = classifier_records(500, classes, rng)
    fx.log(records)
    truth = np.array(classes, dtype=object)[rng.integers(0, 3, 500)]
    fx.feedback.add(
        "m", [{"request_id": r.request_id, "label": t} for r, t in zip(records, truth, strict=True)]
    )
    report = fx.report("classification")
    (row,) = report.rows
    m = row.metrics
    assert report.average == "macro"
    kw = {"average": "macro", "zero_division": 0}
    assert m["accuracy"] == pytest.approx(metrics.accuracy_score(truth, predicted), abs=TOL)
    assert m["precision"] == pytest.approx(metrics.precision_score(truth, predicted, **kw), abs=TOL)
    assert m["recall"] == pytest.approx(metrics.recall_score(truth, predicted, **kw), abs=TOL)
    assert m["f1"] == pytest.approx(metrics.f1_score(truth, predicted, **kw), abs=TOL)
    assert m["log_loss"] == pytest.approx(
        metrics.log_loss(truth, proba, labels=list(classes)), abs=TOL
    )
    assert m["roc_auc"] is None
    assert "binary" in row.reasons["roc_auc"]


def test_regression_metrics_equal_sklearn(fx: Fixture) -> None:
    rng = np.random.default_rng(2)
    predicted = rng.normal(50, 10, 400)
    truth = predicted + rng.normal(0, 5, 400)
    records = [
        PredictionRecord(
            "m",
            2,
            f"q{i}",
            (DAY + timedelta(seconds=i)).timestamp(),
            1.0,
            "simple",
            ("x",),
            np.array([[1.0]]),
            predicted[i : i + 1],
        )
        for i in range(400)
    ]
    fx.log(records)
    values = rng.normal(3, 1, 400)
    result = fx.feedback.add(
        "m",
        [
            {"request_id": f"q{i}", "label": float(truth[i]), "value": float(values[i])}
            for i in range(400)
        ],
        task="regression",
    )
    assert result.accepted == 400
    (row,) = fx.report("regression").rows
    m = row.metrics
    assert row.version == 2
    assert m["mae"] == pytest.approx(metrics.mean_absolute_error(truth, predicted), abs=TOL)
    assert m["rmse"] == pytest.approx(
        np.sqrt(metrics.mean_squared_error(truth, predicted)), abs=TOL
    )
    assert m["r2"] == pytest.approx(metrics.r2_score(truth, predicted), abs=TOL)
    assert row.value_mean == pytest.approx(values.mean(), abs=TOL)
    assert row.values == 400
    errors = truth - predicted
    assert row.intervals["mae"] == pytest.approx(normal_interval(np.abs(errors)), rel=1e-9)
    mse_low, mse_high = normal_interval(errors**2)
    assert row.intervals["rmse"] == pytest.approx((mse_low**0.5, mse_high**0.5), rel=1e-9)
    assert row.intervals["business_value"] == pytest.approx(normal_interval(values), rel=1e-9)
    assert "r2" not in row.intervals  # documented: R² has no interval


def test_buckets_and_versions(fx: Fixture) -> None:
    rng = np.random.default_rng(3)
    first, pred1, _ = classifier_records(240, (0, 1), rng, version=1)
    second, pred2, _ = classifier_records(120, (0, 1), rng, version=2)
    fx.log(first + second)
    truth1, truth2 = rng.integers(0, 2, 240), rng.integers(0, 2, 120)
    fx.feedback.add(
        "m",
        [{"request_id": r.request_id, "label": int(t)} for r, t in zip(first, truth1, strict=True)]
        + [
            {"request_id": r.request_id, "label": int(t)}
            for r, t in zip(second, truth2, strict=True)
        ],
    )
    report = fx.report("classification", bucket=3600)  # records are a minute apart
    assert [(r.version, r.bucket_start) for r in report.rows] == [
        (1, DAY + timedelta(hours=h)) for h in range(4)
    ] + [(2, DAY + timedelta(hours=h)) for h in range(2)]
    for row in report.rows:
        hour = (row.bucket_start - DAY) // timedelta(hours=1)
        truth, pred = (truth1, pred1) if row.version == 1 else (truth2, pred2)
        part = slice(60 * hour, 60 * hour + 60)
        assert row.metrics["accuracy"] == pytest.approx(
            metrics.accuracy_score(truth[part], pred[part].astype(int)), abs=TOL
        )


def test_latest_feedback_counts(fx: Fixture) -> None:
    records, predicted, _ = classifier_records(10, (0, 1), np.random.default_rng(4))
    fx.log(records)
    fx.feedback.add(
        "m",
        [
            {"request_id": r.request_id, "label": 1 - int(p)}
            for r, p in zip(records, predicted, strict=True)
        ],
    )
    assert fx.report("classification").rows[0].metrics["accuracy"] == 0.0
    fx.feedback.add(
        "m",
        [
            {"request_id": r.request_id, "label": int(p)}
            for r, p in zip(records, predicted, strict=True)
        ],
    )
    row = fx.report("classification").rows[0]
    assert row.metrics["accuracy"] == 1.0
    assert row.labelled == 10


def test_labels_outside_the_classes(fx: Fixture) -> None:
    records, predicted, _ = classifier_records(10, (0, 1), np.random.default_rng(5))
    fx.log(records)
    labels = [int(p) for p in predicted[:9]] + [7]
    fx.feedback.add(
        "m",
        [{"request_id": r.request_id, "label": t} for r, t in zip(records, labels, strict=True)],
    )
    row = fx.report("classification").rows[0]
    assert row.metrics["accuracy"] == pytest.approx(0.9)
    assert row.metrics["log_loss"] is None
    assert "outside" in row.reasons["log_loss"]
    assert row.metrics["roc_auc"] is None


def test_one_class_only_and_no_labels(fx: Fixture) -> None:
    records, _, _ = classifier_records(10, (0, 1), np.random.default_rng(6))
    fx.log(records)
    row = fx.report("classification").rows[0]
    assert row.labelled == 0
    assert row.metrics["accuracy"] is None
    assert row.reasons["accuracy"] == "no labelled predictions in the window"
    fx.feedback.add("m", [{"request_id": r.request_id, "label": 1} for r in records])
    row = fx.report("classification").rows[0]
    assert row.metrics["roc_auc"] is None
    assert row.reasons["roc_auc"] == "only one class among the labels"


def test_no_predictions(fx: Fixture) -> None:
    report = fx.report("classification")
    assert report.rows == []
    assert report.reason == "no predictions"
    assert report.to_frame().empty
    with pytest.raises(ValueError, match="task"):
        fx.report("ranking")


@pytest.mark.parametrize("decimals", [None, 1, 0])
def test_roc_auc_with_and_without_ties_equals_sklearn(fx: Fixture, decimals: int | None) -> None:
    rng = np.random.default_rng(7)
    records, _, proba = classifier_records(300, (0, 1), rng)
    if decimals is not None:  # every score tied with many others, or only 0 and 1
        for record in records:
            p = float(np.round(record.probabilities[0, 1], decimals))
            record.probabilities[0] = [1 - p, p]
            proba[int(record.request_id.split("-")[1])] = [1 - p, p]
    fx.log(records)
    truth = rng.integers(0, 2, 300)
    fx.feedback.add(
        "m",
        [
            {"request_id": r.request_id, "label": int(t)}
            for r, t in zip(records, truth, strict=True)
        ],
    )
    (row,) = fx.report("classification").rows
    assert row.metrics["roc_auc"] == pytest.approx(
        metrics.roc_auc_score(truth, proba[:, 1]), abs=TOL
    )
    assert row.metrics["log_loss"] == pytest.approx(metrics.log_loss(truth, proba), abs=TOL)


@pytest.mark.parametrize("fx", ["stored"], indirect=True)
def test_feedback_stores_its_predictions_facts(fx: Fixture) -> None:
    records, predicted, proba = classifier_records(5, (0, 1), np.random.default_rng(8))
    fx.log(records[:4])
    result = fx.feedback.add(
        "m",
        [{"request_id": r.request_id, "label": 1} for r in records]
        + [{"request_id": "x", "label": 0}],
    )
    assert (result.unknown_ids, result.unknown_sample) == (2, ["v1-4", "x"])
    (path,) = (Path(fx.root) / "feedback").rglob("*.parquet")
    stored = pq.read_table(path).to_pandas().set_index("request_id").sort_index()
    assert stored.loc[[f"v1-{i}" for i in range(4)], "version"].tolist() == [1] * 4
    for i in range(4):
        row = stored.loc[f"v1-{i}"]
        assert row["ts"] == pd.Timestamp(records[i].at, unit="s", tz="UTC")
        assert row["prediction"] == predicted[i]
        assert row["proba__1"] == proba[i, 1] == row["score"]
    assert stored.loc[["v1-4", "x"], ["version", "ts", "prediction"]].isna().all().all()


@pytest.mark.parametrize("fx", ["stored"], indirect=True)
def test_feedback_before_its_prediction_and_a_later_repeat(fx: Fixture) -> None:
    """Feedback for a prediction not logged yet counts once it is (joined at query time);
    a later label for it, stored with the facts, wins over the first one."""
    records, predicted, _ = classifier_records(20, (0, 1), np.random.default_rng(9))
    wrong = [
        {"request_id": r.request_id, "label": 1 - int(p)}
        for r, p in zip(records, predicted, strict=True)
    ]
    fx.feedback.add("m", wrong)  # nothing logged yet: stored without facts
    fx.log(records)
    row = fx.report("classification").rows[0]
    assert (row.labelled, row.metrics["accuracy"]) == (20, 0.0)
    right = [
        {"request_id": r.request_id, "label": int(p)}
        for r, p in zip(records, predicted, strict=True)
    ]
    fx.feedback.add("m", right[:10])  # these now match the logged predictions
    row = fx.report("classification").rows[0]
    assert (row.labelled, row.metrics["accuracy"]) == (20, 0.5)


def one(
    rid: str, at: datetime, predicted: Any, version: int = 1, *, proba: bool = True
) -> PredictionRecord:
    """A one-row prediction; with probabilities if ``predicted`` is a class of (0, 1)."""
    with_proba = proba and isinstance(predicted, int)
    proba_of = np.array([[0.2, 0.8]]) if with_proba else None
    classes = (0, 1) if with_proba else None
    return PredictionRecord(
        "m", version, rid, at.timestamp(), 1.0, "simple", ("x",), np.zeros((1, 1)),
        np.array([predicted]), proba_of, classes,
    )  # fmt: skip


@pytest.mark.parametrize("fx", ["stored"], indirect=True)
def test_stored_feedback_whose_prediction_day_was_deleted_is_not_counted(fx: Fixture) -> None:
    """Retention deletes a day of predictions before the feedback (kept by the day received)."""
    fx.log([one("a", DAY + timedelta(hours=1), 1), one("b", END + timedelta(hours=1), 1)])
    fx.feedback.add("m", [{"request_id": "a", "label": 1}, {"request_id": "b", "label": 1}])
    shutil.rmtree(Path(fx.root) / "predictions/model=m/version=1" / f"day={DAY.date()}")
    two_days = (DAY, END + timedelta(days=1))
    (row,) = compute_performance(fx.reader, fx.feedback, "m", *two_days, "classification").rows
    assert (row.predictions, row.labelled, row.coverage) == (1, 1, 1.0)
    hourly = compute_performance(
        fx.reader, fx.feedback, "m", *two_days, "classification", bucket=3600
    )
    assert [(r.bucket_start, r.predictions, r.labelled) for r in hourly.rows] == [
        (END + timedelta(hours=1), 1, 1)
    ]


@pytest.mark.parametrize("fx", ["stored"], indirect=True)
@pytest.mark.parametrize("feedback_first", [True, False])
def test_a_request_id_logged_twice(fx: Fixture, feedback_first: bool) -> None:
    """A client reusing its request id: feedback labels the predictions of that id the log
    held when it was stored (both, joined at query time, if it held two); a prediction logged
    after the feedback with an id already labelled is not labelled by it."""
    fx.log([one("same", DAY + timedelta(hours=1), 1, version=1)])
    if feedback_first:
        fx.feedback.add("m", [{"request_id": "same", "label": 1}])
    fx.log([one("same", DAY + timedelta(hours=2), 0, version=2)])
    if not feedback_first:
        fx.feedback.add("m", [{"request_id": "same", "label": 1}])
    rows = fx.report("classification").rows
    second = (2, 0, None) if feedback_first else (2, 1, 0.0)
    assert [(r.version, r.labelled, r.metrics["accuracy"]) for r in rows] == [(1, 1, 1.0), second]


@pytest.mark.parametrize("fx", ["stored"], indirect=True)
def test_stored_predictions_compare_as_the_windows_log_types_them(fx: Fixture) -> None:
    """Version 1 logs integers, version 2 (another day) floats: feedback looked up over both
    stores floats, and a window of version 1 alone still matches its classes."""
    fx.log(
        [one(f"a{i}", DAY + timedelta(hours=i), p, proba=False) for i, p in enumerate([1, 0, 1])]
    )
    fx.log([one("b", END + timedelta(days=1, hours=1), 1.5, version=2)])
    fx.feedback.add("m", [{"request_id": f"a{i}", "label": p} for i, p in enumerate([1, 0, 1])])
    (row,) = fx.report("classification", classes=(0, 1)).rows
    assert (row.version, row.labelled, row.metrics["accuracy"]) == (1, 3, 1.0)


def test_only_predictions_and_labels_of_the_selected_sources_count(fx: Fixture) -> None:
    rng = np.random.default_rng(5)
    records, predicted, _ = classifier_records(300, (0, 1), rng)
    scored = np.arange(300) % 3 == 0  # every third row comes from batch scoring
    records = [
        dataclasses.replace(r, source="score") if s else r
        for r, s in zip(records, scored, strict=True)
    ]
    fx.log(records)
    truth = rng.integers(0, 2, 300)
    fx.feedback.add(
        "m",
        [
            {"request_id": r.request_id, "label": int(t)}
            for r, t in zip(records, truth, strict=True)
        ],
    )
    for sources, chosen in (
        ({"live"}, ~scored),
        ({"score"}, scored),
        ({"live", "score"}, np.ones(300, dtype=bool)),
        (None, np.ones(300, dtype=bool)),
    ):
        (row,) = fx.report("classification", sources=sources).rows
        assert (row.predictions, row.labelled) == (chosen.sum(), chosen.sum()), sources
        expected = metrics.accuracy_score(truth[chosen], predicted[chosen].astype(int))
        assert row.metrics["accuracy"] == pytest.approx(expected, rel=1e-12), sources
