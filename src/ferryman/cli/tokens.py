"""``ferryman tokens``: create, list, revoke and delete the server's API tokens."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ferryman.cli.context import FerrymanGroup, err_console, registry
from ferryman.cli.output import console, print_json, table, when

if TYPE_CHECKING:
    from ferryman.access import TokenBook, TokenInfo

app = typer.Typer(
    cls=FerrymanGroup,
    help="API tokens: who may read, predict, operate or administer the server.",
    no_args_is_help=True,
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def _book(ctx: typer.Context, *, create: bool = False) -> TokenBook:
    from ferryman.access import TokenBook

    return TokenBook(registry(ctx, create=create))


def _when(value: datetime | None, empty: str = "-") -> str:
    return empty if value is None else when(value)


def _describe(info: TokenInfo) -> str:
    models = ", ".join(info.scopes) if info.scopes else "all models"
    expires = "never expires" if info.expires is None else f"expires {_when(info.expires)} UTC"
    return f"{info.name} ({info.role}, {models}, {expires})"


def _changed(info: TokenInfo, done: str, json_output: bool) -> None:
    if json_output:
        print_json(info.to_dict())
    else:
        console.print(f"{done} API token {_describe(info)}")


@app.command("create")
def create(
    ctx: typer.Context,
    name: str,
    role: Annotated[
        str,
        typer.Option(
            "--role", help="viewer, predictor, operator or admin (each includes the ones before)."
        ),
    ],
    models: Annotated[
        list[str] | None,
        typer.Option(
            "--models",
            help="Only models whose names match PATTERN, e.g. 'churn*' (repeatable; "
            "default: every model).",
            metavar="PATTERN",
        ),
    ] = None,
    expires: Annotated[
        str | None,
        typer.Option(help="Lifetime (90d, 12h, 30m) or date (2027-06-30); default: never."),
    ] = None,
    json_output: JsonOpt = False,
) -> None:
    """Create token NAME and print its secret: the only time it is shown.

    The secret goes to stdout alone (TOKEN=$(ferryman tokens create ...)); what to do with it
    goes to stderr.
    """
    book = _book(ctx, create=True)
    info, secret = book.create(name, role, models=models or (), expires=expires)
    unmatched = book.unmatched_scopes(info.scopes)
    if json_output:
        print_json({**info.to_dict(), "token": secret, "unmatched_models": unmatched})
        return
    for pattern in unmatched:
        err_console.print(
            f"warning: no model matches {pattern!r} yet; the token will reach models of that "
            "name once they are registered",
            markup=False,
        )
    err_console.print(f"created API token {_describe(info)}", markup=False)
    typer.echo(secret)
    err_console.print(
        "This is the only time the token is shown: keep it in a secret store. Send it with "
        "each request as the header\n  Authorization: Bearer <token>",
        markup=False,
    )


@app.command("list")
def list_tokens(ctx: typer.Context, json_output: JsonOpt = False) -> None:
    """Every token with its role, models, state and times; never a secret."""
    tokens = _book(ctx).list()
    if json_output:
        print_json({"tokens": [token.to_dict() for token in tokens]})
        return
    out = table("name", "role", "models", "token", "state", "created", "expires", "last used")
    for t in tokens:
        out.add_row(
            t.name,
            str(t.role),
            ", ".join(t.scopes) or "*",
            f"{t.prefix}…",
            t.state(),
            _when(t.created),
            _when(t.expires, "never"),
            _when(t.last_used, "never"),
        )
    console.print(out)


@app.command("revoke")
def revoke(ctx: typer.Context, name: str, json_output: JsonOpt = False) -> None:
    """Revoke token NAME: servers refuse it from their next token refresh (a second or so).

    Its record stays, so that uses of it are refused as revoked and the server keeps asking
    for tokens; `ferryman tokens delete` removes it.
    """
    _changed(_book(ctx).revoke(name), "revoked", json_output)


@app.command("delete")
def delete(ctx: typer.Context, name: str, json_output: JsonOpt = False) -> None:
    """Delete token NAME's record (its events stay); revoke it first to keep a trace of it.

    A server on 127.0.0.1 with no token on record needs none; one on another address keeps
    asking for tokens.
    """
    _changed(_book(ctx).delete(name), "deleted", json_output)


@app.command("events")
def events(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="Only this token's events.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many, newest first.")] = 100,
    json_output: JsonOpt = False,
) -> None:
    """What happened to tokens, newest first: created, revoked, deleted, refused uses."""
    found = _book(ctx).events(name, limit=limit)
    if json_output:
        print_json({"events": found})
        return
    out = table("when", "token", "event", "by", "detail")
    for e in found:
        out.add_row(when(e.at), e.token, e.kind, e.actor, _detail(e.detail))
    console.print(out)


def _detail(detail: dict[str, Any]) -> str:
    return json.dumps(detail, default=str, separators=(", ", ": ")) if detail else ""
