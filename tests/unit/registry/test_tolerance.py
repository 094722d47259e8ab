"""Registration tries the model on unknown categories and unseen nulls and records the answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder

from ferryman.core.signature import Signature
from ferryman.errors import InvalidArgumentError, InvalidInputError
from ferryman.flavors import Predictor
from ferryman.registry import Registry
from ferryman.registry.tolerance import apply_overrides, probe_tolerance

ROWS = 300
IMPUTER_TRUST = ["numpy.dtype"]  # SimpleImputer keeps a dtype; see docs/flavors.md


def shop_frame() -> pd.DataFrame:
    """A city (5 values), an integer count and a float; no nulls anywhere."""
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(
        {
            "city": rng.choice(["oslo", "lima", "pune", "kyiv", "baku"], ROWS),
            "count": rng.integers(0, 9, ROWS),
            "x": rng.normal(size=ROWS),
        }
    )
    frame["target"] = (frame["x"] + (frame["city"] == "oslo")) > 0.5
    return frame


def fitted(model: Any, frame: pd.DataFrame) -> Any:
    return model.fit(frame.drop(columns="target"), frame["target"])


def encoded(encoder: Any, rest: Any = "passthrough") -> Callable[[], Any]:
    return lambda: make_pipeline(
        make_column_transformer((encoder, ["city"]), remainder=rest), LogisticRegression()
    )


def tolerance_of(registry: Registry, model: Any, **options: Any) -> dict[str, dict[str, str]]:
    frame = shop_frame()
    version = registry.register(
        fitted(model, frame), "shop", train_data=frame, target="target", **options
    )
    assert version.signature is not None
    return version.signature.tolerance()


def test_one_hot_encoding_that_ignores_unknown_cities_accepts_them(registry: Registry) -> None:
    found = tolerance_of(registry, encoded(OneHotEncoder(handle_unknown="ignore"))())
    assert found["city"]["unknown_categories"] == "accept"
    # the scaler-free numbers reach LogisticRegression, which refuses NaN
    assert found["count"] == found["x"] == {"unseen_nulls": "refuse"}


@pytest.mark.parametrize(
    "encoder",
    [OneHotEncoder(handle_unknown="error"), OrdinalEncoder()],
    ids=["one-hot-error", "ordinal-default"],
)
def test_encoders_that_raise_on_unknown_cities_refuse_them(
    registry: Registry, encoder: Any
) -> None:
    found = tolerance_of(registry, encoded(encoder)())
    assert found["city"] == {"unknown_categories": "refuse", "unseen_nulls": "refuse"}


def test_an_imputer_accepts_nulls_where_training_had_none(registry: Registry) -> None:
    model = encoded(OneHotEncoder(handle_unknown="ignore"), SimpleImputer())()
    found = tolerance_of(registry, model, trusted_types=IMPUTER_TRUST)
    assert found["count"] == found["x"] == {"unseen_nulls": "accept"}


def test_logistic_regression_on_floats_refuses_nulls(
    registry: Registry, cancer_frame: pd.DataFrame
) -> None:
    features = cancer_frame.drop(columns="target")
    model = LogisticRegression(max_iter=5000).fit(features, cancer_frame["target"])
    version = registry.register(model, "lr", train_data=cancer_frame, target="target")
    assert version.signature is not None
    assert {c["unseen_nulls"] for c in version.signature.tolerance().values()} == {"refuse"}


def test_histogram_gradient_boosting_accepts_nulls(registry: Registry) -> None:
    frame = shop_frame().drop(columns="city")
    model = fitted(HistGradientBoostingClassifier(max_iter=10), frame)
    version = registry.register(model, "hgb", train_data=frame, target="target")
    assert version.signature is not None
    assert version.signature.tolerance() == {
        "count": {"unseen_nulls": "accept"},
        "x": {"unseen_nulls": "accept"},
    }


def test_what_the_user_says_wins_and_star_means_every_column(registry: Registry) -> None:
    model = encoded(OneHotEncoder(handle_unknown="ignore"), SimpleImputer())()
    found = tolerance_of(
        registry,
        model,
        trusted_types=IMPUTER_TRUST,
        tolerate={"*": {"unseen_nulls": "refuse"}, "x": {"unseen_nulls": "accept"}},
    )
    assert found == {
        "city": {"unknown_categories": "accept", "unseen_nulls": "refuse"},
        "count": {"unseen_nulls": "refuse"},
        "x": {"unseen_nulls": "accept"},
    }


def test_an_accepted_unknown_city_reaches_the_model_and_a_refused_one_is_listed(
    registry: Registry,
) -> None:
    frame = shop_frame()
    model = fitted(encoded(OneHotEncoder(handle_unknown="ignore"))(), frame)
    registry.register(model, "shop", train_data=frame, target="target")
    registry.register(
        model,
        "shop",
        train_data=frame,
        target="target",
        tolerate={"city": {"unknown_categories": "refuse"}},
    )
    rows = [{"city": "rome", "count": 1, "x": 0.3}, {"city": "oslo", "count": 2, "x": 0.1}]
    got = registry.load("shop/1").predict_proba(rows)
    np.testing.assert_allclose(got, model.predict_proba(pd.DataFrame(rows)), rtol=1e-12)
    with pytest.raises(InvalidInputError) as caught:
        registry.load("shop/2").predict(rows)
    assert [(p.row, p.column, p.kind) for p in caught.value.problems] == [
        (0, "city", "unknown_category")
    ]


@pytest.mark.parametrize(
    ("tolerate", "message"),
    [
        ({"town": {"unseen_nulls": "accept"}}, "column 'town', which the model does not take"),
        ({"x": {"unknown_categories": "accept"}}, "'x' is float without a list of categories"),
        ({"x": {"nulls": "accept"}}, "unknown tolerance 'nulls' for column 'x'; choose one of"),
        ({"x": {"unseen_nulls": "maybe"}}, "unseen_nulls of column 'x' is 'maybe'; choose one"),
    ],
)
def test_a_tolerance_that_cannot_apply_is_refused_naming_it(
    registry: Registry, tolerate: dict[str, dict[str, str]], message: str
) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        tolerance_of(registry, encoded(OneHotEncoder())(), tolerate=tolerate)
    with pytest.raises(InvalidArgumentError, match="tolerate is given but train_data is not"):
        registry.register(fitted(encoded(OneHotEncoder())(), shop_frame()), "s", tolerate=tolerate)


@pytest.mark.parametrize("tolerate", [{"city": "accept"}, ["city"], {"city": {"unseen_nulls": 1}}])
def test_a_tolerance_of_the_wrong_form_is_refused_showing_the_form(
    registry: Registry, tolerate: object
) -> None:
    model = fitted(encoded(OneHotEncoder())(), shop_frame())

    with pytest.raises(InvalidArgumentError, match=r"tolerate must map each column .* e\.g\."):
        registry.register(model, "s", train_data=shop_frame(), tolerate=tolerate)  # type: ignore[arg-type]

    assert registry.list_models().items == []  # refused before anything was saved


def test_a_column_with_nulls_in_training_has_no_unseen_null_policy() -> None:
    frame = shop_frame()
    frame.loc[3, "x"] = np.nan
    signature = Signature.from_dict(
        {"columns": [{"name": "x", "kind": "float", "dtype": "float64", "nullable": True}]}
    )
    with pytest.raises(InvalidArgumentError, match="'x' had nulls in training"):
        apply_overrides(signature, {"x": {"unseen_nulls": "accept"}})
    assert signature.tolerance() == {}
    assert signature.is_probed


class _CountingModel(Predictor):
    """Counts calls; fails on NaN in ``bad`` columns, like an estimator without imputation."""

    def __init__(self, bad: set[str]) -> None:
        self.bad = bad
        self.calls = 0

    @property
    def native(self) -> object:
        return self

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        self.calls += 1
        if any(frame[c].isna().any() for c in self.bad):
            raise ValueError("Input contains NaN")
        return np.zeros(len(frame))


def _numbers(width: int) -> tuple[Signature, pd.DataFrame]:
    rows = pd.DataFrame(np.ones((4, width)), columns=[f"f{i}" for i in range(width)])
    spec = [{"name": c, "kind": "float", "dtype": "float64"} for c in rows.columns]
    return Signature.from_dict({"columns": spec}), rows


def test_a_model_that_copes_with_everything_is_tried_once() -> None:
    signature, rows = _numbers(20)
    model = _CountingModel(set())
    found = probe_tolerance(model, signature, rows)
    assert model.calls == 1
    assert {c["unseen_nulls"] for c in found.tolerance().values()} == {"accept"}


def test_when_the_combined_try_fails_each_column_is_tried_alone() -> None:
    signature, rows = _numbers(6)
    model = _CountingModel({"f1", "f4"})
    found = probe_tolerance(model, signature, rows)
    assert model.calls == 1 + 6
    assert [c for c, t in found.tolerance().items() if t["unseen_nulls"] == "refuse"] == [
        "f1",
        "f4",
    ]


def test_a_model_answering_nan_for_a_null_does_not_cope() -> None:
    class Passes(_CountingModel):
        def predict(self, frame: pd.DataFrame) -> np.ndarray:
            return frame["f0"].to_numpy()  # NaN in, NaN out: no error, but no answer

    signature, rows = _numbers(2)
    found = probe_tolerance(Passes(set()), signature, rows)
    assert found.tolerance() == {"f0": {"unseen_nulls": "refuse"}, "f1": {"unseen_nulls": "accept"}}
