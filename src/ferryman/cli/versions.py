"""``ferryman versions``: list, show, tag and delete versions."""

from __future__ import annotations

from typing import Annotated

import typer

from ferryman.cli.context import (
    FerrymanGroup,
    TolerateOpt,
    parse_pairs,
    parse_tolerance,
    registry,
)
from ferryman.cli.output import (
    console,
    heading,
    next_page,
    number,
    pairs,
    print_json,
    table,
    when,
)
from ferryman.core.records import ModelVersion
from ferryman.core.signature import ColumnSpec

app = typer.Typer(cls=FerrymanGroup, help="Versions of a model.", no_args_is_help=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


@app.command("list")
def list_versions(
    ctx: typer.Context,
    name: str,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="KEY=VALUE (repeatable).")] = None,
    metric: Annotated[
        list[str] | None, typer.Option("--metric", help="Filter such as 'accuracy>=0.9'.")
    ] = None,
    flavor: Annotated[str | None, typer.Option(help="Only this flavor.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Versions per page.")] = 50,
    page_token: Annotated[str | None, typer.Option(help="Token printed by the last page.")] = None,
    json_output: JsonFlag = False,
) -> None:
    """List a model's versions, newest first."""
    page = registry(ctx).list_versions(
        name,
        tags=parse_pairs(tag, "tag"),
        metrics=metric or [],
        flavor=flavor,
        limit=limit,
        page_token=page_token,
    )
    if json_output:
        print_json({"versions": page.items, "next_page_token": page.next_page_token})
        return
    out = table("version", "flavor", "aliases", "metrics", "tags", "created", "by")
    for v in page:
        out.add_row(
            str(v.version),
            v.flavor,
            ", ".join(v.aliases),
            pairs(v.metrics, "{:.4g}"),
            pairs(v.tags),
            when(v.created_at),
            v.created_by,
        )
    console.print(out)
    next_page(page.next_page_token)


@app.command("show")
def show_version(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="name, name@alias or name/3")],
    profile: Annotated[bool, typer.Option(help="Also show the training-data profile.")] = False,
    json_output: JsonFlag = False,
) -> None:
    """Show one version: artifact, signature, metrics, environment, lineage."""
    reg = registry(ctx)
    version = reg.resolve(ref)
    data_profile = reg.profile(version.ref) if profile else None
    if json_output:
        print_json({"version": version, "profile": data_profile} if profile else version)
        return
    _print_version(version)
    if data_profile is not None:
        out = table("column", "kind", "nulls", "summary", title="training-data profile")
        for col in data_profile.columns.values():
            if col.numeric is not None:
                num = col.numeric
                median = num.quantiles.get("0.5")
                summary = f"min {number(num.minimum)}  median {number(median)}  max "
                summary += number(num.maximum)
            elif col.categorical is not None:
                top = list(col.categorical.frequencies.items())[:4]
                summary = pairs(dict(top))
            else:
                summary = ""
            out.add_row(col.name, col.kind, str(col.nulls), summary)
        console.print(out)


def _print_version(v: ModelVersion) -> None:
    heading(v.ref, v.description)
    console.print(f"flavor:      {v.flavor}")
    console.print(f"artifact:    sha256:{v.artifact_sha256} ({v.artifact_size} bytes)")
    console.print(f"aliases:     {', '.join(v.aliases) or '-'}")
    console.print(
        f"output:      {v.output.kind}" + (f" {list(v.output.classes)}" if v.output.classes else "")
    )
    console.print(f"metrics:     {pairs(v.metrics, '{:.6g}') or '-'}")
    console.print(f"params:      {pairs(v.params) or '-'}")
    console.print(f"tags:        {pairs(v.tags) or '-'}")
    console.print(f"data:        {v.data_fingerprint or '-'}")
    console.print(f"git commit:  {v.git_commit or '-'}")
    env = v.environment
    packages = pairs(env.get("packages") or {})
    console.print(f"environment: python {env.get('python', '?')}; {packages}")
    console.print(f"created:     {when(v.created_at)} by {v.created_by}")
    trusted = ", ".join(v.trusted_types)
    console.print(f"trusted:     {trusted} (by {v.trusted_by})" if trusted else "trusted:     -")
    if v.signature is not None:
        out = table(
            "column", "kind", "nullable", "range / categories", "tolerates", title="signature"
        )
        for c in v.signature.columns:
            if c.categories is not None:
                shown = ", ".join(map(str, c.categories[:6])) + (
                    " ..." if len(c.categories) > 6 else ""
                )
            elif c.minimum is not None:
                shown = f"{number(c.minimum)} .. {number(c.maximum)}"
            else:
                shown = ""
            out.add_row(c.name, c.kind, "yes" if c.nullable else "no", shown, _tolerates(c))
        console.print(out)
        if not v.signature.is_probed:
            console.print(
                f"tolerance not probed: unknown categories and unseen nulls are refused "
                f"(ferryman versions probe {v.ref})"
            )
        if v.signature.series_input:
            console.print("the model takes its one column alone (1-D), as it was fitted")


def _tolerates(column: ColumnSpec) -> str:
    """What a column lets through beyond training: "unknown, nulls", "-" (nothing)."""
    words = {"unknown_categories": "unknown", "unseen_nulls": "nulls"}
    taken = [words[case] for case, policy in column.tolerance().items() if policy == "accept"]
    return ", ".join(taken) or "-"


@app.command("probe")
def probe_version(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="name, name@alias or name/3")],
    tolerate: TolerateOpt = None,
    trust: Annotated[
        list[str] | None, typer.Option("--trust", help="A type the skops file may load.")
    ] = None,
    json_output: JsonFlag = False,
) -> None:
    """Try a version on unknown categories and unseen nulls and record what it tolerates.

    For versions registered before ferryman tried models at registration: their columns
    refuse both until probed. Policies already recorded are kept; --tolerate sets them. The
    artifact and signature do not change; the audit log keeps the change.
    """
    version = registry(ctx).probe_version(ref, parse_tolerance(tolerate), trust or [])
    assert version.signature is not None
    if json_output:
        print_json({"ref": version.ref, "tolerance": version.signature.tolerance()})
        return
    out = table("column", "unknown_categories", "unseen_nulls", title=f"{version.ref} tolerates")
    for name, cases in version.signature.tolerance().items():
        out.add_row(name, cases.get("unknown_categories", ""), cases.get("unseen_nulls", ""))
    console.print(out)


@app.command("tag")
def tag_version(
    ctx: typer.Context,
    ref: str,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="KEY=VALUE to set.")] = None,
    remove: Annotated[list[str] | None, typer.Option("--remove", help="Key to remove.")] = None,
) -> None:
    """Set or remove a version's tags."""
    version = registry(ctx).set_version_tags(ref, parse_pairs(tag, "tag"), remove or [])
    console.print(f"{version.ref} tags: {pairs(version.tags) or '-'}")


@app.command("delete")
def delete_version(
    ctx: typer.Context,
    ref: str,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm deletion.")] = False,
) -> None:
    """Delete a version (its number is never reused; the audit log keeps it)."""
    if not yes:
        raise typer.BadParameter("deleting a version cannot be undone: add --yes to confirm")
    registry(ctx).delete_version(ref)
    console.print(f"deleted {ref}")
