"""``ferryman models``: list, show, create, update and delete models."""

from __future__ import annotations

from typing import Annotated

import typer

from ferryman.cli.context import FerrymanGroup, parse_pairs, registry
from ferryman.cli.output import console, heading, next_page, pairs, print_json, table, when

app = typer.Typer(cls=FerrymanGroup, help="Registered models.", no_args_is_help=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
Tags = Annotated[list[str] | None, typer.Option("--tag", help="KEY=VALUE (repeatable).")]


@app.command("list")
def list_models(
    ctx: typer.Context,
    name_contains: Annotated[str | None, typer.Option(help="Only names containing this.")] = None,
    tag: Tags = None,
    alias: Annotated[str | None, typer.Option(help="Only models that have this alias.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Models per page.")] = 50,
    page_token: Annotated[str | None, typer.Option(help="Token printed by the last page.")] = None,
    json_output: JsonFlag = False,
) -> None:
    """List models by name, a page at a time."""
    page = registry(ctx).list_models(
        name_contains=name_contains,
        tags=parse_pairs(tag, "tag"),
        alias=alias,
        limit=limit,
        page_token=page_token,
    )
    if json_output:
        print_json({"models": page.items, "next_page_token": page.next_page_token})
        return
    out = table("name", "versions", "latest", "aliases", "tags", "updated")
    for m in page:
        out.add_row(
            m.name,
            str(m.version_count),
            str(m.latest_version or "-"),
            pairs(m.aliases),
            pairs(m.tags),
            when(m.updated_at),
        )
    console.print(out)
    next_page(page.next_page_token)


@app.command("show")
def show_model(ctx: typer.Context, name: str, json_output: JsonFlag = False) -> None:
    """Show one model: description, tags, aliases, versions."""
    reg = registry(ctx)
    model = reg.get_model(name)
    if json_output:
        print_json(model)
        return
    heading(model.name, model.description)
    console.print(f"versions: {model.version_count} (latest {model.latest_version or '-'})")
    console.print(f"aliases:  {pairs(model.aliases) or '-'}")
    console.print(f"tags:     {pairs(model.tags) or '-'}")
    console.print(f"created:  {when(model.created_at)} by {model.created_by}")


@app.command("create")
def create_model(
    ctx: typer.Context,
    name: str,
    description: Annotated[str, typer.Option(help="What the model is for.")] = "",
    tag: Tags = None,
) -> None:
    """Create an empty model (registering a version creates it too)."""
    model = registry(ctx, create=True).create_model(name, description, parse_pairs(tag, "tag"))
    console.print(f"created model {model.name}")


@app.command("update")
def update_model(
    ctx: typer.Context,
    name: str,
    description: Annotated[str | None, typer.Option(help="New description.")] = None,
    tag: Tags = None,
    remove_tag: Annotated[list[str] | None, typer.Option(help="Tag key to remove.")] = None,
) -> None:
    """Change a model's description or tags."""
    registry(ctx).update_model(
        name,
        description=description,
        set_tags=parse_pairs(tag, "tag"),
        remove_tags=remove_tag or [],
    )
    console.print(f"updated model {name}")


@app.command("delete")
def delete_model(
    ctx: typer.Context,
    name: str,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm deletion.")] = False,
) -> None:
    """Delete a model and all its versions (the audit log is kept)."""
    if not yes:
        raise typer.BadParameter("deleting a model cannot be undone: add --yes to confirm")
    registry(ctx).delete_model(name)
    console.print(f"deleted model {name}")
