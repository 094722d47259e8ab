"""CLI start-up benchmark: ``ferryman --help``, ``--version``, ``flavors`` and ``models list``.

Runs each command as a fresh process, N rounds in turn (the order rotates each round, so a
burst of load on the machine touches every command alike), beside ``python -c pass`` (the
interpreter's own start-up) and ``python -c "import typer"`` (the floor of any Typer CLI).
Prints the median and best wall time of each, its median CPU time (user + system: less
sensitive than wall time to other processes on a shared machine), its target (issue 13) and
its ratio to the interpreter's start-up.

    .venv/bin/python bench/cli_startup.py [--rounds 15] [--before OLD/src]

``--before`` also runs ``--help`` and ``models list`` from another source tree (an older
commit's ``src``, e.g. from ``git worktree add /tmp/old COMMIT``) in the same rotation, and
prints each command's ratio to its older self.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# what a metadata command cannot do without: the CLI, settings and the database layer
LIBRARIES = "import typer,rich.table,pydantic_settings,sqlalchemy"
TARGETS_S = {"--help": 0.3, "--version": 0.6, "flavors": 0.6, "models list": 0.6}


def ferryman() -> list[str]:
    script = Path(sys.executable).with_name("ferryman")
    return [str(script)] if script.exists() else [sys.executable, "-m", "ferryman.cli"]


def seconds(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one run of ``argv``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--before", type=Path, help="an older source tree to compare with")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="ferryman-startup-") as home,
        tempfile.TemporaryDirectory(prefix="ferryman-startup-before-") as home_before,
    ):
        env = {**os.environ, "FERRYMAN_HOME": home}
        subprocess.run([*ferryman(), "models", "create", "churn"], env=env, check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "python -c 'import typer'": [sys.executable, "-c", "import typer"],
            "python -c 'import <libraries>'": [sys.executable, "-c", LIBRARIES],
            "--help": [*ferryman(), "--help"],
            "--version": [*ferryman(), "--version"],
            "flavors": [*ferryman(), "flavors"],
            "models list": [*ferryman(), "models", "list"],
        }
        envs = dict.fromkeys(commands, env)
        if args.before is not None:  # a store of its own: an older tree may not read ours
            old = {**env, "PYTHONPATH": str(args.before.resolve()), "FERRYMAN_HOME": home_before}
            subprocess.run([sys.executable, "-m", "ferryman.cli", "models", "create", "churn"],
                           env=old, check=True, stdout=subprocess.DEVNULL)  # fmt: skip
            for name in ("--help", "models list"):
                commands[f"before: {name}"] = [sys.executable, "-m", "ferryman.cli", *name.split()]
                commands[f"now -m: {name}"] = [sys.executable, "-m", "ferryman.cli", *name.split()]
                envs[f"before: {name}"] = old
                envs[f"now -m: {name}"] = env
        names = list(commands)
        times: dict[str, list[float]] = {name: [] for name in names}
        cpu: dict[str, list[float]] = {name: [] for name in names}
        for round_ in range(args.rounds):
            shift = round_ % len(names)
            for name in names[shift:] + names[:shift]:
                wall, used = seconds(commands[name], envs[name])
                times[name].append(wall)
                cpu[name].append(used)
    floor = statistics.median(times["python -c pass"])
    print(f"{args.rounds} rounds, each command a fresh process; ratio = median / python -c pass")
    print(
        f"{'command':<32}{'median s':>10}{'best s':>9}{'cpu s':>8}{'target':>8}{'ok':>5}"
        f"{'ratio':>9}"
    )
    for name in names:
        median, best = statistics.median(times[name]), min(times[name])
        target = TARGETS_S.get(name)
        shown = f"ferryman {name}" if name in TARGETS_S else name
        print(
            f"{shown:<32}{median:>10.3f}{best:>9.3f}{statistics.median(cpu[name]):>8.3f}"
            f"{'' if target is None else f'<{target}':>8}"
            f"{'' if target is None else ('yes' if median < target else 'NO'):>5}"
            f"{median / floor:>8.1f}x"
        )
    for name in [n for n in names if n.startswith("before: ")]:
        now = statistics.median(times[name.replace("before: ", "now -m: ")])
        then = statistics.median(times[name])
        used = statistics.median(cpu[name.replace("before: ", "now -m: ")])
        print(
            f"{name.removeprefix('before: ')}: now / before = {now / then:.2f} wall, "
            f"{used / statistics.median(cpu[name]):.2f} cpu (both run as python -m ferryman.cli)"
        )


if __name__ == "__main__":
    main()
