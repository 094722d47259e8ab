"""``ferryman alias`` and ``ferryman rollback``: promotion and rollback."""

from __future__ import annotations

from typing import Annotated

import typer

from ferryman.cli.context import FerrymanGroup, registry
from ferryman.cli.output import console, print_json, table, when
from ferryman.core.records import AliasMove

app = typer.Typer(
    cls=FerrymanGroup, help="Aliases: named pointers to versions.", no_args_is_help=True
)


def describe_move(move: AliasMove) -> str:
    before = "nothing" if move.from_version is None else f"version {move.from_version}"
    after = "nothing" if move.to_version is None else f"version {move.to_version}"
    if move.kind == "unchanged":
        return f"{move.model}@{move.alias} already points at {after}"
    return f"{move.model}@{move.alias}: {before} -> {after}"


@app.command("set")
def set_alias(
    ctx: typer.Context,
    name: str,
    alias: str,
    version: Annotated[int, typer.Argument(min=1, help="Version number.")],
) -> None:
    """Point ALIAS of model NAME at VERSION (promotion)."""
    console.print(describe_move(registry(ctx).set_alias(name, alias, version)))


@app.command("rm")
def remove_alias(ctx: typer.Context, name: str, alias: str) -> None:
    """Remove ALIAS from model NAME."""
    console.print(describe_move(registry(ctx).remove_alias(name, alias)))


@app.command("list")
def list_aliases(
    ctx: typer.Context,
    name: str,
    history: Annotated[bool, typer.Option(help="Show every move, oldest first.")] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Show a model's aliases (and with --history, every move of them)."""
    reg = registry(ctx)
    if history:
        moves = reg.alias_history(name)
        if json_output:
            print_json(moves)
            return
        out = table("when", "alias", "kind", "from", "to", "by")
        for m in moves:
            out.add_row(
                when(m.at),
                m.alias,
                m.kind,
                str(m.from_version or "-"),
                str(m.to_version or "-"),
                m.actor,
            )
        console.print(out)
        return
    aliases = reg.get_model(name).aliases
    if json_output:
        print_json(aliases)
        return
    out = table("alias", "version")
    for alias, version in aliases.items():
        out.add_row(alias, str(version))
    console.print(out)


def rollback(
    ctx: typer.Context,
    name: str,
    alias: Annotated[str, typer.Option(help="Alias to move back.")] = "production",
) -> None:
    """Move an alias back to the version it pointed at before its last move."""
    console.print(describe_move(registry(ctx).rollback(name, alias)))
