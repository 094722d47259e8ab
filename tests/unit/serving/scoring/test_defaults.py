"""Batch scoring's defaults: chunks predicted at once follow the CPUs a process may use."""

from __future__ import annotations

from pathlib import Path

import pytest

from ferryman.serving.scoring.defaults import _cgroup_cpu_quota, default_threads


@pytest.mark.parametrize(
    ("text", "cpus"),
    [("200000 100000\n", 2.0), ("150000 100000", 1.5), ("max 100000", None), ("5 100000", 1.0),
     ("garbage", None)],
)  # fmt: skip
def test_a_containers_cpu_quota_bounds_the_default_threads(
    tmp_path: Path, text: str, cpus: float | None
) -> None:
    quota_file = tmp_path / "cpu.max"
    quota_file.write_text(text)

    assert _cgroup_cpu_quota(quota_file) == cpus
    assert _cgroup_cpu_quota(tmp_path / "missing") is None
    assert 1 <= default_threads() <= 8
