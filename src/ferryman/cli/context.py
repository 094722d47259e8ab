"""What every command shares: settings from the global flags, the registry, error handling.

Start-up speed: the ``ferryman`` command imports this module for everything, ``--help`` too, so
the registry and settings (SQLAlchemy, pydantic-settings) are imported only when a command
first asks for the registry; the cli modules import their heavy parts inside command bodies.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from typer.core import TyperGroup, TyperOption

from ferryman.errors import FerrymanError, StoreError

if TYPE_CHECKING:
    from ferryman.registry import Registry

err_console = Console(stderr=True, highlight=False, emoji=False, soft_wrap=True)


@dataclass
class CliState:
    """Global flags, and the registry built from them on first use."""

    overrides: dict[str, Any] = field(default_factory=dict)
    debug: bool = False
    notices: list[str] = field(default_factory=list)  # said on stderr when the command ends well
    _registry: Registry | None = None
    _created: tuple[Path, bool] | None = None  # the store file this command made; its folder too?

    @property
    def registry(self) -> Registry:
        """The registry of an existing store (a missing one is an error: a mistyped --home)."""
        return self.open_registry(create=False)

    def open_registry(self, *, create: bool, has_trust_option: bool = False) -> Registry:
        """The registry; ``create`` makes a new store where none is, and says so.
        ``has_trust_option``: the command takes ``--trust``, so refusals may advise it."""
        if self._registry is None:
            from ferryman.config import Settings
            from ferryman.flavors.trust import command_advice
            from ferryman.registry import Registry

            settings = Settings.load(**self.overrides)
            file = settings.database_file
            if file is not None and file.parent.exists() and not file.parent.is_dir():
                raise StoreError(
                    f"the store folder {file.parent} is a file; point --home at a folder"
                )
            missing = file is not None and not file.exists()
            folder_existed = file is not None and file.parent.exists()
            if missing and not create:
                raise StoreError(
                    f"no ferryman store at {settings.home_path} ({settings.database_file} does "
                    "not exist); point --home or FERRYMAN_HOME at your store, or create one "
                    "with `ferryman register`"
                )
            self._registry = Registry(settings, trust_advice=command_advice(has_trust_option))
            if missing and file is not None:
                self.notices.append(f"created a new store at {settings.home_path}")
                self._created = (file, not folder_existed)
        return self._registry

    def discard_new_store(self) -> None:
        """Take back the store this command made, when the command failed before adding to it:
        a ``register`` that fails on a mistyped --home must not leave an empty store there."""
        created, registry = self._created, self._registry
        self._created = None
        if created is None or registry is None or registry.list_models(limit=1).items:
            return
        registry.close()
        self._registry = None
        file, made_folder = created
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{file}{suffix}").unlink(missing_ok=True)
        if made_folder:
            shutil.rmtree(file.parent, ignore_errors=True)


def state(ctx: typer.Context) -> CliState:
    root = ctx.find_root()
    if not isinstance(root.obj, CliState):
        root.obj = CliState()
    return root.obj


def registry(ctx: typer.Context, *, create: bool = False) -> Registry:
    """The store's registry; only commands that add to a store pass ``create``."""
    has_trust = any(getattr(p, "name", None) == "trust" for p in ctx.command.params)
    return state(ctx).open_registry(create=create, has_trust_option=has_trust)


