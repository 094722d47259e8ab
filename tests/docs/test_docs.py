"""Every CLI command and every setting is documented."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from starlette.routing import Route

from ferryman.cli import app
from ferryman.config import Settings
from ferryman.http import aliases, monitoring, openapi, sagemaker, simple, v2

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _commands(group: Any, prefix: str) -> list[str]:
    """Every command path below ``group``, asked the way click asks (commands load lazily)."""
    out = []
    ctx = typer.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        path = f"{prefix} {name}"
        if hasattr(command, "list_commands"):  # a group (typer ships its own click)
            out += _commands(command, path)
        else:
            out.append(path)
    return out


def test_every_cli_command_is_in_docs_cli() -> None:
    text = (DOCS / "cli.md").read_text()
    commands = _commands(typer.main.get_command(app), "ferryman")
    assert len(commands) >= 15
    missing = [c for c in commands if f"`{c}" not in text]
    assert missing == []


def test_every_setting_is_in_docs_configuration() -> None:
    text = (DOCS / "configuration.md").read_text()
    missing = [name for name in Settings.model_fields if f"`{name}`" not in text]
    assert missing == []


def test_every_http_route_is_in_docs_serving() -> None:
    text = (DOCS / "serving.md").read_text()
    paths = {
        route.path.replace(":path", "")
        for module in (simple, v2, sagemaker, openapi, monitoring, aliases)
        for route in module.routes
        if isinstance(route, Route)
    }
    paths.add("/metrics")
    assert len(paths) >= 18
    missing = sorted(p for p in paths if f" {p}`" not in text)
    assert missing == []


def test_every_serve_option_is_in_docs_serving() -> None:
    text = (DOCS / "serving.md").read_text()
    root: Any = typer.main.get_command(app)
    serve = root.get_command(typer.Context(root), "serve")
    options = [opt for param in serve.params for opt in param.opts if opt.startswith("--")]
    assert "--port" in options
    missing = [opt for opt in options if f"`{opt}" not in text]
    assert missing == []
