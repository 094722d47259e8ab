"""Property tests: whatever a user sends, ferryman answers or raises a FerrymanError."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression

from ferryman.config import Settings
from ferryman.core.refs import ModelRef
from ferryman.errors import ConfigError, FerrymanError, InvalidInputError, InvalidReferenceError
from ferryman.registry import LoadedModel, Registry
from ferryman.schema import check_input, infer_signature, validate

COLUMNS = ["age", "income", "city", "member", "score"]
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=5,
)
records = st.lists(
    st.dictionaries(st.sampled_from([*COLUMNS, "extra", ""]), json_values, max_size=7),
    max_size=6,
)
ENV_SETTINGS = [
    "FERRYMAN_SAMPLE_ROWS",
    "FERRYMAN_MODEL_CACHE_SIZE",
    "FERRYMAN_RECORD_GIT",
    "FERRYMAN_TRUSTED_TYPES",
    "FERRYMAN_TRUST_SKLEARN_INTERNALS",
]
SLOW = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def training_frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 120
    return pd.DataFrame(
        {
            "age": rng.integers(18, 90, n),
            "income": rng.normal(50_000, 10_000, n),
            "city": rng.choice(["paris", "oslo", "rome"], n),
            "member": rng.integers(0, 2, n).astype(bool),
            "score": rng.normal(size=n),
        }
    )


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoadedModel]:
    frame = training_frame()
    numeric = frame[["age", "income", "score"]]
    model = LogisticRegression(max_iter=500).fit(numeric, frame["score"] > 0)
    home = tmp_path_factory.mktemp("store")
    registry = Registry(Settings.load(home=home, record_git=False))
    registry.register(model, "props", train_data=frame.drop(columns=["city", "member"]))
    yield registry.load("props/1")
    registry.close()


@SLOW
@given(text=st.text(max_size=40))
def test_any_text_parses_or_is_an_invalid_reference(text: str) -> None:
    try:
        ref = ModelRef.parse(text)
    except InvalidReferenceError:
        return
    assert ref.name
    assert (ref.alias is None) != (ref.version is None)
    assert ModelRef.parse(str(ref)) == ref  # a parsed reference prints back to itself


@SLOW
@given(data=records)
def test_validate_never_raises_and_every_problem_is_located(data: list[dict]) -> None:
    signature = infer_signature(training_frame())
    problems = validate(signature, data)
    for problem in problems:
        assert problem.message
        assert problem.row is None or 0 <= problem.row < len(data)
        assert problem.column is None or isinstance(problem.column, str)
    try:
        frame, refused = check_input(signature, data), None
    except InvalidInputError as exc:
        frame, refused = None, exc
    if refused is not None:
        assert refused.problems
        assert problems
    else:
        assert frame is not None
        assert problems == []
        assert list(frame.columns) == signature.names
        assert len(frame) == len(data)


@SLOW
@given(data=records)
def test_predict_answers_or_raises_a_ferryman_error(loaded: LoadedModel, data: list[dict]) -> None:
    try:
        predictions = loaded.predict(data)
    except FerrymanError:
        return
    assert len(predictions) == len(data)


@SLOW
@given(
    values=st.dictionaries(
        st.sampled_from(ENV_SETTINGS),
        st.text(max_size=8).filter(lambda s: "\x00" not in s),
        max_size=3,
    )
)
def test_any_environment_gives_settings_or_a_config_error(
    values: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    import os

    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        try:
            loaded, message = Settings.load(home=Path(tmp_path_factory.getbasetemp())), ""
        except ConfigError as exc:
            loaded, message = None, str(exc)
        if loaded is None:
            assert "setting" in message
        else:
            assert loaded.sample_rows >= 0
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old
