"""Prediction drift against the model's answers on held-out rows, proven by simulation.

A/A: a model trained on one draw, registered with held-out rows of the same distribution, and
live windows drawn from that distribution too. A window is a false alarm when *any* test of the
pass (the features' and the outputs') is flagged; with one Holm correction over all of them the
rate is at most ``alpha`` whatever the reference, so the count over the windows of a size is
held to the Binomial(windows, alpha) 99.9% quantile. With the training sample as the output
reference (the old behaviour) a random forest's outputs are flagged in 99-100% of these windows
(it scores its own training rows near 0 and 1); with the held-out reference, 0-1.5% for the
outputs and 2.5-4% for any test of the pass, at every size, for the forest and the logistic
regression.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.base import ClassifierMixin
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

from ferryman.config import DriftThresholds, Settings
from ferryman.core.records import ModelVersion
from ferryman.monitoring.drift.detector import adjust_pvalues
from ferryman.monitoring.log.scheme import score_values
from ferryman.monitoring.monitor import Monitor, Window
from ferryman.registry import Registry

ALPHA = 0.05
FEATURES = ["x0", "x1", "x2", "x3"]
REFERENCES = 5  # training + held-out draws per model
WINDOWS = {200: 40, 1000: 20, 5000: 8}  # live rows -> windows per reference
NO_GATE = DriftThresholds(alpha=ALPHA, psi=0.0, wasserstein=0.0, jensen_shannon=0.0)
WINDOW = Window(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC), "1d")


def _draw(rng: np.random.Generator, n: int, shift: float = 0.0) -> pd.DataFrame:
    x = rng.normal(size=(n, len(FEATURES)))
    x[:, 0] += shift
    frame = pd.DataFrame(x, columns=FEATURES)
    logit = 1.5 * x[:, 0] - x[:, 1] + 0.5 * x[:, 2] * x[:, 3]
    frame["label"] = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(int)
    return frame


def _forest() -> ClassifierMixin:
    return RandomForestClassifier(n_estimators=30, random_state=0, n_jobs=1)


def _logistic() -> ClassifierMixin:
    return LogisticRegression()


MODELS: dict[str, Callable[[], ClassifierMixin]] = {"forest": _forest, "logistic": _logistic}


def _without_gate(settings: Settings) -> Settings:
    monitoring = settings.monitoring.model_copy(update={"drift": NO_GATE})
    return settings.model_copy(update={"monitoring": monitoring})


def _logged(model: ClassifierMixin, live: pd.DataFrame) -> pd.DataFrame:
    """What the prediction log holds for ``live``: the features, prediction and score."""
    out = live[FEATURES].copy()
    labels = model.predict(live[FEATURES])
    out["prediction"] = labels
    out["score"] = score_values(labels, model.predict_proba(live[FEATURES]), model.classes_)
    return out


def _register(
    registry: Registry, name: str, kind: str, seed: int
) -> tuple[ModelVersion, ClassifierMixin]:
    rng = np.random.default_rng(seed)
    train, held_out = _draw(rng, 2000), _draw(rng, 2000)
    model = MODELS[kind]().fit(train[FEATURES], train["label"])
    version = registry.register(
        model, name, train_data=train, target="label", validation_data=held_out
    )
    return version, model


def _flagged(result: dict[str, object]) -> bool:
    tests = [*result["features"], *result["prediction"]["features"]]  # type: ignore[misc]
    return any(t["drifted"] for t in tests)


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(MODELS))
def test_prediction_drift_false_alarms_stay_at_or_below_alpha(
    settings: Settings, kind: str
) -> None:
    registry = Registry(_without_gate(settings))
    monitor = Monitor(registry)
    alarms = dict.fromkeys(WINDOWS, 0)
    try:
        for r in range(REFERENCES):
            version, model = _register(registry, f"{kind}{r}", kind, seed=100 + r)
            rng = np.random.default_rng(1000 + r)
            for size, count in WINDOWS.items():
                pool = _logged(model, _draw(rng, size * count))
                for w in range(count):
                    live = pool.iloc[w * size : (w + 1) * size]
                    result = monitor._drift(version, WINDOW, live).to_dict()
                    assert result["prediction"]["tested_count"] == 2
                    alarms[size] += _flagged(result)
    finally:
        monitor.close()
        registry.close()
    bounds = {size: stats.binom.ppf(0.999, REFERENCES * n, ALPHA) for size, n in WINDOWS.items()}
    assert all(alarms[size] <= bounds[size] for size in WINDOWS), (alarms, bounds)


def test_a_shifted_window_flags_the_predictions(registry: Registry) -> None:
    version, model = _register(registry, "forest", "forest", seed=7)
    monitor = Monitor(registry)
    rng = np.random.default_rng(8)
    try:
        flagged = []
        for _ in range(10):
            live = _logged(model, _draw(rng, 1000, shift=0.8))
            result = monitor._drift(version, WINDOW, live).to_dict()
            outputs = {t["feature"]: t["drifted"] for t in result["prediction"]["features"]}
            flagged.append(outputs["score"])
    finally:
        monitor.close()
    assert all(flagged)


def test_features_and_outputs_are_corrected_as_one_family(registry: Registry) -> None:
    version, model = _register(registry, "forest", "forest", seed=3)
    monitor = Monitor(registry)
    live = _logged(model, _draw(np.random.default_rng(4), 500, shift=0.3))
    try:
        result = monitor._drift(version, WINDOW, live).to_dict()
    finally:
        monitor.close()
    tests = [*result["features"], *result["prediction"]["features"]]
    expected = adjust_pvalues([t["p_value"] for t in tests], "holm")
    assert [t["p_adjusted"] for t in tests] == pytest.approx(list(expected), rel=1e-12)
    assert result["family_size"] == result["prediction"]["family_size"] == len(FEATURES) + 2


def test_prediction_drift_is_skipped_without_held_out_data(registry: Registry) -> None:
    train = _draw(np.random.default_rng(5), 500)
    model = _forest().fit(train[FEATURES], train["label"])
    version = registry.register(model, "bare", train_data=train, target="label")
    monitor = Monitor(registry)
    try:
        result = monitor._drift(
            version, WINDOW, _logged(model, _draw(np.random.default_rng(6), 300))
        ).to_dict()
    finally:
        monitor.close()
    assert result["prediction"]["features"] == []
    assert "--validation-data" in result["prediction"]["reason"]
    assert "validation_data=" in result["prediction"]["reason"]
    assert result["family_size"] == len(FEATURES)  # the features alone are the family
