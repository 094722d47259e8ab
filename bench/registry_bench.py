"""Registry benchmark: 1,000 models and 10,000 versions in the default SQLite store.

Prints, measured side by side in one run, each figure next to its target and next to a floor
measured on the same machine at the same moment (a raw sqlite3 query for look-ups, a bare
``skops.io.dump`` for registration), so noisy shared machines still give comparable ratios.

    .venv/bin/python bench/registry_bench.py [--models 1000] [--versions-per-model 10]
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import skops.io as sio
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sqlalchemy import insert

from ferryman.config import Settings
from ferryman.registry import Registry
from ferryman.schema import infer_signature
from ferryman.store import tables as t


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def fill(registry: Registry, models: int, per_model: int, signature: dict) -> None:
    """Bulk-load metadata rows in one transaction (the API would take minutes to fill)."""
    now = datetime.now(UTC)
    engine = registry.store.engine
    with engine.begin() as conn:
        conn.execute(
            insert(t.models),
            [
                {
                    "id": m + 1,
                    "name": f"model-{m:04d}",
                    "description": "bench",
                    "last_version": per_model,
                    "created_by": "bench",
                    "created_at": now,
                    "updated_at": now,
                }
                for m in range(models)
            ],
        )
        versions, metrics, tags, aliases = [], [], [], []
        for m in range(models):
            for n in range(1, per_model + 1):
                vid = m * per_model + n
                versions.append(
                    {
                        "id": vid,
                        "model_id": m + 1,
                        "number": n,
                        "flavor": "sklearn",
                        "artifact_sha256": f"{vid:064x}",
                        "artifact_size": 1000,
                        "description": "",
                        "signature": signature,
                        "output": {"kind": "classifier", "classes": [0, 1]},
                        "params": {"C": 1.0},
                        "environment": {"python": "3.11"},
                        "created_by": "bench",
                        "created_at": now,
                    }
                )
                metrics += [
                    {"version_id": vid, "key": "accuracy", "value": random.random()},
                    {"version_id": vid, "key": "auc", "value": random.random()},
                ]
                tags.append({"version_id": vid, "key": "team", "value": f"t{m % 7}"})
            aliases.append(
                {
                    "model_id": m + 1,
                    "name": "production",
                    "version_number": per_model // 2,
                    "updated_at": now,
                }
            )
        conn.execute(insert(t.versions), versions)
        conn.execute(insert(t.version_metrics), metrics)
        conn.execute(insert(t.version_tags), tags)
        conn.execute(insert(t.aliases), aliases)


RAW_RESOLVE = """
SELECT v.* FROM models m JOIN aliases a ON a.model_id = m.id
JOIN versions v ON v.model_id = m.id AND v.number = a.version_number
WHERE m.name = ? AND a.name = ?
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--versions-per-model", type=int, default=10)
    args = parser.parse_args()
    random.seed(0)

    data = load_breast_cancer(as_frame=True).frame
    features = data.drop(columns="target")
    model = LogisticRegression(max_iter=5000).fit(features, data["target"])
    signature = infer_signature(features).to_dict()

    with tempfile.TemporaryDirectory(prefix="ferryman-bench-") as tmp:
        home = Path(tmp) / "store"
        registry = Registry(Settings.load(home=home, record_git=False))
        start = time.perf_counter()
        fill(registry, args.models, args.versions_per_model, signature)
        total = args.models * args.versions_per_model
        print(
            f"store: {args.models} models, {total} versions "
            f"(filled in {time.perf_counter() - start:.1f} s) at {home}"
        )

        names = [f"model-{random.randrange(args.models):04d}" for _ in range(2000)]
        it = iter(names * 3)
        resolve = median_ms(lambda: registry.resolve(f"{next(it)}@production"), 2000)
        raw = sqlite3.connect(home / "ferryman.db")
        it_raw = iter(names * 3)
        floor = median_ms(
            lambda: raw.execute(RAW_RESOLVE, (next(it_raw), "production")).fetchall(), 2000
        )

        first_page = registry.list_models(limit=50)
        mid_token = registry.list_models(limit=50 * 10).next_page_token
        page = median_ms(lambda: registry.list_models(limit=50), 200)
        page_mid = median_ms(lambda: registry.list_models(limit=50, page_token=mid_token), 200)
        assert len(first_page) == 50
        middle = f"model-{args.models // 2:04d}"
        versions_page = median_ms(
            lambda: registry.list_versions(middle, metrics=["accuracy>=0.0"], limit=50), 200
        )

        registry.register(model, "warm-up", train_data=data, target="target")
        small = data.sample(100, random_state=0)
        reg_plain = median_ms(lambda: registry.register(model, "bench-plain"), 20)
        reg_data = median_ms(
            lambda: registry.register(model, "bench-data", train_data=small, target="target"), 20
        )
        reg_full = median_ms(
            lambda: registry.register(model, "bench-full", train_data=data, target="target"), 20
        )
        dump_dir = Path(tmp) / "dumps"
        dump_dir.mkdir()
        counter = iter(range(10_000))
        dump = median_ms(lambda: sio.dump(model, dump_dir / f"{next(counter)}.skops"), 20)

        registry.set_alias("bench-full", "production", 1)
        registry.cache.clear()
        cold = median_ms(lambda: (registry.cache.clear(), registry.load("bench-full")), 10)
        warm = median_ms(lambda: registry.load("bench-full"), 200)
        lookup_only = median_ms(lambda: registry.resolve("bench-full"), 200)

    rows = [
        (
            "resolve name@alias (median)",
            resolve,
            2.0,
            f"raw sqlite3 join {floor:.3f} ms",
            resolve / floor,
        ),
        ("list 50 models, first page", page, 20.0, "", None),
        ("list 50 models, page 11", page_mid, 20.0, "", None),
        ("list 50 versions, metric filter", versions_page, None, "", None),
        (
            "register, no training data",
            reg_plain,
            100.0,
            f"skops.io.dump {dump:.1f} ms",
            reg_plain / dump,
        ),
        (
            "register + 100-row train data",
            reg_data,
            100.0,
            f"skops.io.dump {dump:.1f} ms",
            reg_data / dump,
        ),
        (
            "register + 569x31 train data",
            reg_full,
            100.0,
            f"skops.io.dump {dump:.1f} ms",
            reg_full / dump,
        ),
        ("load, cold (verify + skops load)", cold, None, "", None),
        (
            "load, second time (cache)",
            warm,
            None,
            f"resolve alone {lookup_only:.2f} ms",
            warm / lookup_only,
        ),
    ]
    print(f"\n{'measure':36} {'ms':>9} {'target':>8}  {'ok':3} {'floor / comparison':30} ratio")
    for label, ms, target, floor_text, ratio in rows:
        ok = "" if target is None else ("yes" if ms < target else "NO")
        tgt = "" if target is None else f"<{target:g}"
        ratio_text = "" if ratio is None else f"{ratio:.2f}x"
        print(f"{label:36} {ms:9.3f} {tgt:>8}  {ok:3} {floor_text:30} {ratio_text}")
    print(f"\ncached load is {cold / warm:.0f}x faster than a cold load")


if __name__ == "__main__":
    main()
