"""``ferryman models``: list (filters, paging), show, create, update, delete."""

from __future__ import annotations

from pathlib import Path

from cli_support import Cli


def test_models_list_json_on_an_empty_store(run: Cli) -> None:
    assert run.json("models", "list") == {"models": [], "next_page_token": None}


def test_models_create_then_show(run: Cli) -> None:
    result = run.ok("models", "create", "churn", "--description", "who leaves", "--tag", "team=x")

    assert result.stdout.strip() == "created model churn"
    model = run.json("models", "show", "churn")
    assert model["name"] == "churn"
    assert model["description"] == "who leaves"
    assert model["tags"] == {"team": "x"}
    assert model["created_by"] == "tester"
    assert model["version_count"] == 0
    assert model["latest_version"] is None
    assert model["aliases"] == {}


def test_models_show_human_output(run: Cli, skops_file: Path) -> None:
    run.ok("register", skops_file, "--name", "churn", "--alias", "production")
    run.ok("models", "update", "churn", "--tag", "team=x")

    out = run.ok("models", "show", "churn").stdout

    assert "versions: 1 (latest 1)" in out
    assert "aliases:  production=1" in out
    assert "tags:     team=x" in out
    assert "by tester" in out


def test_models_list_shows_counts_aliases_and_tags(run: Cli, skops_file: Path) -> None:
    run.ok("register", skops_file, "--name", "churn", "--alias", "production")
    run.ok("register", skops_file, "--name", "churn")
    run.ok("models", "create", "empty", "--tag", "team=y")

    listed = run.json("models", "list")

    assert [m["name"] for m in listed["models"]] == ["churn", "empty"]
    churn, empty = listed["models"]
    assert (churn["version_count"], churn["latest_version"]) == (2, 2)
    assert churn["aliases"] == {"production": 1}
    assert (empty["version_count"], empty["tags"]) == (0, {"team": "y"})
    assert listed["next_page_token"] is None
    table = run.ok("models", "list").stdout
    assert "churn" in table
    assert "production=1" in table


def test_models_list_filters_by_name_tag_and_alias(run: Cli, skops_file: Path) -> None:
    run.ok("models", "create", "churn-eu", "--tag", "team=x")
    run.ok("models", "create", "churn-us", "--tag", "team=y")
    run.ok("models", "create", "fraud", "--tag", "team=x")
    run.ok("register", skops_file, "--name", "fraud", "--alias", "staging")

    def names(*filters: str) -> list[str]:
        return [m["name"] for m in run.json("models", "list", *filters)["models"]]

    assert names("--name-contains", "churn") == ["churn-eu", "churn-us"]
    assert names("--tag", "team=x") == ["churn-eu", "fraud"]
    assert names("--tag", "team=x", "--name-contains", "churn") == ["churn-eu"]
    assert names("--alias", "staging") == ["fraud"]
    assert names("--alias", "production") == []
    assert names("--name-contains", "nothing-like-this") == []


def test_models_list_pages_with_the_token(run: Cli) -> None:
    for name in ["e", "d", "c", "b", "a"]:
        run.ok("models", "create", name)

    seen: list[str] = []
    tokens: list[str | None] = []
    args: list[str] = []
    for _ in range(5):
        page = run.json("models", "list", "--limit", "2", *args)
        seen += [m["name"] for m in page["models"]]
        tokens.append(page["next_page_token"])
        if page["next_page_token"] is None:
            break
        args = ["--page-token", page["next_page_token"]]

    assert seen == ["a", "b", "c", "d", "e"]
    assert len(tokens) == 3
    assert tokens[-1] is None
    assert all(tokens[:-1])


def test_models_list_table_prints_the_next_page_hint(run: Cli) -> None:
    for name in ["a", "b", "c"]:
        run.ok("models", "create", name)

    out = run.ok("models", "list", "--limit", "2").stdout
    token = run.json("models", "list", "--limit", "2")["next_page_token"]

    assert f"--page-token {token}" in out


def test_models_update_description_and_tags(run: Cli) -> None:
    run.ok("models", "create", "churn", "--tag", "team=x", "--tag", "tier=1")

    result = run.ok(
        "models", "update", "churn", "--description", "v2", "--tag", "owner=ann",
        "--remove-tag", "tier",
    )  # fmt: skip

    assert result.stdout.strip() == "updated model churn"
    model = run.json("models", "show", "churn")
    assert model["description"] == "v2"
    assert model["tags"] == {"team": "x", "owner": "ann"}


def test_models_update_keeps_what_is_not_named(run: Cli) -> None:
    run.ok("models", "create", "churn", "--description", "keep me", "--tag", "team=x")

    run.ok("models", "update", "churn", "--tag", "team=y")

    model = run.json("models", "show", "churn")
    assert model["description"] == "keep me"
    assert model["tags"] == {"team": "y"}


def test_models_delete_needs_yes(run: Cli, skops_file: Path) -> None:
    run.ok("register", skops_file, "--name", "churn")

    err = run.misused("models", "delete", "churn")

    assert "--yes" in err
    assert run.model_names() == ["churn"]
    assert run.versions("churn") == [1]


def test_models_delete_with_yes(run: Cli, skops_file: Path) -> None:
    run.ok("register", skops_file, "--name", "churn")
    run.ok("models", "create", "other")

    result = run.ok("models", "delete", "churn", "--yes")

    assert result.stdout.strip() == "deleted model churn"
    assert run.model_names() == ["other"]
    assert "no model named 'churn'" in run.fails("models", "show", "churn")


def test_models_create_after_delete_reuses_the_name(run: Cli, skops_file: Path) -> None:
    run.ok("register", skops_file, "--name", "churn")
    run.ok("models", "delete", "churn", "--yes")

    run.ok("register", skops_file, "--name", "churn")

    assert run.json("models", "show", "churn")["version_count"] == 1
