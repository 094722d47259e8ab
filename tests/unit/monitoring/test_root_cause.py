"""Root cause ranking: drift size times importance, importance from the model or permutation."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.neighbors import KNeighborsClassifier

from ferryman.monitoring.drift.detector import FeatureDrift
from ferryman.monitoring.kpi.intervals import wilson
from ferryman.monitoring.kpi.performance import VersionPerformance
from ferryman.monitoring.root_cause import (
    Importance,
    estimate_importance,
    kpi_dropped,
    rank_causes,
)
from ferryman.monitoring.window import VersionKpis


def _data() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(600, 4)), columns=["a", "b", "c", "d"])
    target = (frame["a"] * 3 + frame["b"] > 0).astype(int).to_numpy()
    return frame, target


def test_permutation_finds_the_features_the_model_uses() -> None:
    frame, target = _data()
    model = KNeighborsClassifier().fit(frame, target)  # no importances of its own
    importance = estimate_importance(model, model.predict_proba, frame, list(frame.columns))
    assert importance.method == "permutation"
    assert abs(sum(importance.shares.values()) - 1) < 1e-9
    ranked = sorted(importance.shares, key=importance.shares.__getitem__, reverse=True)
    assert ranked[0] == "a"
    assert ranked[1] == "b"


def test_permutation_works_on_labels_too() -> None:
    frame, target = _data()
    model = KNeighborsClassifier().fit(frame, np.where(target == 1, "yes", "no"))
    importance = estimate_importance(model, model.predict, frame, list(frame.columns))
    assert max(importance.shares, key=importance.shares.__getitem__) == "a"


def test_model_importances_are_used_when_they_match_the_columns() -> None:
    frame, target = _data()
    model = RandomForestClassifier(n_estimators=20, random_state=0).fit(frame, target)
    importance = estimate_importance(model, model.predict_proba, frame, list(frame.columns))
    assert importance.method == "model"
    assert max(importance.shares, key=importance.shares.__getitem__) == "a"


def test_drifted_important_features_rank_first() -> None:
    importance = Importance({"a": 0.6, "b": 0.3, "c": 0.1}, "model")
    records = [
        _drift("a", 0.05, drifted=False, reason="small"),
        _drift("b", 0.5, drifted=True, reason="PSI 0.5"),
        _drift("c", 0.9, drifted=True, reason="PSI 0.9"),
    ]
    cause = rank_causes("m", records, importance)
    assert [s.feature for s in cause.suspects] == ["b", "c", "a"]
    assert cause.suspects[0].score == 0.5 * 0.3
    assert "PSI 0.5" in cause.suspects[0].evidence
    assert "most responsible: b, c" in cause.summary
    assert cause.to_dict()["suspects"][0]["rank"] == 1


def test_no_drift_still_ranks_and_says_so() -> None:
    cause = rank_causes(
        "m", [_drift("a", float("nan"), drifted=False)], Importance({"a": 1.0}, "model")
    )
    assert cause.suspects[0].score == 0
    assert "no feature drifted" in cause.summary


def _drift(feature: str, psi: float, *, drifted: bool, reason: str = "") -> FeatureDrift:
    """A tested feature's drift: what the ranking reads, the rest plausible filler."""
    return FeatureDrift(
        feature=feature, kind="numeric", reference_rows=1000, live_rows=1000, live_nulls=0,
        psi=psi, p_value=0.5, p_adjusted=0.5, effect="psi", effect_value=psi,
        effect_threshold=0.2, drifted=drifted, reason=reason,
    )  # fmt: skip


def _performance(labelled: int, correct: int, registered: float = 0.9) -> list[VersionKpis]:
    accuracy = correct / labelled
    live = VersionPerformance(
        version=1,
        bucket_start=None,
        predictions=labelled,
        labelled=labelled,
        coverage=None,
        metrics={"accuracy": accuracy},
        intervals={"accuracy": wilson(correct, labelled) or (0.0, 1.0)},
    )
    return [
        VersionKpis(
            live,
            metrics={"accuracy": accuracy},
            registered={"accuracy": registered},
            change={"accuracy": accuracy - registered},
        )
    ]


def test_a_handful_of_labels_does_not_call_for_a_root_cause() -> None:
    assert not kpi_dropped(_performance(1, 0))  # one wrong answer: accuracy 0
    assert not kpi_dropped(_performance(99, 40))  # below the 100 labels needed


def test_a_kpi_drop_calls_for_a_root_cause_only_when_its_interval_is_clear() -> None:
    assert not kpi_dropped(_performance(100, 80))  # 0.80, but the interval reaches 0.87
    assert kpi_dropped(_performance(1000, 750))  # interval 0.72-0.78, well under 0.85
    assert kpi_dropped(_performance(20, 5), min_labels=10)
