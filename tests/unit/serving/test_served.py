"""ServedVersion: warm-up picks the array path only where it answers like the DataFrame path,
and ``run`` answers every request with its own rows, exactly as LoadedModel would."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer, make_column_transformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import FixedThresholdClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.svm import LinearSVC

from ferryman.errors import InvalidInputError, PredictionError
from ferryman.registry import LoadedModel, Registry
from ferryman.serving.codec import ModelInput
from ferryman.serving.served import ServedVersion, _records, parts_of

PROPERTY = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(autouse=True)
def no_warnings() -> Iterator[None]:
    """Any warning (sklearn's "X does not have valid feature names" first) fails the test,
    whatever pytest's own filters say."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def served_version(registry: Registry, name: str, number: int = 1) -> ServedVersion:
    ref = f"{name}/{number}"
    served = ServedVersion(registry.load(ref))
    served.warm(registry.reference_sample(ref))
    return served


def records_of(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): v for k, v in r.items()} for r in frame.to_dict("records")]


def small_frame(rows: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(rng.normal(size=(rows, 5)), columns=[f"x{i}" for i in range(5)])
    frame["target"] = (frame.x0 + 0.5 * frame.x1 - frame.x3 > 0).astype(int)
    return frame


def city_frame(rows: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 80, rows).astype(float),
            "city": rng.choice(["oslo", "bergen", "tromso"], rows),
        }
    )
    frame["target"] = ((frame.age > 45) ^ (frame.city == "oslo")).astype(int)
    return frame


@pytest.fixture
def features(cancer_frame: pd.DataFrame) -> pd.DataFrame:
    return cancer_frame.drop(columns="target")


@pytest.fixture
def pipeline_served(
    registry: Registry, cancer_frame: pd.DataFrame, cancer_model: Pipeline
) -> ServedVersion:
    registry.register(cancer_model, "cancer", train_data=cancer_frame, target="target")
    return served_version(registry, "cancer")


@pytest.fixture
def regressor_served(registry: Registry, cancer_frame: pd.DataFrame) -> ServedVersion:
    features = cancer_frame.drop(columns=["target", "mean area"])
    model = make_pipeline(StandardScaler(), Ridge(alpha=1.0)).fit(
        features, cancer_frame["mean area"]
    )
    registry.register(
        model,
        "area",
        train_data=cancer_frame.drop(columns="target"),
        target="mean area",
    )
    return served_version(registry, "area")


# -- warm-up ----------------------------------------------------------------------------------


def test_warm_turns_the_array_path_on_for_a_plain_logistic_regression(
    registry: Registry,
) -> None:
    frame = small_frame()
    model = LogisticRegression().fit(frame.drop(columns="target"), frame.target)
    registry.register(model, "plain", train_data=frame, target="target")
    served = served_version(registry, "plain")
    assert served.warmed
    assert served.fast_path
    assert served.codec.fast
    item = served.codec.encode(records_of(frame.drop(columns="target").head(4)))
    assert item.rows is not None


def test_warm_turns_the_array_path_on_for_a_pipeline(pipeline_served: ServedVersion) -> None:
    assert pipeline_served.warmed
    assert pipeline_served.fast_path


def test_warm_keeps_arrays_off_for_a_column_transformer_on_a_string_column(
    registry: Registry,
) -> None:
    frame = city_frame()
    encode = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), ["city"]), (StandardScaler(), ["age"])
    )
    model = make_pipeline(encode, LogisticRegression()).fit(
        frame.drop(columns="target"), frame.target
    )
    registry.register(model, "cities", train_data=frame, target="target")
    served = served_version(registry, "cities")
    assert not served.fast_path
    rows = frame.drop(columns="target").head(6)
    (got,) = served.run([served.codec.encode(records_of(rows))])
    loaded = registry.load("cities/1")
    assert list(got.labels) == list(loaded.predict(rows))
    assert got.proba is not None
    np.testing.assert_allclose(got.proba, loaded.predict_proba(rows), rtol=1e-12)


