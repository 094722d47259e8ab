"""Trust on the command line: kept with the version at ``register --trust``, shown, audited,
used by every later command; each command's refusal names options that command has."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import CUSTOM_TYPE, INPUT_ROWS, Cli

from ferryman.config import Settings
from ferryman.registry import Registry


def _registered_without_recorded_trust(home: Path, custom_skops: Path) -> None:
    """A version of ``custom`` that loads only where the settings trust its type (as every
    version registered before trust was recorded)."""
    registry = Registry(Settings.load(home=home, trusted_types=[CUSTOM_TYPE], record_git=False))
    registry.register_file(custom_skops, "custom")
    registry.close()


def test_register_trust_is_kept_shown_and_audited(
    run: Cli, custom_skops: Path, input_csv: Path
) -> None:
    run.ok("register", custom_skops, "--name", "custom", "--trust", CUSTOM_TYPE)

    shown = run.json("versions", "show", "custom/1")
    assert (shown["trusted_types"], shown["trusted_by"]) == ([CUSTOM_TYPE], "tester")
    assert (
        f"trusted:     {CUSTOM_TYPE} (by tester)" in run.ok("versions", "show", "custom/1").stdout
    )
    events = run.json("history", "custom")["events"]
    trusted = [e for e in events if e["kind"] == "version.trusted"]
    assert [(e["version"], e["actor"], e["after"]) for e in trusted] == [
        (1, "tester", {"trusted_types": [CUSTOM_TYPE]})
    ]
    assert f"trusted {CUSTOM_TYPE}" in run.ok("history", "custom").stdout
    # later commands trust it without being told
    predicted = run.ok("predict", "custom/1", "--input", input_csv).stdout
    assert len(predicted.strip().splitlines()) == INPUT_ROWS + 1


def test_a_version_without_trust_shows_none(run: Cli, nullable_skops: Path) -> None:
    run.ok("register", nullable_skops, "--name", "tree")

    assert run.json("versions", "show", "tree/1")["trusted_types"] == []
    assert "trusted:     -" in run.ok("versions", "show", "tree/1").stdout


def test_register_refusal_names_its_trust_option(run: Cli, custom_skops: Path) -> None:
    line = run.fails("register", custom_skops, "--name", "custom")

    assert f"not trusted: {CUSTOM_TYPE}" in line
    assert "pass --trust TYPE (once per type): the trust is kept with the version" in line
    assert "trusted_types=[" not in line


def test_a_malformed_trust_option_is_refused(run: Cli, custom_skops: Path) -> None:
    line = run.fails("register", custom_skops, "--name", "custom", "--trust", "Threshold")

    assert "trusted type 'Threshold' is not a type name" in line
    assert run.model_names() == []


@pytest.mark.parametrize("command", ["predict", "score"])
def test_predict_and_score_refusals_name_their_trust_option(
    run: Cli, home: Path, custom_skops: Path, input_csv: Path, tmp_path: Path, command: str
) -> None:
    _registered_without_recorded_trust(home, custom_skops)
    args = (
        ["predict", "custom/1", "--input", input_csv]
        if command == "predict"
        else ["score", "custom/1", input_csv, "-o", tmp_path / "out.csv"]
    )

    line = run.fails(*args)

    assert line.startswith(
        f"error: custom/1: the model file needs types that are not trusted: {CUSTOM_TYPE}"
    )
    assert "pass --trust TYPE (once per type) to trust them for this run" in line
    assert "`ferryman register FILE --name NAME --trust TYPE`" in line
    assert "FERRYMAN_TRUSTED_TYPES" in line
    if command == "predict":  # (this classifier has no probabilities, which score wants)
        run.ok(*args, "--trust", CUSTOM_TYPE)
