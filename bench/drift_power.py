"""Power of the drift decision, with the default effect gate and without it (docs/drift.md).

Prints the markdown table of docs/drift.md, "What the decision catches": one feature shifted,
100 windows a cell, the share reported drifted with the default thresholds and, in brackets,
with the effect gate off. Uses the population of the A/A test
(tests/unit/monitoring/drift/test_null_simulation.py), so both describe the same data.

    .venv/bin/python bench/drift_power.py
"""

import sys
from pathlib import Path

sys.path.insert(
    0, str(Path(__file__).resolve().parents[1] / "tests" / "unit" / "monitoring" / "drift")
)
import numpy as np
import test_null_simulation as t

from ferryman.config import MonitoringSettings
from ferryman.monitoring.drift.detector import DriftDetector
from ferryman.schema.profiling import profile_frame

rng = np.random.default_rng(8)
training = t.population(rng, t.TRAINING_ROWS)
profile = profile_frame(training)
sample = training.sample(t.SAMPLE_ROWS, random_state=3)
gate = DriftDetector(MonitoringSettings().drift).fit(sample, profile)
tests = DriftDetector(t.TESTS_ONLY).fit(sample, profile)


def shifted(kind, n):
    w = t.population(rng, n)
    if kind.startswith("normal"):
        w["normal"] += float(kind.split("+")[1])
    elif kind == "plan":
        p = t.PLAN_SHARES.copy()
        p[0] -= 0.05
        p[2] += 0.05  # pro 15% -> 20%
        w["plan"] = t.PLANS[rng.choice(len(t.PLANS), n, p=p)]
    elif kind == "count":
        w["count"] = rng.poisson(3.3, n)
    return w


feature = {
    "normal+0.1": "normal",
    "normal+0.25": "normal",
    "normal+0.5": "normal",
    "plan": "plan",
    "count": "count",
}
names = {
    "normal+0.1": "normal, +0.1 SD",
    "normal+0.25": "normal, +0.25 SD",
    "normal+0.5": "normal, +0.5 SD",
    "plan": "5 levels, 15% -> 20%",
    "count": "Poisson mean 3 -> 3.3",
}
sizes = [300, 1000, 5000, 20000]
W = 100
print("| shift | " + " | ".join(f"{s:,} rows" for s in sizes) + " |")
print("|---|" + "---|" * len(sizes))
for kind in feature:
    cells = []
    for n in sizes:
        g = s = 0
        for _ in range(W):
            w = shifted(kind, n)
            g += any(f.drifted for f in gate.compare(w).features if f.feature == feature[kind])
            s += any(f.drifted for f in tests.compare(w).features if f.feature == feature[kind])
        cells.append(f"{g}% ({s}%)")
    print(f"| {names[kind]} | " + " | ".join(cells) + " |", flush=True)
