"""Inline SVG line charts for the quality page: no JavaScript, no external files, no inline styles.

Colours are SVG presentation attributes (allowed by the console's Content-Security-Policy); every
number is formatted here, so a template only places the markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#4d7c0f", "#be185d")
WIDTH, HEIGHT, PAD_L, PAD_R, PAD_T, PAD_B = 560, 180, 44, 12, 12, 22


def line_chart(lines: dict[str, Sequence[float | None]], *, share: bool = True, labels: Sequence[str] = (),
               title: str = "") -> Markup:
    """A chart with one polyline per entry of ``lines`` (values oldest first; None leaves a gap).

    Shares are drawn on 0..1; other values (hours) from 0 to their maximum.
    """
    known = [v for values in lines.values() for v in values if v is not None]
    n = max((len(v) for v in lines.values()), default=0)
    high = 1.0 if share else max(known, default=1.0) or 1.0
    plot_w, plot_h = WIDTH - PAD_L - PAD_R, HEIGHT - PAD_T - PAD_B

    def x(i: int) -> float:
        return PAD_L + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def y(v: float) -> float:
        return PAD_T + plot_h * (1 - min(max(v / high, 0.0), 1.0))

    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" '
             f'aria-label="{escape(title)}">']
    for frac in (0.0, 0.5, 1.0):
        gy = y(high * frac)
        label = f"{high * frac:.1f}" if share else f"{high * frac:,.0f} h"
        parts.append(f'<line x1="{PAD_L}" y1="{gy:.1f}" x2="{WIDTH - PAD_R}" y2="{gy:.1f}" stroke="#e5e7eb"/>'
                     f'<text x="{PAD_L - 6}" y="{gy + 4:.1f}" text-anchor="end" font-size="10" fill="#6b7280">'
                     f'{label}</text>')
    if labels:
        for i in sorted({0, n - 1}):
            if 0 <= i < len(labels):
                anchor = "start" if i == 0 else "end"
                parts.append(f'<text x="{x(i):.1f}" y="{HEIGHT - 6}" text-anchor="{anchor}" font-size="10" '
                             f'fill="#6b7280">{escape(labels[i])}</text>')
    for colour, (name, values) in zip(PALETTE, lines.items(), strict=False):
        segment: list[str] = []
        segments: list[list[str]] = []
        for i, v in enumerate(values):
            if v is None:
                if segment:
                    segments.append(segment)
                segment = []
            else:
                segment.append(f"{x(i):.1f},{y(v):.1f}")
        if segment:
            segments.append(segment)
        for seg in segments:
            if len(seg) == 1:
                cx, cy = seg[0].split(",")
                parts.append(f'<circle cx="{cx}" cy="{cy}" r="3" fill="{colour}">'
                             f'<title>{escape(name)}</title></circle>')
            else:
                parts.append(f'<polyline points="{" ".join(seg)}" fill="none" stroke="{colour}" stroke-width="2">'
                             f'<title>{escape(name)}</title></polyline>')
    parts.append("</svg>")
    legend = "".join(f'<li><svg width="10" height="10"><rect width="10" height="10" fill="{c}"/></svg> '
                     f'{escape(name)}</li>' for c, name in zip(PALETTE, lines, strict=False))
    return Markup("".join(parts) + f'<ul class="legend">{legend}</ul>')
