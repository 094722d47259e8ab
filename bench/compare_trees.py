"""Run one benchmark from two source trees, alternately, and print their figures side by side.

A refactor promises the same figures before and after. Two runs hours apart on a shared
machine differ by more than a refactor could, so this runs the benchmark's own script from
the older tree (with that tree's ``src`` first on ``PYTHONPATH``, so that it and every server
it starts import the older code) and from this tree, one after the other, ``--rounds`` times,
and prints each figure's median before and now and their ratio. A figure is a number on an
output line; lines are matched by their text with the numbers taken out.

    git worktree add /tmp/before <older commit>
    .venv/bin/python bench/compare_trees.py --before /tmp/before --rounds 3 \
        -- bench/serving_bench.py --duration 8 --skip-rf
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from statistics import median

HERE = Path(__file__).resolve().parent.parent
NUMBER = re.compile(r"-?\d+(?:,\d{3})*(?:\.\d+)?")

Figures = dict[str, list[float]]


def run(root: Path, script: str, args: list[str]) -> str:
    """The benchmark's output when ``root``'s copy of ``script`` runs on ``root``'s code."""
    env = {**os.environ, "PYTHONPATH": str(root / "src")}
    done = subprocess.run(
        [sys.executable, str(root / script), *args],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"{root / script} failed ({done.returncode}):\n{done.stderr}")
    return done.stdout


def figures(output: str) -> Figures:
    """Every output line with numbers: its text without them -> the numbers, in order."""
    found: Figures = {}
    for line in output.splitlines():
        numbers = NUMBER.findall(line)
        if numbers:
            label = " ".join(NUMBER.sub("#", line).split())
            found[label] = [float(n.replace(",", "")) for n in numbers]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, required=True, help="the older tree's root")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("script", help="the benchmark, relative to a tree's root")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="the benchmark's arguments")
    args = parser.parse_args()
    before, now = args.before.resolve(), HERE
    runs: dict[str, list[Figures]] = defaultdict(list)
    for round_ in range(args.rounds):
        order = ((("before", before), ("now", now)) if round_ % 2 == 0
                 else (("now", now), ("before", before)))  # fmt: skip
        for name, root in order:
            print(f"round {round_ + 1}/{args.rounds}: {name} ({root})", file=sys.stderr)
            runs[name].append(figures(run(root, args.script, args.args)))
    print(f"{args.script} {' '.join(args.args)}: median of {args.rounds} runs per tree, "
          "alternated; ratio = now / before")  # fmt: skip
    shared = [label for label in runs["now"][0] if all(label in r for r in runs["before"])]
    for label in shared:
        if not all(label in r for r in runs["now"]):
            continue
        width = min(len(r[label]) for r in runs["now"] + runs["before"])
        then = [median(r[label][i] for r in runs["before"]) for i in range(width)]
        current = [median(r[label][i] for r in runs["now"]) for i in range(width)]
        ratios = " ".join(f"{c / t:.3f}" if t else "-" for c, t in zip(current, then, strict=True))
        print(f"  {label[:70]:70}")
        print(f"      before {' '.join(f'{v:.4g}' for v in then)}")
        print(f"      now    {' '.join(f'{v:.4g}' for v in current)}   ratio {ratios}")


if __name__ == "__main__":
    main()