class FerrymanGroup(TyperGroup):
    """Turns a FerrymanError anywhere below into one line on stderr and exit code 1.

    Its help, and that of every command below it, shows no ``<bool>`` beside a flag.
    """

    def get_params(self, ctx: Any) -> list[Any]:
        # every parse and every help page of the tree starts with the root's parameters
        hide_flag_types(self, ctx)
        return super().get_params(ctx)

    def invoke(self, ctx: Any) -> Any:
        try:
            result = super().invoke(ctx)
            if isinstance(ctx.obj, CliState):
                while ctx.obj.notices:  # groups nest: each notice is said once
                    err_console.print(ctx.obj.notices.pop(0), markup=False)
            return result
        except FerrymanError as exc:
            if isinstance(ctx.obj, CliState):
                ctx.obj.discard_new_store()
                if ctx.obj.debug:
                    raise
            err_console.print(f"error: {exc}", markup=False)
            raise typer.Exit(1) from None
        except BrokenPipeError:
            # The reader went away (``| head``): stop quietly, as Unix tools do.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            raise typer.Exit(0) from None
        except OSError as exc:
            if isinstance(ctx.obj, CliState):
                ctx.obj.discard_new_store()
                if ctx.obj.debug:
                    raise
            err_console.print(f"error: {exc}", markup=False)
            raise typer.Exit(1) from None


def hide_flag_types(command: Any, ctx: Any) -> None:
    """Show no value type beside flags (``--json``, ``--help``) in ``command``'s help and below.

    Typer labels every option with its type, flags too (``--json <bool>``), although a flag
    takes no value; an empty metavar leaves the type column blank for them.
    """
    help_option = command.get_help_option(ctx)
    for param in [*command.params, *([help_option] if help_option is not None else [])]:
        if isinstance(param, TyperOption) and param.is_flag and param.metavar is None:
            param.metavar = ""
    for sub in getattr(command, "commands", {}).values():
        hide_flag_types(sub, ctx)


def parse_pairs(pairs: list[str] | None, what: str) -> dict[str, str]:
    """``["a=1", "b=2"]`` into ``{"a": "1", "b": "2"}``; a malformed pair is a usage error."""
    out: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"{what} {pair!r} must be KEY=VALUE")
        out[key.strip()] = value
    return out


def parse_numbers(pairs: list[str] | None) -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in parse_pairs(pairs, "metric").items():
        try:
            out[key] = float(value)
        except ValueError:
            raise typer.BadParameter(f"metric {key!r} must be a number, got {value!r}") from None
    return out


def parse_tolerance(given: list[str] | None) -> dict[str, dict[str, str]]:
    """``["city:unknown_categories=refuse"]`` into ``{"city": {"unknown_categories":
    "refuse"}}`` (the column is what comes before the last ``:``)."""
    out: dict[str, dict[str, str]] = {}
    for text in given or []:
        left, sep, policy = text.rpartition("=")
        column, colon, case = left.rpartition(":")
        if not sep or not colon or not column or not case:
            raise typer.BadParameter(
                f"--tolerate {text!r} must be COLUMN:CASE=POLICY, e.g. "
                "city:unknown_categories=accept or '*:unseen_nulls=refuse'"
            )
        cases = out.setdefault(column, {})
        earlier = cases.get(case.strip())
        if earlier is not None and earlier != policy.strip():
            raise typer.BadParameter(
                f"--tolerate gives {column}:{case.strip()} both {earlier!r} and "
                f"{policy.strip()!r}; give it once"
            )
        cases[case.strip()] = policy.strip()
    return out


TolerateOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--tolerate",
        help="COLUMN:CASE=POLICY, overriding what trying the model found: CASE is "
        "unknown_categories or unseen_nulls, POLICY accept or refuse, COLUMN a column or '*' "
        "for all (repeatable).",
    ),
]


NaValuesOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--na-values",
        help="Strings that mean a missing value in a CSV besides the empty field, e.g. NA,n/a.",
    ),
]
"""``--na-values``, as ``predict`` and ``score`` take it (see parse_na_values)."""


def parse_na_values(values: list[str] | None) -> list[str]:
    """``--na-values NA,n/a`` (the option may also be repeated) as ``["NA", "n/a"]``."""
    found = [text for value in values or [] for text in value.split(",")]
    return list(dict.fromkeys(found))


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """``1 row``, ``2 rows``, ``12,000 rows``: a count with its noun agreeing."""
    return f"{count:,} {noun if count == 1 else (nouns or noun + 's')}"
