"""Drift on data that did not drift, per window size: the figures of docs/drift.md.

Runs the A/A simulation of tests/unit/monitoring/drift/test_null_simulation.py (20 references,
50 windows each per size) and prints, per size, the share of windows with any significant test
(effect gate off), the share where a default drift alert fired, and the worst single
reference's rate: the test only asserts the bound, this prints what it measured.

    .venv/bin/python bench/drift_null_rates.py
"""

import sys
from pathlib import Path

sys.path.insert(
    0, str(Path(__file__).resolve().parents[1] / "tests" / "unit" / "monitoring" / "drift")
)
import numpy as np
import test_null_simulation as t

refs = t.references(seed=14)
for size in t.SIZES:
    rng = np.random.default_rng(1_000 + size)
    sig = fired = 0
    per_ref = []
    for ref in refs:
        hits = 0
        for _ in range(t.WINDOWS_PER_REFERENCE):
            w = t.population(rng, size)
            r = ref.tests_only.compare(w)
            sig += r.drifted_count > 0
            hits += r.drifted_count > 0
            fired += t.default_drift_alert_fires(ref.defaults.compare(w), size)
        per_ref.append(hits / t.WINDOWS_PER_REFERENCE)
    n = t.REFERENCES * t.WINDOWS_PER_REFERENCE
    print(
        f"{size:>6} rows: any significant {sig}/{n} = {sig / n:.3f}; "
        f"default drift alerts {fired}/{n} = {fired / n:.3f}; "
        f"worst reference {max(per_ref):.2f}; bound {t.ALLOWED}",
        flush=True,
    )
