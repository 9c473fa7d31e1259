"""``custhub quality --html FILE``: one self-contained HTML page (inline CSS and SVG, no scripts, no CDN)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape

from sqlalchemy import Connection

from hub.quality.results import Evaluation, evaluations, latest, series
from hub.quality.trend import change, fmt_change, fmt_value

CSS = """body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
h1{font-size:1.5em}h2{margin-top:2em;border-bottom:1px solid #ddd}table{border-collapse:collapse;margin:.5em 0}
td,th{padding:.2em .7em;border-bottom:1px solid #eee;text-align:left}td.n{text-align:right}
.ok{color:#1a7f37}.degraded{color:#b42318}.charts{display:flex;flex-wrap:wrap;gap:1em}
figure{margin:0;border:1px solid #eee;padding:.5em}figcaption{font-size:.85em;color:#555}
ul.reasons{color:#b42318}"""
COLOURS = ("#2563eb", "#16a34a", "#dc2626", "#9333ea", "#ea580c", "#0891b2", "#4d7c0f", "#be185d")
CHART_METRICS = ("completeness", "validity", "uniqueness", "consistency", "freshness")


def line_chart(title: str, lines: dict[str, Sequence[float | None]], *, share: bool = True,
               width: int = 480, height: int = 180) -> str:
    """An SVG line chart: one polyline per series over the evaluations, a legend, the y range."""
    pad_l, pad_r, pad_t, pad_b = 40, 10, 10, 20
    known = [v for vals in lines.values() for v in vals if v is not None]
    if not known:
        return ""
    low, high = (0.0, 1.0) if share else (0.0, max(known) or 1.0)
    n = max(len(v) for v in lines.values())
    plot_w, plot_h = width - pad_l - pad_r, height - pad_t - pad_b

    def xy(i: int, v: float) -> str:
        x = pad_l + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)
        y = pad_t + plot_h - (v - low) / ((high - low) or 1) * plot_h
        return f"{x:.1f},{y:.1f}"

    columns = 3 if len(lines) > 4 else 1
    rows = -(-len(lines) // columns)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 16 * rows}" '
             f'role="img" aria-label="{escape(title)}">',
             f'<rect x="{pad_l}" y="{pad_t}" width="{plot_w}" height="{plot_h}" fill="#fafafa" stroke="#ddd"/>']
    for frac in (0, 0.5, 1):
        y = pad_t + plot_h * (1 - frac)
        label = f"{low + (high - low) * frac:.2f}" if share else f"{low + (high - low) * frac:.3g}h"
        parts.append(f'<text x="{pad_l - 4}" y="{y + 4:.1f}" font-size="10" text-anchor="end">{label}</text>')
    for k, (name, values) in enumerate(sorted(lines.items())):
        colour = COLOURS[k % len(COLOURS)]
        points = [xy(i, v) for i, v in enumerate(values) if v is not None]
        if len(points) > 1:
            parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{" ".join(points)}"/>')
        for point in points:
            x, y = point.split(",")
            parts.append(f'<circle cx="{x}" cy="{y}" r="2.5" fill="{colour}"/>')
        ly, lx = height + 12 + 16 * (k % rows), pad_l + (plot_w // columns) * (k // rows)
        parts.append(f'<rect x="{lx}" y="{ly - 9}" width="10" height="10" fill="{colour}"/>'
                     f'<text x="{lx + 14}" y="{ly}" font-size="11">{escape(name)}</text>')
    parts.append(f'<text x="{pad_l}" y="{height - 4}" font-size="10">oldest</text>'
                 f'<text x="{width - pad_r}" y="{height - 4}" font-size="10" text-anchor="end">newest</text></svg>')
    return "".join(parts)


def _charts(data: dict[tuple[str, str, str], list[float | None]]) -> str:
    figures = []
    for metric in CHART_METRICS:
        by_stream: dict[str, dict[str, list[float | None]]] = {}
        for (stream, m, name), values in data.items():
            if m == metric and not (metric == "validity" and name != "*"):
                label = name if metric in ("completeness", "consistency") else (stream if name == "*" else
                                                                                 f"{stream} {name}")
                by_stream.setdefault(stream if metric in ("completeness", "consistency") else "", {})[label] = values
        for stream, lines in sorted(by_stream.items()):
            title = f"{metric} {stream}".strip()
            svg = line_chart(title, lines, share=metric != "freshness")
            if svg:
                figures.append(f"<figure>{svg}<figcaption>{escape(title)}</figcaption></figure>")
    return f'<div class="charts">{"".join(figures)}</div>'


def _table(ev: Evaluation, data: dict[tuple[str, str, str], list[float | None]]) -> str:
    rows = []
    for m in ev.metrics:
        values = data.get((m.stream, m.metric, m.field), [])
        counts = f"{m.numerator:,} / {m.denominator:,}" if m.denominator is not None else ""
        rows.append(f"<tr><td>{escape(m.stream)}</td><td>{m.metric}</td><td>{escape(m.field)}</td>"
                    f'<td class="n">{fmt_value(m.metric, m.value)}</td><td class="n">{counts}</td>'
                    f'<td class="n">{fmt_change(m.metric, change(values))}</td></tr>')
    return ("<table><tr><th>stream</th><th>metric</th><th>field</th><th>value</th><th>counts</th>"
            f"<th>change</th></tr>{''.join(rows)}</table>")


def render_html(conn: Connection, connections: Sequence[str] | None = None, *, limit: int = 30) -> str:
    """The report of the newest evaluation of each connection, with charts over the last ``limit``."""
    sections = []
    for ev in latest(conn):
        if connections and ev.connection not in connections:
            continue
        data = series(conn, ev.connection, limit)
        past = evaluations(conn, ev.connection, limit)
        degraded = sum(1 for e in past if e.degraded)
        reasons = "".join(f"<li>{escape(r)}</li>" for r in ev.reasons)
        sections.append(
            f"<h2>{escape(ev.connection)} <span class=\"{ev.status}\">{ev.status}</span></h2>"
            f"<p>measured {ev.computed_at:%Y-%m-%d %H:%M} UTC"
            + (f" after run {ev.run_id}" if ev.run_id else "")
            + f"; {degraded} of the last {len(past)} evaluations degraded</p>"
            + (f'<ul class="reasons">{reasons}</ul>' if reasons else "")
            + _charts(data) + _table(ev, data))
    body = "".join(sections) or "<p>No quality evaluations yet: run <code>custhub run</code> or " \
                                "<code>custhub quality --refresh</code>.</p>"
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>custhub data quality</title>'
            f"<style>{CSS}</style></head><body><h1>custhub data quality</h1><p>Generated {stamp}. "
            "Shares from 0 to 1 (higher is better); freshness in hours (lower is better). "
            f"Aggregates only: no customer values.</p>{body}</body></html>")
