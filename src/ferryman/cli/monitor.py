"""``ferryman monitor ...`` and ``ferryman feedback``: monitoring on demand from the shell."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.text import Text

from ferryman.cli.context import err_console, registry
from ferryman.cli.output import console, heading, number, print_json, table
from ferryman.core.durations import parse_duration
from ferryman.core.refs import ModelRef
from ferryman.core.sources import SOURCE_CHOICES, parse_sources
from ferryman.errors import ConfigError

if TYPE_CHECKING:
    from ferryman.monitoring.alerts import AlertNotifier
    from ferryman.monitoring.monitor import Monitor, Window
    from ferryman.monitoring.webhooks import WebhookNotifier

app = typer.Typer(
    help="Drift, data quality, live KPIs, root cause and reports from the prediction log.",
    no_args_is_help=True,
)

RefArg = Annotated[str, typer.Argument(help="name (its production version), name@alias, name/3")]
WindowOpt = Annotated[
    str, typer.Option("--window", "-w", help="How far back to look: 30m, 24h, 7d ...")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
SourceOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--source",
        "-s",
        metavar="SOURCE",
        help=f"Prediction-log sources to look at: {', '.join(SOURCE_CHOICES)} (repeat or "
        "separate with commas; default: the monitoring.sources setting, live).",
        show_default=False,
    ),
]
# `monitor run` waits this long for its webhook deliveries (retries included) before exiting
WEBHOOK_WAIT_SECONDS = 20.0
WEBHOOK_DELIVERY = {"attempts": 3, "base_delay": 0.5, "max_delay": 2.0, "timeout": 5.0}


@contextmanager
def _monitor(
    ctx: typer.Context, sources: list[str] | None = None, notifier: AlertNotifier | None = None
) -> Iterator[Monitor]:
    # the statistics stack (SciPy, DuckDB) loads only for monitoring commands, so every other
    # command starts as fast as before
    from ferryman.monitoring.monitor import Monitor
    from ferryman.monitoring.storage import open_monitor_store

    chosen = _sources(sources)  # a usage mistake is reported before the store is opened
    reg = registry(ctx)
    monitor = Monitor(reg, notifier, sources=chosen, store=open_monitor_store(reg))
    try:
        yield monitor
    finally:
        monitor.close()


def _sources(values: list[str] | None) -> frozenset[str] | None:
    """The source groups ``--source`` selects; None leaves the setting in charge."""
    if not values:
        return None
    try:
        return parse_sources(values)
    except ConfigError as exc:
        raise typer.BadParameter(str(exc), param_hint="--source") from None


def _webhooks(ctx: typer.Context) -> WebhookNotifier:
    """The configured webhooks (global and per model), checked as ``serve`` checks them."""
    from ferryman.monitoring.storage import open_monitor_store
    from ferryman.monitoring.webhooks import WebhookNotifier

    reg = registry(ctx)
    store = open_monitor_store(reg)
    return WebhookNotifier.from_settings(reg.settings.monitoring, store, **WEBHOOK_DELIVERY)


def _window(text: str) -> Window:
    from ferryman.monitoring.monitor import Window

    try:
        return Window.last(text)
    except ConfigError as exc:
        raise typer.BadParameter(str(exc), param_hint="--window") from None


@app.command("drift")
def drift(
    ctx: typer.Context,
    ref: RefArg,
    window: WindowOpt = "24h",
    source: SourceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Drift of each feature and of the predictions in the window, against training data."""
    span = _window(window)
    with _monitor(ctx, source) as monitor:
        result = monitor.drift(ref, span).to_dict()
    if as_json:
        print_json(result)
        return
    _print_drift(result)


