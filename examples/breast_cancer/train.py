"""Train two models on scikit-learn's bundled breast-cancer data and carry them through ferryman.

Registers both as versions of ``breast-cancer`` with their test metrics, promotes the better
one to ``production``, promotes the other, rolls back, and predicts with what is in production.
Run it with ``./dev demo``, or ``python examples/breast_cancer/train.py`` in an installed env.
The store is the one FERRYMAN_HOME (or ./.ferryman) points at.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import ferryman

NAME = "breast-cancer"


def evaluate(model: object, test: pd.DataFrame) -> dict[str, float]:
    features, labels = test.drop(columns="target"), test["target"]
    proba = model.predict_proba(features)[:, 1]  # type: ignore[attr-defined]
    predicted = model.predict(features)  # type: ignore[attr-defined]
    return {
        "accuracy": accuracy_score(labels, predicted),
        "f1": f1_score(labels, predicted),
        "roc_auc": roc_auc_score(labels, proba),
    }


def main() -> None:
    data = load_breast_cancer(as_frame=True).frame
    train, test = train_test_split(data, test_size=0.25, random_state=0, stratify=data["target"])
    features, labels = train.drop(columns="target"), train["target"]

    candidates = {
        "logistic-regression": (
            make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=2000)),
            {"model": "LogisticRegression", "C": 0.5},
        ),
        "random-forest": (
            RandomForestClassifier(n_estimators=100, max_depth=6, random_state=0),
            {"model": "RandomForestClassifier", "n_estimators": 100, "max_depth": 6},
        ),
    }
    registered = []
    for label, (model, params) in candidates.items():
        model.fit(features, labels)
        metrics = evaluate(model, test)
        version = ferryman.register(
            model,
            NAME,
            train_data=train,
            validation_data=test,  # held out: prediction drift compares live answers with these
            target="target",
            metrics=metrics,
            params=params,
            tags={"example": "breast_cancer", "candidate": label},
            description=f"{label} on the breast-cancer data",
        )
        registered.append(version)
        shown = ", ".join(f"{k}={v:.3f}" for k, v in metrics.items())
        print(f"registered {version.ref} ({label}): {shown}")

    best = max(registered, key=lambda v: v.metrics["roc_auc"])
    other = next(v for v in registered if v is not best)
    ferryman.set_alias(NAME, "production", best.version)
    print(f"promoted {best.ref} to production (best roc_auc)")
    ferryman.set_alias(NAME, "production", other.version)
    print(f"promoted {other.ref} to production")
    move = ferryman.rollback(NAME)
    print(f"rolled back production: version {move.from_version} -> {move.to_version}")

    model = ferryman.load(NAME)
    sample = test.drop(columns="target").head(5)
    predictions = model.predict(sample)
    print(f"{model.version.ref} predicts {predictions.tolist()} for 5 held-out patients")

    new_patients = Path(ferryman.connect().settings.home_path) / "new_patients.csv"
    test.drop(columns="target").head(20).to_csv(new_patients, index=False)
    print(f"wrote 20 held-out rows to {new_patients} for `ferryman predict`")


if __name__ == "__main__":
    main()
