"""The monitoring report: one self-contained HTML file a business reader can open anywhere.

Charts are drawn with matplotlib into inline SVG, so the file needs no network and no
scripts. Sections: the verdict in plain words, KPIs over time, drift per feature, data
quality, alerts, and the root-cause ranking.
"""

from __future__ import annotations

import html
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from matplotlib.figure import Figure

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;
max-width:980px;color:#1d2430;line-height:1.45;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{margin-top:2.2rem;border-bottom:1px solid #dde2ea;
padding-bottom:.3rem}.muted{color:#5b6577}.verdict{padding:1rem 1.2rem;border-radius:8px;
margin:1rem 0}.ok{background:#e8f6ee;border:1px solid #9fd8b5}.warn{background:#fff4e0;
border:1px solid #f0c36d}.bad{background:#fdeaea;border:1px solid #ee9b9b}
table{border-collapse:collapse;width:100%;font-size:.92rem}th,td{text-align:left;
padding:.35rem .5rem;border-bottom:1px solid #eceff4}th{background:#f5f7fa}
td.num{text-align:right;font-variant-numeric:tabular-nums}.tag{display:inline-block;
padding:0 .45rem;border-radius:4px;font-size:.8rem}.tag.yes{background:#fdeaea;color:#a11}
.tag.no{background:#e8f6ee;color:#176b3a}svg{max-width:100%;height:auto}
"""


@dataclass(frozen=True)
class ReportData:
    """Everything the report shows; each part may be missing (the section then says so)."""

    model: str
    version: int | None
    window: str
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    performance_series: Sequence[Mapping[str, Any]] = ()
    drift: Mapping[str, Any] | None = None
    drift_series: Sequence[Mapping[str, Any]] = ()
    quality: Mapping[str, Any] | None = None
    alerts: Sequence[Mapping[str, Any]] = ()
    root_cause: Mapping[str, Any] | None = None
    performance: Mapping[str, Any] | None = None


def render_report(data: ReportData) -> str:
    """The report as one HTML document (a string)."""
    title = f"Monitoring report: {data.model}" + (
        f" version {data.version}" if data.version is not None else ""
    )
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        f"<p class='muted'>Window: last {_e(data.window)} &middot; generated "
        f"{_e(data.generated_at.strftime('%Y-%m-%d %H:%M UTC'))} by ferryman</p>",
        _verdict(data),
        _kpi_section(data),
        _drift_section(data),
        _quality_section(data),
        _alert_section(data),
        _root_cause_section(data),
        "</body></html>",
    ]
    return "\n".join(parts)


# --- sections ------------------------------------------------------------------------------
def _verdict(data: ReportData) -> str:
    firing = [a for a in data.alerts if a.get("state") == "firing"]
    drifted = _drifted(data.drift)
    lines = []
    if firing:
        lines.append(
            f"{len(firing)} alert(s) firing: " + ", ".join(_e(a.get("rule")) for a in firing)
        )
    if drifted:
        lines.append(
            "The live data no longer looks like the training data for "
            + ", ".join(_e(f) for f in drifted[:5])
            + ("" if len(drifted) <= 5 else f" and {len(drifted) - 5} more")
            + "."
        )
    suspects = (data.root_cause or {}).get("suspects") or []
    if drifted and suspects:
        lines.append(f"Most likely cause: <b>{_e(suspects[0].get('feature'))}</b>.")
    if not lines:
        lines.append("No alert is firing and no feature has drifted in this window.")
    kind = "bad" if firing else "warn" if drifted else "ok"
    label = {"bad": "Attention needed", "warn": "Worth a look", "ok": "Healthy"}[kind]
    return f"<div class='verdict {kind}'><b>{label}.</b> " + " ".join(lines) + "</div>"


def _kpi_section(data: ReportData) -> str:
    out = ["<h2>Model performance over time</h2>"]
    series = list(data.performance_series)
    metrics = sorted(
        {k for point in series for k, v in (point.get("metrics") or {}).items() if _num(v)}
    )
    if not series or not metrics:
        out.append(
            "<p class='muted'>No ground truth has been joined to predictions yet: send labels "
            "with <code>POST /models/NAME/feedback</code> or <code>ferryman feedback</code>.</p>"
        )
    else:
        fig = Figure(figsize=(9, 3.2))
        ax = fig.add_subplot()
        for name in metrics[:6]:
            points = [
                (_time(p.get("at")), p["metrics"][name])
                for p in series
                if _num((p.get("metrics") or {}).get(name)) and _time(p.get("at"))
            ]
            if points:
                xs, ys = zip(*sorted(points), strict=True)
                ax.plot(xs, ys, marker="o", label=name)
        ax.set_ylabel("value")
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize=8)
        fig.autofmt_xdate()
        out.append(_svg(fig))
    latest = (data.performance or {}).get("versions") or []
    if latest:
        out.append(
            _table(
                ["version", "labelled rows", *_kpi_names(latest)],
                [
                    [
                        v.get("version"),
                        v.get("labelled"),
                        *[_kpi_cell(v, k) for k in _kpi_names(latest)],
                    ]
                    for v in latest
                ],
            )
        )
        out.append(
            "<p>In brackets: the 95% interval (Wilson for accuracy, precision and recall; a "
            "normal approximation for the others).</p>"
        )
    return "\n".join(out)


def _kpi_cell(version: Mapping[str, Any], name: str) -> Any:
    """A KPI with its 95% interval when it has one, e.g. ``0.86 [0.79, 0.91]``."""
    value = (version.get("metrics") or {}).get(name)
    interval = (version.get("intervals") or {}).get(name)
    if value is None or not _num(value) or not interval:
        return value
    return f"{_fmt(value)} [{_fmt(interval[0])}, {_fmt(interval[1])}]"


def _drift_section(data: ReportData) -> str:
    out = ["<h2>Drift: does live data still look like training data?</h2>"]
    drift = data.drift
    features = list((drift or {}).get("features") or [])
    if not features:
        reason = (drift or {}).get("reason") or "no live rows in this window"
        out.append(f"<p class='muted'>Not computed: {_e(reason)}.</p>")
        return "\n".join(out)
    share = drift.get("share") if drift else None
    out.append(
        f"<p>{_count(features, 'drifted')} of {len(features)} tested features drifted"
        + (f" (share {share:.0%})" if _num(share) else "")
        + ". A feature counts as drifted only when the change is both statistically "
        "significant and large enough to matter.</p>"
    )
    ranked = sorted(features, key=lambda f: -(f.get("psi") or 0.0))
    fig = Figure(figsize=(9, max(2.2, 0.28 * min(len(ranked), 30) + 0.8)))
    ax = fig.add_subplot()
    shown = list(reversed(ranked[:30]))
    ax.barh(
        [str(f.get("feature")) for f in shown],
        [f.get("psi") or 0.0 for f in shown],
        color=["#d9534f" if f.get("drifted") else "#7fa7d9" for f in shown],
    )
    ax.set_xlabel("Population Stability Index (red: drifted)")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    out.append(_svg(fig))
    if len(data.drift_series) > 1:
        fig = Figure(figsize=(9, 2.4))
        ax = fig.add_subplot()
        points = sorted(
            (_time(p.get("at")), p.get("share")) for p in data.drift_series if _num(p.get("share"))
        )
        if points:
            xs, ys = zip(*points, strict=True)
            ax.plot(xs, ys, marker="o", color="#d9534f")
            ax.set_ylabel("share drifted")
            ax.set_ylim(0, 1)
            ax.grid(alpha=0.3)
            fig.autofmt_xdate()
            out.append(_svg(fig))
    rows = [
        [
            f.get("feature"),
            f.get("kind"),
            f.get("psi"),
            f.get("p_adjusted"),
            _yes(bool(f.get("drifted"))),
            f.get("reason"),
        ]
        for f in ranked
    ]
    correction = ((drift or {}).get("thresholds") or {}).get("correction") or "none"
    p_label = "p" if correction == "none" else f"p ({correction})"  # the p the decision used
    out.append(_table(["feature", "kind", "PSI", p_label, "drifted", "why"], rows, raw=4))
    return "\n".join(out)


def _quality_section(data: ReportData) -> str:
    out = ["<h2>Data quality</h2>"]
    quality = data.quality
    if not quality:
        out.append("<p class='muted'>Not computed for this window.</p>")
        return "\n".join(out)
    out.append(
        f"<p>{quality.get('rows', 0)} rows checked; {quality.get('rejected_requests', 0)} "
        "request(s) refused by the input checks.</p>"
    )
    rows = [
        [
            f.get("feature"),
            _pct(f.get("null_rate")),
            _pct(f.get("reference_null_rate")),
            _pct(f.get("out_of_range_rate")),
            _pct(f.get("unseen_rate")),
            f.get("rejected"),
            "; ".join(f.get("issues") or []) or "ok",
        ]
        for f in quality.get("features") or []
    ]
    out.append(
        _table(
            [
                "feature",
                "nulls",
                "nulls in training",
                "out of range",
                "unseen",
                "refused",
                "issues",
            ],
            rows,
        )
    )
    return "\n".join(out)


def _alert_section(data: ReportData) -> str:
    out = ["<h2>Alerts</h2>"]
    if not data.alerts:
        out.append("<p class='muted'>No alert in this window.</p>")
        return "\n".join(out)
    rows = [
        [a.get("rule"), a.get("severity"), a.get("state"), a.get("first_seen"), a.get("message")]
        for a in data.alerts
    ]
    out.append(_table(["rule", "severity", "state", "since", "what"], rows))
    return "\n".join(out)


def _root_cause_section(data: ReportData) -> str:
    out = ["<h2>Root cause: which features to look at first</h2>"]
    cause = data.root_cause
    suspects = list((cause or {}).get("suspects") or [])
    if not suspects:
        out.append("<p class='muted'>Not computed for this window.</p>")
        return "\n".join(out)
    out.append(
        f"<p>{_e(cause.get('summary') if cause else '')}. Ranking: drift size times how much "
        f"the model relies on the feature ({_e(cause.get('importance_method') if cause else '')}"
        " importance).</p>"
    )
    rows = [
        [
            s.get("rank"),
            s.get("feature"),
            s.get("score"),
            s.get("drift_size"),
            s.get("importance"),
            _yes(bool(s.get("drifted"))),
            s.get("evidence"),
        ]
        for s in suspects[:15]
    ]
    out.append(
        _table(
            ["#", "feature", "score", "drift size", "importance", "drifted", "evidence"],
            rows,
            raw=5,
        )
    )
    return "\n".join(out)


# --- helpers ---------------------------------------------------------------------------------
def _svg(fig: Figure) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]], raw: int | None = None) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = []
    for row in rows:
        cells = []
        for i, value in enumerate(row):
            if i == raw:
                cells.append(f"<td>{value}</td>")
            elif _num(value):
                cells.append(f"<td class='num'>{_fmt(value)}</td>")
            else:
                cells.append(f"<td>{_e('' if value is None else value)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _kpi_names(versions: Sequence[Mapping[str, Any]]) -> list[str]:
    return sorted({k for v in versions for k, x in (v.get("metrics") or {}).items() if _num(x)})


def _drifted(drift: Mapping[str, Any] | None) -> list[str]:
    return [str(f.get("feature")) for f in (drift or {}).get("features") or [] if f.get("drifted")]


def _count(features: Sequence[Mapping[str, Any]], key: str) -> int:
    return sum(1 for f in features if f.get(key))


def _yes(flag: bool) -> str:
    return "<span class='tag yes'>yes</span>" if flag else "<span class='tag no'>no</span>"


def _num(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _fmt(value: float) -> str:
    if isinstance(value, int):
        return f"{value:,}"
    if value != 0 and abs(value) < 1e-3:
        return f"{value:.2e}"
    return f"{value:.4g}"


def _pct(value: Any) -> str:
    return f"{value:.1%}" if _num(value) else "-"


def _time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def _e(value: Any) -> str:
    return html.escape(str(value))