def test_warm_keeps_arrays_off_for_a_column_transformer_selecting_numbers_by_name(
    registry: Registry,
) -> None:
    """All columns numeric, so the codec could use arrays, but the model picks columns by
    name: the array path fails at warm-up and the version stays on DataFrames."""
    frame = small_frame()
    select = ColumnTransformer([("scale", StandardScaler(), ["x3", "x0", "x1"])])
    model = make_pipeline(select, LogisticRegression()).fit(
        frame.drop(columns="target"), frame.target
    )
    registry.register(model, "picky", train_data=frame, target="target")
    served = served_version(registry, "picky")
    assert not served.fast_path
    rows = frame.drop(columns="target").tail(7)
    (got,) = served.run([served.codec.encode(records_of(rows))])
    loaded = registry.load("picky/1")
    assert list(got.labels) == list(loaded.predict(rows))
    np.testing.assert_allclose(got.proba, loaded.predict_proba(rows), rtol=1e-12)  # type: ignore[arg-type]


def test_warm_keeps_arrays_off_without_training_data(
    registry: Registry, cancer_model: Pipeline, features: pd.DataFrame
) -> None:
    registry.register(cancer_model, "bare")
    loaded = registry.load("bare/1")
    assert loaded.signature is None
    assert registry.reference_sample("bare/1") is None
    served = served_version(registry, "bare")
    assert served.warmed
    assert not served.fast_path
    rows = features.iloc[10:15]
    (got,) = served.run([served.codec.encode(records_of(rows))])
    assert list(got.labels) == list(loaded.predict(rows))
    np.testing.assert_allclose(got.proba, loaded.predict_proba(rows), rtol=1e-12)  # type: ignore[arg-type]


# -- predictions equal LoadedModel's ----------------------------------------------------------


def both_paths(served: ServedVersion, rows: pd.DataFrame) -> dict[str, ModelInput]:
    records = records_of(rows)
    fast = served.codec.encode(records)
    assert fast.rows is not None
    frame = served.loaded.prepare(records)
    return {"array": fast, "frame": ModelInput(len(frame), frame=frame)}


def test_classifier_answers_like_loaded_model_on_both_paths(
    pipeline_served: ServedVersion, features: pd.DataFrame
) -> None:
    loaded = pipeline_served.loaded
    rows = features.sample(40, random_state=1)
    labels = loaded.predict(rows)
    proba = loaded.predict_proba(rows)
    for path, item in both_paths(pipeline_served, rows).items():
        (got,) = pipeline_served.run([item])
        assert list(got.labels) == list(labels), path
        assert got.proba is not None
        np.testing.assert_allclose(got.proba, proba, rtol=1e-12, atol=0, err_msg=path)
        assert got.proba.shape == (40, 2)


def test_regressor_answers_like_loaded_model_on_both_paths(
    regressor_served: ServedVersion, features: pd.DataFrame
) -> None:
    assert regressor_served.fast_path
    assert regressor_served.classes is None
    rows = features.drop(columns="mean area").head(25)
    expected = regressor_served.loaded.predict(rows)
    for path, item in both_paths(regressor_served, rows).items():
        (got,) = regressor_served.run([item])
        assert got.proba is None
        np.testing.assert_allclose(got.labels, expected, rtol=1e-12, atol=0, err_msg=path)


def test_labels_from_probabilities_match_predict(
    pipeline_served: ServedVersion, features: pd.DataFrame
) -> None:
    assert pipeline_served._labels_from_proba  # a logistic regression: argmax is predict
    rows = features.sample(200, random_state=2)
    (got,) = pipeline_served.run([pipeline_served.codec.encode(records_of(rows))])
    assert list(got.labels) == list(pipeline_served.loaded.predict(rows))


def test_labels_from_probabilities_keep_string_classes(registry: Registry) -> None:
    frame = small_frame()
    labels = np.where(frame.target == 1, "yes", "no")
    model = RandomForestClassifier(n_estimators=5, random_state=0).fit(
        frame.drop(columns="target"), labels
    )
    registry.register(model, "words", train_data=frame.assign(target=labels), target="target")
    served = served_version(registry, "words")
    rows = frame.drop(columns="target").head(50)
    (got,) = served.run([served.codec.encode(records_of(rows))])
    assert list(got.labels) == list(served.loaded.predict(rows))
    assert set(got.labels) <= {"yes", "no"}


def test_regressor_never_derives_labels_from_probabilities(
    regressor_served: ServedVersion,
) -> None:
    assert not regressor_served._labels_from_proba


