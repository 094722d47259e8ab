"""What a version was built with: Python, the flavor's packages, and the git commit."""

from __future__ import annotations

import platform
import subprocess
import sys
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from ferryman._version import __version__

# Some libraries ship under more than one distribution name (xgboost-cpu installs xgboost).
_ALTERNATIVE_NAMES = {
    "xgboost": ("xgboost", "xgboost-cpu"),
    "onnxruntime": ("onnxruntime", "onnxruntime-gpu"),
}


@cache
def package_version(name: str) -> str | None:
    for candidate in _ALTERNATIVE_NAMES.get(name, (name,)):
        try:
            return version(candidate)
        except PackageNotFoundError:
            continue
    return None


def capture_environment(packages: tuple[str, ...]) -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": f"{sys.platform}-{platform.machine()}",
        "ferryman": __version__,
        "packages": {name: package_version(name) for name in packages},
    }


def git_state(folder: Path) -> tuple[str, bool] | None:
    """The commit checked out in ``folder`` and whether the work tree has changes, if a repo."""
    try:
        head = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "--verify", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
        if head.returncode != 0:
            return None
        status = subprocess.run(
            ["git", "-C", str(folder), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return head.stdout.strip(), bool(status.stdout.strip())
