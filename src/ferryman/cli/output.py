"""Printing records as rich tables for people or JSON for scripts."""

from __future__ import annotations

import dataclasses
import json
import sys
from datetime import datetime
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

# Piped or logged output is not wrapped at 80 columns; a terminal uses its own width.
# Markup is off: names, descriptions and tags are user text and print exactly as written.
console = Console(
    highlight=False, markup=False, soft_wrap=True, width=None if sys.stdout.isatty() else 200
)


def jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def print_json(value: Any) -> None:
    typer.echo(json.dumps(jsonable(value), indent=2, sort_keys=False))


def heading(title: str, rest: str = "") -> None:
    """A bold title followed by plain text, neither read as markup."""
    console.print(Text(title, style="bold") + Text(f"  {rest}" if rest else ""))


def number(value: float | None, fmt: str = "{:.4g}") -> str:
    return "-" if value is None else fmt.format(value)


def when(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S")


def table(*columns: str, title: str | None = None) -> Table:
    out = Table(title=title, show_lines=False, header_style="bold")
    for column in columns:
        out.add_column(column, overflow="fold")
    return out


def pairs(mapping: dict[str, Any], fmt: str = "{}") -> str:
    return ", ".join(f"{k}={fmt.format(v)}" for k, v in mapping.items())


def next_page(token: str | None) -> None:
    if token:
        console.print(f"more: --page-token {token}", style="dim")