# -- several requests in one call -------------------------------------------------------------


def test_run_hands_each_request_its_own_rows(
    pipeline_served: ServedVersion, features: pd.DataFrame
) -> None:
    loaded = pipeline_served.loaded
    pool = features.sample(120, random_state=4).reset_index(drop=True)
    proba = loaded.predict_proba(pool)
    labels = loaded.predict(pool)

    @PROPERTY
    @given(
        st.lists(st.integers(0, 12), min_size=1, max_size=8),
        st.booleans(),
    )
    def prop(sizes: list[int], frames: bool) -> None:
        items = []
        start = 0
        for size in sizes:
            rows = pool.iloc[start : start + size]
            records = records_of(rows)
            if frames:
                frame = loaded.prepare(records)
                items.append(ModelInput(len(frame), frame=frame))
            else:
                items.append(pipeline_served.codec.encode(records))
            start += size
        results = pipeline_served.run(items)
        assert len(results) == len(sizes)
        start = 0
        for size, result in zip(sizes, results, strict=True):
            assert len(result.labels) == size
            assert result.proba is not None
            assert result.proba.shape == (size, 2)
            assert list(result.labels) == list(labels[start : start + size])
            np.testing.assert_allclose(result.proba, proba[start : start + size], rtol=1e-12)
            start += size

    prop()


def test_run_with_array_and_frame_inputs_mixed(
    pipeline_served: ServedVersion, features: pd.DataFrame
) -> None:
    loaded = pipeline_served.loaded
    a, b = features.iloc[:3], features.iloc[3:8]
    frame = loaded.prepare(records_of(b))
    results = pipeline_served.run(
        [pipeline_served.codec.encode(records_of(a)), ModelInput(len(frame), frame=frame)]
    )
    assert list(results[0].labels) == list(loaded.predict(a))
    assert list(results[1].labels) == list(loaded.predict(b))
    np.testing.assert_allclose(results[1].proba, loaded.predict_proba(b), rtol=1e-12)  # type: ignore[arg-type]


def test_empty_request_gets_an_empty_answer(pipeline_served: ServedVersion) -> None:
    (got,) = pipeline_served.run([pipeline_served.codec.encode([])])
    assert len(got.labels) == 0
    assert got.proba is not None
    assert got.proba.shape == (0, 2)


# -- failures ---------------------------------------------------------------------------------


def break_model(loaded: LoadedModel) -> None:
    """Make the real estimator unable to predict: its weights no longer fit the input."""
    final = loaded.native[-1]
    final.coef_ = np.ones((1, 3))


def test_a_model_whose_predict_raises_names_the_rows_it_fails_on(
    pipeline_served: ServedVersion, features: pd.DataFrame
) -> None:
    """A request's own failure is the caller's 422 with the model's message and rows; a
    merged batch's failure stays a PredictionError, which batching retries request by request."""
    rows = features.head(3)
    items = both_paths(pipeline_served, rows)
    break_model(pipeline_served.loaded)
    with pytest.raises(InvalidInputError, match=r"cancer/1 cannot predict on rows 0, 1, 2: "):
        pipeline_served.loaded.predict(rows)
    for path, item in items.items():
        with pytest.raises(InvalidInputError, match=r"cancer/1 cannot predict on rows 0, 1, 2: "):
            pipeline_served.run([item])
        with pytest.raises(PredictionError, match="cancer/1 failed to predict"):
            pipeline_served.run([item, item])
        assert path


def test_rows_of_the_wrong_width_are_refused_naming_them(pipeline_served: ServedVersion) -> None:
    with pytest.raises(InvalidInputError) as caught:
        pipeline_served.run([ModelInput(2, rows=np.zeros((2, 29)))])
    assert [p.row for p in caught.value.problems] == [0, 1]


def test_warm_raises_prediction_error_when_the_model_cannot_predict(
    registry: Registry, cancer_frame: pd.DataFrame, cancer_model: Pipeline
) -> None:
    """The documented contract of warm(): PredictionError, not the library's own exception
    (the pool only keeps serving the previous version on a FerrymanError)."""
    registry.register(cancer_model, "cancer", train_data=cancer_frame, target="target")
    loaded = registry.load("cancer/1")
    break_model(loaded)
    served = ServedVersion(loaded)
    with pytest.raises(PredictionError):
        served.warm(registry.reference_sample("cancer/1"))


