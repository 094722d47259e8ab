"""``ferryman history``: the audit log of a model."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from ferryman.cli.context import registry
from ferryman.cli.output import console, next_page, print_json, table, when
from ferryman.core.records import AuditEvent


def history(
    ctx: typer.Context,
    name: str,
    kind: Annotated[
        list[str] | None, typer.Option("--kind", help="Only events of this kind, e.g. alias.set.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Events per page.")] = 100,
    page_token: Annotated[str | None, typer.Option(help="Token printed by the last page.")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Every change to a model, newest first: who, when, before and after."""
    page = registry(ctx).history(name, kinds=kind or [], limit=limit, page_token=page_token)
    if json_output:
        print_json({"events": page.items, "next_page_token": page.next_page_token})
        return
    out = table("when", "event", "version", "alias", "by", "change")
    for e in page:
        out.add_row(when(e.at), e.kind, str(e.version or ""), e.alias or "", e.actor, summary(e))
    console.print(out)
    next_page(page.next_page_token)


def summary(event: AuditEvent) -> str:
    """One readable line of what an event changed."""
    before, after = event.before or {}, event.after or {}
    if event.kind.startswith("alias."):
        return f"{before.get('version') or '-'} -> {after.get('version') or '-'}"
    if event.kind == "version.created":
        metrics = ", ".join(f"{k}={v:.4g}" for k, v in (after.get("metrics") or {}).items())
        sha = str(after.get("artifact_sha256", ""))[:12]
        return f"{after.get('flavor')} sha256:{sha}" + (f" {metrics}" if metrics else "")
    if event.kind == "version.trusted":
        return "trusted " + ", ".join(after.get("trusted_types") or [])
    if event.kind == "version.deleted":
        return "deleted"
    if event.kind == "model.created":
        return str(after.get("description") or "")
    if event.kind == "model.deleted":
        return f"deleted with versions {before.get('versions')}"
    changed = {k: after.get(k) for k in after if after.get(k) != before.get(k)}
    return json.dumps(changed, default=str) if changed else ""
