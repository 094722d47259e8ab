"""Drift benchmark: 100,000 live rows x 55 features against a 10,000-row reference.

Prints, measured side by side in one run, the time of ``DriftDetector.compare`` (50 numeric and
5 categorical features; fit timed apart), next to the floor of calling ``scipy.stats.ks_2samp``
on the same 50 numeric columns, and the peak memory of a fresh process that builds the data,
fits and compares once (peak RSS from ``resource``; the compare's own allocations from
``tracemalloc``).

    .venv/bin/python bench/drift_bench.py [--live-rows 100000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy import stats

from ferryman.monitoring.drift.detector import DriftDetector
from ferryman.schema.profiling import profile_frame

NUMERIC = 50
CATEGORICAL = 5
REFERENCE_ROWS = 10_000


def make_frame(rows: int, seed: int, shifted: bool) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data: dict[str, object] = {}
    for i in range(NUMERIC):
        values = rng.normal(10 * i, 1 + i % 5, rows)
        if shifted and i < 3:
            values = values + 0.5 * (1 + i % 5)
        data[f"num_{i}"] = values
    levels = np.array([f"level_{j}" for j in range(12)])
    weights = np.linspace(2, 1, 12) / np.linspace(2, 1, 12).sum()
    for i in range(CATEGORICAL):
        p = np.roll(weights, 3) if shifted and i == 0 else weights
        data[f"cat_{i}"] = levels[rng.choice(12, rows, p=p)].astype(object)
    return pd.DataFrame(data)


def median_s(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def child(live_rows: int) -> None:
    """Build, fit and compare once in a fresh process; print its peak memory as JSON."""
    reference = make_frame(REFERENCE_ROWS, 1, shifted=False)
    live = make_frame(live_rows, 2, shifted=True)
    detector = DriftDetector().fit(reference, profile_frame(reference))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tracemalloc.start()
    detector.compare(live)
    traced = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    live_mb = live.memory_usage(deep=True).sum() / 2**20
    print(json.dumps({"before": before, "peak": peak, "traced": traced, "live_mb": live_mb}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--live-rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.live_rows)
        return

    reference = make_frame(REFERENCE_ROWS, 1, shifted=False)
    live = make_frame(args.live_rows, 2, shifted=True)
    profile = profile_frame(reference)
    fit_s = median_s(lambda: DriftDetector().fit(reference, profile), args.repeat)
    detector = DriftDetector().fit(reference, profile)
    report = detector.compare(live)
    compare_s = median_s(lambda: detector.compare(live), args.repeat)
    numeric = [f"num_{i}" for i in range(NUMERIC)]
    ref_cols = [reference[c].to_numpy() for c in numeric]
    live_cols = [live[c].to_numpy() for c in numeric]

    def scipy_ks() -> None:
        for a, b in zip(ref_cols, live_cols, strict=True):
            stats.ks_2samp(a, b)

    ks_s = median_s(scipy_ks, args.repeat)
    out = subprocess.run(
        [sys.executable, __file__, "--child", "--live-rows", str(args.live_rows)],
        check=True,
        capture_output=True,
        text=True,
    )
    memory = json.loads(out.stdout)

    print(
        f"drift: {args.live_rows:,} live rows x {NUMERIC} numeric + {CATEGORICAL} categorical "
        f"features, reference {REFERENCE_ROWS:,} rows (median of {args.repeat})"
    )
    print(f"{'measure':<44}{'figure':>12}{'target':>10}  ok   comparison")
    row = "{:<44}{:>12}{:>10}  {:<4} {}"
    print(
        row.format(
            "compare (KS+PSI+Wasserstein, chi2+JS+PSI)",
            f"{compare_s * 1000:.0f} ms",
            "< 1000",
            "yes" if compare_s < 1 else "NO",
            f"{ks_s / compare_s:.2f}x faster than scipy ks_2samp alone "
            f"({ks_s * 1000:.0f} ms for the 50 numeric columns)",
        )
    )
    print(row.format("scipy.stats.ks_2samp x 50 (comparison)", f"{ks_s * 1000:.0f} ms", "", "", ""))
    print(row.format("fit (sorted columns, bins, counts)", f"{fit_s * 1000:.0f} ms", "", "", ""))
    print(
        row.format(
            "peak RSS of a fresh process",
            f"{memory['peak']:.0f} MB",
            "< 500",
            "yes" if memory["peak"] < 500 else "NO",
            f"{memory['before']:.0f} MB before compare; live frame {memory['live_mb']:.0f} MB",
        )
    )
    print(
        row.format(
            "compare's own allocations (tracemalloc)", f"{memory['traced']:.0f} MB", "", "", ""
        )
    )
    print(
        f"result: {report.drifted_count}/{report.tested_count} drifted "
        f"({', '.join(report.drifted)}); share {report.share:.3f}"
    )


if __name__ == "__main__":
    main()
