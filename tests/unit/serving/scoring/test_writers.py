"""Writing a scoring job's output and rejects: files with the mode the umask gives."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scoring_support import FIRST, write_file

from ferryman.registry import LoadedModel, Registry
from ferryman.serving.scoring.job import score_file


@pytest.mark.parametrize("umask", [0o022, 0o077])
@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_outputs_and_rejects_have_the_mode_the_umask_gives(
    registry: Registry,
    model: LoadedModel,
    features: pd.DataFrame,
    tmp_path: Path,
    umask: int,
    suffix: str,
) -> None:
    frame = features.copy()
    frame.loc[4, FIRST] = np.nan
    data = write_file(frame, tmp_path / "in.csv")
    out = tmp_path / f"out{suffix}"
    old = os.umask(umask)
    try:
        (tmp_path / "plain").open("w").close()
        report = score_file(registry, "cancer/1", data, out)
    finally:
        os.umask(old)

    plain = stat.S_IMODE((tmp_path / "plain").stat().st_mode)
    assert plain == 0o666 & ~umask
    assert report.rejects is not None
    assert stat.S_IMODE(out.stat().st_mode) == plain
    assert stat.S_IMODE(report.rejects.stat().st_mode) == plain
