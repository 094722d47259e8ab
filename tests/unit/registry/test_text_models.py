"""Text models fitted on one column alone (a Series, a 1-D array) register and predict."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder

from ferryman.config import Settings
from ferryman.errors import InvalidArgumentError, SchemaError
from ferryman.registry import Registry
from same_predictions import assert_same_predictions
from text_reviews import NEW_REVIEWS, reviews


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return reviews()


def text_model(data: pd.DataFrame) -> Pipeline:
    model = make_pipeline(TfidfVectorizer(), LogisticRegression())
    return model.fit(data["review"], data["label"])


def first_step_not_a_vectorizer(data: pd.DataFrame) -> Pipeline:
    """A text pipeline whose first step passes the column on: only the training data's form
    (a Series) says that the model takes one column alone."""
    model = make_pipeline(FunctionTransformer(), TfidfVectorizer(), LogisticRegression())
    return model.fit(data["review"], data["label"])


def test_a_text_pipeline_fitted_on_a_series_registers_with_one_text_column(
    registry: Registry, data: pd.DataFrame
) -> None:
    model = text_model(data)

    version = registry.register(model, "reviews", train_data=data["review"])

    assert version.signature is not None
    assert version.signature.series_input
    (column,) = version.signature.columns
    assert (column.name, column.kind, column.categories) == ("review", "string", None)
    loaded = registry.load("reviews/1")
    records = [{"review": text} for text in NEW_REVIEWS]
    assert_same_predictions(loaded.predict(records), model.predict(NEW_REVIEWS))
    assert_same_predictions(loaded.predict_proba(records), model.predict_proba(NEW_REVIEWS))


@pytest.mark.parametrize("form", ["unnamed series", "1-D array"])
def test_text_given_without_a_name_is_the_column_text(
    registry: Registry, data: pd.DataFrame, form: str
) -> None:
    texts = data["review"].to_numpy(dtype=object)
    train = pd.Series(texts) if form == "unnamed series" else texts
    model = make_pipeline(TfidfVectorizer(), LogisticRegression()).fit(train, data["label"])

    version = registry.register(model, "reviews", train_data=train)

    assert version.signature is not None
    assert version.signature.names == ["text"]
    answers = registry.load("reviews/1").predict([{"text": t} for t in NEW_REVIEWS])
    assert_same_predictions(answers, model.predict(NEW_REVIEWS))


def test_a_model_fitted_on_a_series_loads_so_in_a_fresh_registry(
    settings: Settings, data: pd.DataFrame
) -> None:
    model = first_step_not_a_vectorizer(data)
    first = Registry(settings)
    try:
        first.register(model, "reviews", train_data=data["review"])
    finally:
        first.close()
    # nothing kept in memory or in a snapshot: the recorded signature alone says how
    fresh = Registry(settings.model_copy(update={"snapshot_models": False}))
    try:
        answers = fresh.load("reviews/1").predict_proba(pd.DataFrame({"review": NEW_REVIEWS}))
    finally:
        fresh.close()

    assert_same_predictions(answers, model.predict_proba(NEW_REVIEWS))


def test_the_registration_error_names_the_models_exception_and_its_input(
    registry: Registry, data: pd.DataFrame
) -> None:
    model = first_step_not_a_vectorizer(data)

    with pytest.raises(SchemaError) as caught:
        registry.register(model, "reviews", train_data=data[["review"]])

    message = str(caught.value)
    assert message.startswith(
        "the model failed to predict on the first 5 rows of its training data, given as a "
        "table of 1 column: 'review' (string): AttributeError: "
    )
    assert "a Series for a model fitted on one column alone" in message
    assert registry.list_models().items == []


def test_a_table_of_several_columns_is_not_cut_to_one_for_a_text_model(
    registry: Registry, data: pd.DataFrame
) -> None:
    model = text_model(data)
    frame = data.assign(extra=np.arange(len(data)))[["review", "extra"]]

    with pytest.raises(SchemaError, match=r"ValueError: the model takes one column alone"):
        registry.register(model, "reviews", train_data=frame)


def test_a_2d_table_of_the_text_column_serves_a_vectorizer_pipeline(
    registry: Registry, data: pd.DataFrame
) -> None:
    # a CSV of one column (the command line's only form) reads as a table
    model = text_model(data)

    version = registry.register(model, "reviews", train_data=data[["review"]])

    assert version.signature is not None
    assert not version.signature.series_input
    answers = registry.load("reviews/1").predict([{"review": t} for t in NEW_REVIEWS])
    assert_same_predictions(answers, model.predict(NEW_REVIEWS))


def test_kinds_need_training_data(registry: Registry, data: pd.DataFrame) -> None:
    with pytest.raises(InvalidArgumentError, match="column kinds are given but training data"):
        registry.register(text_model(data), "reviews", kinds={"review": "text"})


def test_kinds_given_at_registration_are_recorded(registry: Registry) -> None:
    frame = pd.DataFrame({"city": ["Oslo", "Bergen", "Oslo", "Tromso"] * 10, "x": np.arange(40.0)})
    encode = ColumnTransformer(
        [("city", OneHotEncoder(handle_unknown="ignore"), ["city"])], remainder="passthrough"
    )
    model = make_pipeline(encode, LogisticRegression()).fit(frame, frame["x"] > 20)

    version = registry.register(model, "cities", train_data=frame, kinds={"city": "text"})

    assert version.signature is not None
    assert version.signature.column("city").categories is None
    answers = registry.load("cities/1").predict([{"city": "Paris", "x": 30.0}])
    assert_same_predictions(answers, model.predict(pd.DataFrame({"city": ["Paris"], "x": [30.0]})))
    with pytest.raises(SchemaError, match="a kind is given for column 'nope'"):
        registry.register(model, "cities", train_data=frame, kinds={"nope": "text"})
