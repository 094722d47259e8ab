"""``ferryman versions``: list and filter, show by each kind of reference, profile, tag, delete."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import FEATURES, TARGET, Cli


@pytest.fixture
def three_versions(run: Cli, skops_file: Path, lightgbm_file: Path, train_csv: Path) -> Cli:
    """Model ``m``: 1 sklearn acc=0.8, 2 lightgbm acc=0.92 team=x (production), 3 sklearn
    acc=0.95 team=y (staging), the first with training data."""
    run.ok(
        "register", skops_file, "--name", "m", "--metric", "acc=0.8",
        "--train-data", train_csv, "--target", TARGET,
    )  # fmt: skip
    run.ok(
        "register", lightgbm_file, "--name", "m", "--metric", "acc=0.92", "--tag", "team=x",
        "--alias", "production",
    )  # fmt: skip
    run.ok(
        "register", skops_file, "--name", "m", "--metric", "acc=0.95", "--tag", "team=y",
        "--alias", "staging",
    )  # fmt: skip
    return run


def test_versions_list_newest_first(three_versions: Cli) -> None:
    page = three_versions.json("versions", "list", "m")

    assert [v["version"] for v in page["versions"]] == [3, 2, 1]
    assert [v["flavor"] for v in page["versions"]] == ["sklearn", "lightgbm", "sklearn"]
    assert [v["aliases"] for v in page["versions"]] == [["staging"], ["production"], []]
    assert page["next_page_token"] is None


def test_versions_list_table(three_versions: Cli) -> None:
    out = three_versions.ok("versions", "list", "m").stdout

    assert "lightgbm" in out
    assert "acc=0.92" in out
    assert "production" in out


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (["--metric", "acc>=0.9"], [3, 2]),
        (["--metric", "acc<0.9"], [1]),
        (["--metric", "acc>0.9", "--metric", "acc<0.93"], [2]),
        (["--metric", "auc>0"], []),
        (["--tag", "team=x"], [2]),
        (["--flavor", "sklearn"], [3, 1]),
        (["--flavor", "sklearn", "--metric", "acc>=0.9"], [3]),
        (["--flavor", "onnx"], []),
    ],
)
def test_versions_list_filters(
    three_versions: Cli, filters: list[str], expected: list[int]
) -> None:
    page = three_versions.json("versions", "list", "m", *filters)

    assert [v["version"] for v in page["versions"]] == expected


def test_versions_list_pages(three_versions: Cli) -> None:
    first = three_versions.json("versions", "list", "m", "--limit", "2")
    second = three_versions.json(
        "versions", "list", "m", "--limit", "2", "--page-token", first["next_page_token"]
    )

    assert [v["version"] for v in first["versions"]] == [3, 2]
    assert [v["version"] for v in second["versions"]] == [1]
    assert second["next_page_token"] is None


@pytest.mark.parametrize(
    ("ref", "version"),
    [("m", 2), ("m@production", 2), ("m@staging", 3), ("m@latest", 3), ("m/1", 1), ("m/2", 2)],
)
def test_versions_show_each_kind_of_reference(three_versions: Cli, ref: str, version: int) -> None:
    shown = three_versions.json("versions", "show", ref)

    assert (shown["model"], shown["version"]) == ("m", version)


def test_versions_show_human_output(three_versions: Cli) -> None:
    out = three_versions.ok("versions", "show", "m/1").stdout

    assert out.startswith("m/1")
    assert "flavor:      sklearn" in out
    assert "metrics:     acc=0.8" in out
    assert "signature" in out
    for name in FEATURES:
        assert name in out


def test_versions_show_profile_json(three_versions: Cli) -> None:
    shown = three_versions.json("versions", "show", "m/1", "--profile")

    assert shown["version"]["version"] == 1
    profile = shown["profile"]
    assert profile["rows"] == 200
    assert profile["target"] == TARGET
    assert list(profile["columns"]) == [*FEATURES, TARGET]
    x0 = profile["columns"]["x0"]
    assert (x0["kind"], x0["count"], x0["nulls"]) == ("float", 200, 0)
    numeric = x0["numeric"]
    assert numeric["minimum"] <= numeric["quantiles"]["0.5"] <= numeric["maximum"]
    assert sum(numeric["bin_counts"]) == 200
    assert len(numeric["bin_edges"]) == len(numeric["bin_counts"]) + 1
    assert profile["sample_rows"] == 200


def test_versions_show_profile_table(three_versions: Cli) -> None:
    out = three_versions.ok("versions", "show", "m/1", "--profile").stdout

    assert "training-data profile" in out
    assert "median" in out


def test_versions_show_profile_of_a_version_without_data(three_versions: Cli) -> None:
    shown = three_versions.json("versions", "show", "m/2", "--profile")

    assert shown["version"]["version"] == 2
    assert shown["profile"] is None


def test_versions_tag_sets_and_removes(three_versions: Cli) -> None:
    result = three_versions.ok("versions", "tag", "m/2", "--tag", "owner=ann", "--remove", "team")

    assert result.stdout.strip() == "m/2 tags: owner=ann"
    assert three_versions.json("versions", "show", "m/2")["tags"] == {"owner": "ann"}
    assert three_versions.json("versions", "show", "m/3")["tags"] == {"team": "y"}


def test_versions_tag_by_alias(three_versions: Cli) -> None:
    three_versions.ok("versions", "tag", "m@staging", "--tag", "checked=yes")

    assert three_versions.json("versions", "show", "m/3")["tags"] == {
        "team": "y",
        "checked": "yes",
    }


def test_versions_delete(three_versions: Cli) -> None:
    result = three_versions.ok("versions", "delete", "m/1", "--yes")

    assert result.stdout.strip() == "deleted m/1"
    assert three_versions.versions("m") == [3, 2]
    assert "no version 1" in three_versions.fails("versions", "show", "m/1")


def test_versions_delete_needs_yes(three_versions: Cli) -> None:
    err = three_versions.misused("versions", "delete", "m/1")

    assert "--yes" in err
    assert three_versions.versions("m") == [3, 2, 1]


def test_versions_delete_refused_while_aliased(three_versions: Cli) -> None:
    line = three_versions.fails("versions", "delete", "m/2", "--yes")

    assert "production" in line
    assert three_versions.versions("m") == [3, 2, 1]


def test_version_numbers_are_not_reused_after_delete(three_versions: Cli, skops_file: Path) -> None:
    three_versions.ok("alias", "rm", "m", "staging")
    three_versions.ok("versions", "delete", "m/3", "--yes")

    three_versions.ok("register", skops_file, "--name", "m")

    assert three_versions.versions("m") == [4, 2, 1]
