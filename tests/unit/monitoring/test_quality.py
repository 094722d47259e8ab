"""Data quality of live windows against the training profile."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ferryman.monitoring.quality import assess_quality
from ferryman.schema.profiling import profile_frame


def _training() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "amount": rng.normal(100, 10, 2000),
            "count": rng.integers(0, 10, 2000),
            "plan": rng.choice(["basic", "pro", "team"], 2000),
        }
    )


def test_clean_window_has_no_issues() -> None:
    train = _training()
    profile = profile_frame(train)
    report = assess_quality("m", train.sample(500, random_state=1), profile, list(train.columns))
    assert report.issue_count == 0
    assert [f.feature for f in report.features] == ["amount", "count", "plan"]
    assert all(f.null_rate == 0 for f in report.features)


def test_nulls_out_of_range_and_unseen_categories_are_named() -> None:
    train = _training()
    profile = profile_frame(train)
    live = train.sample(1000, random_state=2).reset_index(drop=True)
    live.loc[:199, "amount"] = np.nan  # 20% nulls
    live.loc[200:299, "count"] = 99  # 10% above the training maximum
    live.loc[300:399, "plan"] = "enterprise"  # 10% unseen
    report = assess_quality("m", live, profile, list(train.columns)).to_dict()
    by_name = {f["feature"]: f for f in report["features"]}
    assert by_name["amount"]["nulls"] == 200
    assert by_name["amount"]["null_rate"] == 0.2
    assert "null rate 20.0%" in by_name["amount"]["issues"][0]
    assert by_name["count"]["out_of_range"] == 100
    assert "outside the training range" in by_name["count"]["issues"][0]
    assert by_name["plan"]["unseen"] == 100
    assert "unseen" in by_name["plan"]["issues"][0]


def test_rejections_are_counted_per_column_and_kind() -> None:
    train = _training()
    profile = profile_frame(train)
    refused = pd.DataFrame(
        {
            "column": ["amount", "plan", None],
            "kind": ["wrong_type", "category", "malformed"],
            "problems": [2, 1, 1],
        }
    )
    report = assess_quality("m", train.head(10), profile, list(train.columns), refused, 3)
    assert report.rejected_requests == 3
    assert report.rejected_by_kind == {"wrong_type": 2, "category": 1, "malformed": 1}
    amount = next(f for f in report.features if f.feature == "amount")
    assert amount.type_errors == 2
    assert amount.rejected == 2


def test_empty_window_and_unknown_feature_do_not_crash() -> None:
    train = _training()
    profile = profile_frame(train)
    report = assess_quality("m", train.head(0), profile, ["amount", "ghost"])
    assert report.rows == 0
    assert report.missing_from_profile == ["ghost"]
    assert report.features[0].null_rate is None
    assert report.to_dict()["features"][1]["feature"] == "ghost"