@app.command("quality")
def quality(
    ctx: typer.Context,
    ref: RefArg,
    window: WindowOpt = "24h",
    source: SourceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Nulls, out-of-range values, unseen categories and refused requests per feature."""
    span = _window(window)
    with _monitor(ctx, source) as monitor:
        result = monitor.quality(ref, span).to_dict()
    if as_json:
        print_json(result)
        return
    heading(f"quality of {ref}", f"last {window}: {result['rows']} rows")
    out = table("feature", "nulls", "training nulls", "out of range", "unseen", "refused", "issues")
    for f in result["features"]:
        out.add_row(
            f["feature"],
            _pct(f["null_rate"]),
            _pct(f["reference_null_rate"]),
            _pct(f["out_of_range_rate"]),
            _pct(f["unseen_rate"]),
            str(f["rejected"]),
            "; ".join(f["issues"]) or "ok",
        )
    console.print(out)
    console.print(
        f"refused requests: {result['rejected_requests']}"
        + (f" ({_pairs(result['rejected_by_kind'])})" if result["rejected_by_kind"] else "")
    )


@app.command("performance")
def performance(
    ctx: typer.Context,
    ref: RefArg,
    window: WindowOpt = "24h",
    bucket: Annotated[
        str | None, typer.Option(help="Also per time bucket, e.g. 1h: a time series.")
    ] = None,
    source: SourceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Live KPIs per version from predictions joined with ground-truth feedback."""
    span = _window(window)
    seconds = None
    if bucket is not None:
        try:
            seconds = parse_duration(bucket, "bucket")
        except ConfigError as exc:
            raise typer.BadParameter(str(exc), param_hint="--bucket") from None
    with _monitor(ctx, source) as monitor:
        result = monitor.performance(ref, span, seconds)
    if as_json:
        print_json(result.to_dict())
        return
    report = result.report
    heading(f"performance of {ref}", f"last {window} ({report.task if report else '-'})")
    if not result.versions:
        reason = report.reason if report is not None else result.reason
        console.print(f"no KPIs: {reason or 'no labelled predictions'}")
        return
    # one row per KPI: as many KPIs as a task has stay readable on a 100-column terminal
    out = table(
        "version", "bucket (UTC)", "logged", "labelled", "KPI", "live", "95% CI",
        "vs baseline",
    )  # fmt: skip
    for r in result.versions:
        live = r.live
        bucket = live.bucket_start.isoformat() if live.bucket_start is not None else None
        for i, name in enumerate(sorted(r.metrics)):
            change = r.change.get(name)
            first = i == 0
            out.add_row(
                str(live.version) if first else "",
                _bucket(bucket) if first else "",
                f"{live.predictions:,}" if first else "",
                f"{live.labelled:,}" if first else "",
                name,
                number(r.metrics[name]),
                interval_text(live.intervals.get(name)),
                "-" if change is None else f"{change:+.3f}",
            )
    console.print(out)


def interval_text(interval: Sequence[float] | None) -> str:
    """A KPI's 95% interval in three significant digits, e.g. ``0.812..0.871``."""
    if not interval:
        return "-"
    return f"{interval[0]:.3g}..{interval[1]:.3g}"


@app.command("explain")
def explain(
    ctx: typer.Context,
    ref: RefArg,
    window: WindowOpt = "24h",
    source: SourceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Rank the features most responsible for drift or a KPI drop, with the evidence."""
    span = _window(window)
    with _monitor(ctx, source) as monitor:
        cause, drift_result = monitor.explain(ref, span)
    result = cause.to_dict()
    if as_json:
        print_json({**result, "drift_share": drift_result.share})
        return
    heading(f"root cause for {ref}", f"last {window}: {result['summary']}")
    if not result["suspects"]:
        return
    out = table("#", "feature", "score", "drift size", "importance", "drifted", "evidence")
    for s in result["suspects"][:20]:
        out.add_row(
            str(s["rank"]),
            s["feature"],
            number(s["score"]),
            number(s["drift_size"]),
            number(s["importance"]),
            "yes" if s["drifted"] else "no",
            s["evidence"],
        )
    console.print(out)


@app.command("run")
def run(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Model name.")],
    window: WindowOpt = "1h",
    alias: Annotated[str, typer.Option(help="The alias whose version is watched.")] = "production",
    as_json: JsonOpt = False,
) -> None:
    """One full pass, as the server's schedule runs it: results stored, alert rules checked,
    alerts that open or resolve sent to the configured webhooks.

    It looks at the sources of the monitoring.sources setting, as the schedule does: the
    alerts it opens and resolves are the live ones, so it takes no --source.
    """
    span = _window(window)
    notifier = _webhooks(ctx)
    try:
        with _monitor(ctx, None, notifier) as monitor:
            outcome = monitor.run(ModelRef.parse(name).name, span, alias=alias)
    finally:
        # deliveries run on a background thread: wait for them (bounded) before exiting
        notifier.close(WEBHOOK_WAIT_SECONDS)
    for failure in notifier.failures:
        err_console.print(f"warning: {failure}", markup=False)
    fired = [e.rule for e in outcome.alerts.fired] if outcome.alerts else []
    resolved = [e.rule for e in outcome.alerts.resolved] if outcome.alerts else []
    firing = [e.rule for e in outcome.alerts.still_firing] if outcome.alerts else []
    drift_share = outcome.drift.share if outcome.drift is not None else None
    if as_json:
        print_json(
            {
                "model": outcome.model,
                "version": outcome.version,
                "window": span.to_dict(),
                "drift_share": drift_share,
                "drifted": outcome.drift.drifted if outcome.drift is not None else [],
                "alerts_fired": fired,
                "alerts_still_firing": firing,
                "alerts_resolved": resolved,
                "webhooks": {"delivered": notifier.delivered, "failed": list(notifier.failures)},
                "errors": outcome.errors,
            }
        )
        return
    heading(f"monitored {outcome.model}/{outcome.version}", f"last {window}")
    console.print(f"drift share: {number(drift_share)}")
    console.print(
        f"alerts fired: {', '.join(fired) or 'none'}; resolved: {', '.join(resolved) or 'none'}"
    )
    if notifier.delivered or notifier.failures:
        console.print(
            f"webhook deliveries: {notifier.delivered} delivered, {len(notifier.failures)} failed"
        )
    for error in outcome.errors:
        err_console.print(f"warning: {error}", markup=False)


@app.command("alerts")
def alerts(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="Model name (default: every model).")] = None,
    firing: Annotated[bool, typer.Option(help="Only alerts firing now.")] = False,
    limit: Annotated[int, typer.Option(min=1, help="Most events shown.")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """Alert events, newest first."""
    from ferryman.monitoring.alerts import AlertBook
    from ferryman.monitoring.storage import open_monitor_store

    book = AlertBook(open_monitor_store(registry(ctx)))
    events = book.firing(name) if firing else book.events(name, limit=limit)
    if as_json:
        print_json(events)
        return
    out = table("id", "model", "rule", "severity", "state", "since", "message")
    for e in events:
        out.add_row(
            str(e.id), e.model, e.rule, e.severity, e.state, e.first_seen.isoformat(), e.message
        )
    console.print(out)


@app.command("report")
def report(
    ctx: typer.Context,
    ref: RefArg,
    output: Annotated[Path, typer.Option("--output", "-o", help="HTML file to write.")],
    window: WindowOpt = "24h",
    source: SourceOpt = None,
) -> None:
    """One self-contained HTML report: KPIs over time, drift, quality, alerts, root cause."""
    # matplotlib takes a while to import: only this command pays for it
    from ferryman.monitoring.report import ReportData, render_report

    span = _window(window)
    if not output.parent.is_dir():
        raise typer.BadParameter(f"folder {output.parent} does not exist", param_hint="--output")
    with _monitor(ctx, source) as monitor:
        version = monitor.version(ref)
        cause, drift_result = monitor.explain(ref, span)
        bucket = max(parse_duration(window, "window") / 24, 60.0)
        perf = monitor.performance(ref, span, bucket)
        overall = monitor.performance(ref, span)
        quality_result = monitor.quality(ref, span)
        series = monitor.results.series(
            version.model, "drift", since=span.start, version=version.version
        )
        events = monitor.alerts.events(version.model, since=span.start)
    data = ReportData(
        model=version.model,
        version=version.version,
        window=window,
        performance_series=[
            {"at": row["bucket_start"], "metrics": row["metrics"]}
            for row in (r.to_dict() for r in perf.versions)
            if row["bucket_start"] and row["version"] == version.version
        ],
        performance=overall.to_dict(),
        drift=drift_result.to_dict(),
        drift_series=[
            {"at": p.get("window_end"), "share": (p.get("summary") or {}).get("share")}
            for p in series
        ],
        quality=quality_result.to_dict(),
        alerts=[_event_dict(e) for e in events],
        root_cause=cause.to_dict(),
    )
    try:
        output.write_text(render_report(data), encoding="utf-8")
    except OSError as exc:
        raise typer.BadParameter(f"cannot write {output}: {exc}", param_hint="--output") from None
    err_console.print(f"wrote {output}")


def feedback(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Model name.")],
    file: Annotated[
        Path, typer.Argument(help="CSV or Parquet: request_id, label and/or value, optional row.")
    ],
    as_json: JsonOpt = False,
) -> None:
    """Upload ground truth (labels or business values) for logged predictions."""
    with _monitor(ctx) as monitor:
        monitor.registry.get_model(name)  # an unknown model is an error, not an empty upload
        result = monitor.add_feedback_file(name, file)
    data = result.to_dict()
    if as_json:
        print_json(data)
    else:
        console.print(Text(_feedback_line(data)))
        for item in data.get("rejected", [])[:20]:
            err_console.print(
                f"record {item['index']} ({item.get('request_id')}): {item['reason']}",
                markup=False,
            )
    if not data.get("accepted"):
        raise typer.Exit(1)


def _feedback_line(data: dict[str, Any]) -> str:
    return (
        f"accepted {data.get('accepted', 0)}, rejected {len(data.get('rejected', []))}, "
        f"unknown request ids {data.get('unknown_ids', 0)}, duplicates {data.get('duplicates', 0)}"
    )


def _event_dict(event: Any) -> dict[str, Any]:
    return {
        "rule": event.rule,
        "severity": event.severity,
        "state": event.state,
        "first_seen": event.first_seen.isoformat(),
        "message": event.message,
    }


def _print_drift(result: dict[str, Any]) -> None:
    """The table of a drift result in its JSON-safe form (``WindowDrift.to_dict()``), which
    it reads on purpose: there an unknown figure is None, printed as '-', not 'nan'."""
    heading(
        f"drift of {result['model']}/{result['version']}",
        f"{result['live_rows']} rows from {_shown_sources(result)}; "
        f"share drifted {number(result.get('share'))}",
    )
    if result.get("reason"):
        console.print(f"not computed: {result['reason']}")
        return
    # the p-value the decision used: after the multiple-testing correction, named
    correction = (result.get("thresholds") or {}).get("correction") or "none"
    p_label = "p" if correction == "none" else f"p ({correction})"
    out = table("feature", "kind", "PSI", "KS D", p_label, "effect", "drifted")
    for f in result["features"]:
        out.add_row(
            f["feature"],
            f["kind"],
            number(f.get("psi")),
            number(f.get("ks_statistic")),
            number(f.get("p_adjusted"), "{:.3g}"),
            f"{f.get('effect')} {number(f.get('effect_value'))}",
            "yes" if f["drifted"] else "no",
        )
    console.print(out)
    for feature, reason in (result.get("skipped") or {}).items():
        console.print(f"skipped {feature}: {reason}")
    prediction = result.get("prediction") or {}
    for warning in result.get("warnings") or []:
        err_console.print(f"warning: {warning}", markup=False)
    for warning in prediction.get("warnings") or []:
        err_console.print(f"warning: prediction drift: {warning}", markup=False)
    if prediction.get("reason"):
        console.print(f"prediction drift not computed: {prediction['reason']}")
    for f in prediction.get("features") or []:
        console.print(
            f"prediction drift ({f['feature']}): PSI {number(f.get('psi'))}, "
            f"drifted {'yes' if f['drifted'] else 'no'}"
        )


def _shown_sources(result: dict[str, Any]) -> str:
    shown = result.get("sources") or ["all"]
    return "every source" if shown == ["all"] else f"{' and '.join(shown)} sources"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _pairs(mapping: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in mapping.items())


def _bucket(start: str | None) -> str:
    """``2026-12-07T18:00:00+00:00`` as ``2026-12-07 18:00`` (the table says UTC); ``all``."""
    if not start:
        return "all"
    return start.replace("T", " ")[:16]