def test_requests_with_different_accepted_categories_still_batch_as_categories(
    registry: Registry,
) -> None:
    rng = np.random.default_rng(2)
    frame = pd.DataFrame(
        {
            "plan": pd.Categorical(rng.choice(["basic", "pro", "team"], 400)),
            "x": rng.normal(size=400),
        }
    )
    target = ((frame["plan"] == "pro") | (frame["x"] > 0.5)).astype(int)
    model = lgb.LGBMClassifier(n_estimators=10, num_leaves=7, verbose=-1).fit(frame, target)
    version = registry.register(model, "plans", train_data=frame)
    assert version.signature is not None
    assert version.signature.column("plan").unknown_categories == "accept"
    served = ServedVersion(registry.load("plans/1"))
    first = served.codec.encode([{"plan": "gold", "x": 0.1}, {"plan": "pro", "x": 0.2}])
    second = served.codec.encode([{"plan": "silver", "x": -1.0}])

    calls = served.calls([first, second])

    assert len(calls) == 1  # one merged call: the category column stayed categorical
    together = np.concatenate([part.proba for part in parts_of(calls)])  # type: ignore[misc]
    alone = np.concatenate([served.run([item])[0].proba for item in (first, second)])  # type: ignore[misc]
    np.testing.assert_allclose(together, alone, rtol=1e-12)


def test_a_meta_estimator_whose_inner_steps_want_names_is_served_from_dataframes(
    registry: Registry, cancer_frame: pd.DataFrame
) -> None:
    features = cancer_frame.drop(columns="target").iloc[:, :6]
    model = CalibratedClassifierCV(make_pipeline(StandardScaler(), LinearSVC()), cv=3).fit(
        features, cancer_frame["target"]
    )
    registry.register(model, "calibrated", train_data=features)
    served = ServedVersion(registry.load("calibrated/1"))
    with warnings.catch_warnings(record=True) as warned:  # as a server runs: warnings shown
        warnings.simplefilter("always")
        served.warm(features.head(20))  # an inner scaler warns on a bare array
        answer = served.run([served.codec.encode(_records(features.head(3)))])[0]

    assert not served.fast_path
    assert [str(w.message) for w in warned] == []
    np.testing.assert_allclose(answer.proba, model.predict_proba(features.head(3)), rtol=1e-12)  # type: ignore[arg-type]


def test_a_tuned_threshold_classifier_answers_its_own_predict(
    registry: Registry, cancer_frame: pd.DataFrame
) -> None:
    features = cancer_frame.drop(columns="target")
    base = make_pipeline(StandardScaler(), LogisticRegression(C=0.01, max_iter=1000))
    model = FixedThresholdClassifier(base, threshold=0.9).fit(features, cancer_frame.target)
    registry.register(model, "tuned", train_data=cancer_frame, target="target")
    served = ServedVersion(registry.load("tuned/1"))
    served.warm(registry.reference_sample("tuned/1"))
    rows = np.asarray(features, dtype=np.float64)
    item = served.codec.encode(features.to_dict(orient="records"))
    (answer,) = served.run([item])
    expected = model.predict(features)
    assert (np.asarray(answer.labels) != expected).sum() == 0
    assert len(rows) == len(answer.labels)


def test_a_forest_gives_labels_and_probabilities_in_one_pass(
    registry: Registry, cancer_frame: pd.DataFrame
) -> None:
    features = cancer_frame.drop(columns="target")
    model = RandomForestClassifier(n_estimators=5, random_state=0).fit(
        features, cancer_frame.target
    )
    registry.register(model, "forest", train_data=cancer_frame, target="target")
    served = ServedVersion(registry.load("forest/1"))
    served.warm(registry.reference_sample("forest/1"))
    assert served._labels_from_proba is True
    (answer,) = served.run([served.codec.encode(features.to_dict(orient="records"))])
    assert list(answer.labels) == model.predict(features).tolist()


def test_without_training_data_calls_run_in_a_thread(
    registry: Registry, cancer_model: Pipeline
) -> None:
    registry.register(cancer_model, "bare")
    served = ServedVersion(registry.load("bare/1"))
    served.warm(None)
    assert served.warmed
    assert served.inline is False
