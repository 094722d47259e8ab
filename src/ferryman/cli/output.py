"""Printing records as rich tables for people or JSON for scripts."""

from __future__ import annotations

import dataclasses
import json
import re
import sys
from datetime import datetime
from typing import Any

import typer
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderableType
from rich.table import Table
from rich.text import Text

# Piped or logged output is not wrapped at 80 columns; a terminal uses its own width.
# Markup and emoji codes are off: names, descriptions and tags are user text and print exactly
# as written (``:fire:`` too).
console = Console(
    highlight=False,
    markup=False,
    emoji=False,
    soft_wrap=True,
    width=None if sys.stdout.isatty() else 200,
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


# A word holding a digit: a number, ``accuracy=0.9441,``, a time, a hash. Longer words are paths
# or messages, which may fold like any text.
_NUMBER_WORD = re.compile(r"\S*\d\S*")
LONGEST_UNBROKEN = 40


class RecordTable(Table):
    """A rich table that never splits a number across lines.

    Rich wraps a cell at spaces and folds a word that is wider than its column anywhere, so a
    narrow terminal printed ``accuracy=0`` above ``.9441``. Each column here is kept at least
    as wide as its widest word holding a digit (up to LONGEST_UNBROKEN characters); the
    columns of plain text give up the room instead.
    """

    def add_row(self, *renderables: RenderableType | None, **kwargs: Any) -> None:
        super().add_row(*renderables, **kwargs)
        for column, cell in zip(self.columns, renderables, strict=False):
            text = cell.plain if isinstance(cell, Text) else cell
            if not isinstance(text, str):
                continue
            widest = max((cell_len(w) for w in _NUMBER_WORD.findall(text)), default=0)
            widest = min(widest, LONGEST_UNBROKEN)
            if widest > (column.min_width or 0):
                column.min_width = widest

    def _calculate_column_widths(self, console: Console, options: ConsoleOptions) -> list[int]:
        widths = super()._calculate_column_widths(console, options)
        if sum(widths) <= options.max_width:
            return widths
        # Too narrow for every word: rich shrank all columns evenly, then widened those
        # holding numbers back past the console's width. Start again from each column's
        # natural width and take the room from the widest column that is above its floor.
        widths = [self._measure_column(console, options, c).maximum for c in self.columns]
        floors = [(c.min_width or 0) + self._get_padding_width(c._index) for c in self.columns]
        for _ in range(sum(widths) - options.max_width):
            shrinkable = [i for i, (w, f) in enumerate(zip(widths, floors, strict=True)) if w > f]
            if not shrinkable:
                break  # the numbers alone are wider than the console: print them whole
            widths[max(shrinkable, key=widths.__getitem__)] -= 1
        return widths


def table(*columns: str, title: str | None = None) -> RecordTable:
    out = RecordTable(title=title, show_lines=False, header_style="bold")
    for column in columns:
        out.add_column(column, overflow="fold")
    return out


def pairs(mapping: dict[str, Any], fmt: str = "{}") -> str:
    return ", ".join(f"{k}={fmt.format(v)}" for k, v in mapping.items())


def next_page(token: str | None) -> None:
    if token:
        console.print(f"more: --page-token {token}", style="dim")
