"""A process killed at any point of a registration leaves no version pointing at a bad artifact."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ferryman.config import Settings
from ferryman.errors import ModelNotFoundError
from ferryman.registry import Registry

SCRIPT = """
import os, sys
import numpy as np
from sklearn.linear_model import LogisticRegression
from ferryman.config import Settings
from ferryman.registry import Registry
import ferryman.store.artifacts as artifacts
import ferryman.store.metadata as metadata

def die(*args, **kwargs):
    os._exit(9)

where = sys.argv[2]
if where == "artifact-rename":
    artifacts.os.replace = die
elif where == "before-database":
    metadata.MetadataStore.insert_version = die
elif where == "inside-transaction":
    metadata.MetadataStore._event = die

x = np.random.default_rng(0).normal(size=(40, 3))
model = LogisticRegression().fit(x, x[:, 0] > 0)
registry = Registry(Settings.load(home=sys.argv[1], record_git=False))
registry.register(model, "m", train_data=x)
"""


def _crash(home: Path, where: str) -> int:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FERRYMAN_")}
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(SCRIPT), str(home), where],
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    return done.returncode


@pytest.mark.parametrize("where", ["artifact-rename", "before-database", "inside-transaction"])
def test_a_crash_leaves_no_half_written_version(tmp_path: Path, where: str) -> None:
    home = tmp_path / "store"
    assert _crash(home, where) == 9
    registry = Registry(Settings.load(home=home, record_git=False))
    assert registry.list_models().items == []
    with pytest.raises(ModelNotFoundError):  # not even its creation event was kept
        registry.history("m")
    # every blob at a final (non-temporary) name is whole: its bytes hash to its name
    for blob in (home / "artifacts").rglob("*"):
        if blob.is_file() and not blob.name.startswith("."):
            sha = blob.parent.name + blob.name
            registry.artifacts.local_path(sha, blob.stat().st_size)
    # and the store still works: the same registration now succeeds and loads
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    x = np.random.default_rng(0).normal(size=(40, 3))
    version = registry.register(LogisticRegression().fit(x, x[:, 0] > 0), "m", train_data=x)
    assert version.version == 1
    assert registry.load("m/1").predict(x[:3]).shape == (3,)
