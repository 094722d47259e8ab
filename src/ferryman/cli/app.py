"""The ``ferryman`` command: global flags and the command groups.

A command's module is imported, and its part of the command tree built, only when that command
runs or a help page lists it: ``ferryman models list`` imports and builds the ``models`` group
alone. At their top the command modules import only Typer, rich and ferryman's light parts
(core, errors); each command imports what it works with (registry, pandas, the server) in its
body; tests/integration/cli/test_cli_startup.py holds them to it.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Annotated, Any

import typer
import typer.main

from ferryman._version import __version__
from ferryman.cli.context import CliState, FerrymanGroup, hide_flag_types, state
from ferryman.cli.output import console, table

# command name -> (module, attribute): a Typer group or a command function, in help's order
COMMANDS: dict[str, tuple[str, str]] = {
    "register": ("ferryman.cli.register", "register"),
    "predict": ("ferryman.cli.register", "predict"),
    "serve": ("ferryman.cli.serve", "serve"),
    "score": ("ferryman.cli.score", "score"),
    "rollback": ("ferryman.cli.aliases", "rollback"),
    "history": ("ferryman.cli.history", "history"),
    "feedback": ("ferryman.cli.monitor", "feedback"),
    "flavors": ("ferryman.cli.app", "flavors"),
    "models": ("ferryman.cli.models", "app"),
    "versions": ("ferryman.cli.versions", "app"),
    "alias": ("ferryman.cli.aliases", "app"),
    "monitor": ("ferryman.cli.monitor", "app"),
    "tokens": ("ferryman.cli.tokens", "app"),
}


class CommandTree(FerrymanGroup):
    """The root group: builds each command of COMMANDS the first time it is asked for."""

    def list_commands(self, ctx: Any) -> list[str]:
        return [*COMMANDS, *(name for name in super().list_commands(ctx) if name not in COMMANDS)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in COMMANDS and cmd_name not in self.commands:
            command = build_command(cmd_name)
            hide_flag_types(command, ctx)
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)


def build_command(name: str) -> Any:
    """The click command (or group) for ``COMMANDS[name]``, built as Typer would build it."""
    module, attribute = COMMANDS[name]
    target = getattr(importlib.import_module(module), attribute)
    holder = typer.Typer(add_completion=False)
    holder.callback()(_group_of_one)  # a group even with one command in it
    if isinstance(target, typer.Typer):
        holder.add_typer(target, name=name)
    else:
        holder.command(name)(target)
    return typer.main.get_command(holder).commands[name]  # type: ignore[attr-defined]


def _group_of_one() -> None:
    """Holds one command while Typer builds it."""


app = typer.Typer(
    cls=CommandTree,
    name="ferryman",
    help="Carry a trained model into production and keep it healthy there.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def flavors() -> None:
    """List the model flavors and whether their libraries are installed."""
    from ferryman.flavors.catalog import catalog

    out = table("flavor", "installed")
    for name in catalog.names():
        out.add_row(name, "yes" if catalog.is_available(name) else "no")
    console.print(out)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"ferryman {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    ctx: typer.Context,
    home: Annotated[
        Path | None, typer.Option(help="Store folder (default ./.ferryman or $FERRYMAN_HOME).")
    ] = None,
    database_url: Annotated[str | None, typer.Option(help="Metadata database URL.")] = None,
    artifact_root: Annotated[str | None, typer.Option(help="Artifact folder or URL.")] = None,
    debug: Annotated[bool, typer.Option(help="Show tracebacks on errors.")] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_show_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Global options come before the command, e.g. ``ferryman --home /data models list``."""
    current = state(ctx)
    current.overrides = {"home": home, "database_url": database_url, "artifact_root": artifact_root}
    current.debug = debug
    ctx.obj = current


def main() -> None:
    """Console entry point."""
    # Arrow's default allocator (mimalloc) reserves its own arena, backed by transparent huge
    # pages on Linux: about 8 MB resident in a server that only writes small log segments. The
    # C allocator costs the prediction log and ``ferryman score`` nothing measurable
    # (bench/README.md). Arrow reads this when it first allocates, so it is set before any
    # command imports pyarrow (and inherited by a server's workers); a value exported wins.
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
    app(obj=CliState())
