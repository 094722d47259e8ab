"""The ``ferryman`` command: global flags and the command groups.

Every command module is imported to build the command tree, for ``--help`` too: at their top
they import only Typer, rich and ferryman's light parts (core, errors); each command imports
what it works with (registry, pandas, the server) in its body; tests/integration/cli/
test_cli_startup.py holds them to it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ferryman._version import __version__
from ferryman.cli import aliases, models, monitor, versions
from ferryman.cli.context import CliState, FerrymanGroup, state
from ferryman.cli.history import history
from ferryman.cli.output import console, table
from ferryman.cli.register import predict, register
from ferryman.cli.score import score
from ferryman.cli.serve import serve

app = typer.Typer(
    cls=FerrymanGroup,
    name="ferryman",
    help="Carry a trained model into production and keep it healthy there.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(models.app, name="models")
app.add_typer(versions.app, name="versions")
app.add_typer(aliases.app, name="alias")
app.add_typer(monitor.app, name="monitor")
app.command("register")(register)
app.command("predict")(predict)
app.command("serve")(serve)
app.command("score")(score)
app.command("rollback")(aliases.rollback)
app.command("history")(history)
app.command("feedback")(monitor.feedback)


@app.command("flavors")
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
    app(obj=CliState())
