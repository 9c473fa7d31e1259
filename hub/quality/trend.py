"""Trends of a metric series: the change against the previous evaluation and a text sparkline."""

from __future__ import annotations

from collections.abc import Sequence

BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float | None], *, share: bool = True) -> str:
    """One bar per value (a space where an evaluation lacked it); shares are drawn on 0..1."""
    known = [v for v in values if v is not None]
    if not known:
        return ""
    low, high = (0.0, 1.0) if share else (min(known), max(known))
    span = (high - low) or 1.0
    return "".join(" " if v is None else BARS[min(len(BARS) - 1, max(0, int((v - low) / span * (len(BARS) - 1) + 0.5)))]
                   for v in values)


def change(values: Sequence[float | None]) -> float | None:
    """The last value minus the one before it (None without two values)."""
    known = [v for v in values if v is not None]
    return known[-1] - known[-2] if len(known) >= 2 else None


def fmt_value(metric: str, value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.1f} h" if metric == "freshness" else f"{value:.2f}"


def fmt_change(metric: str, delta: float | None) -> str:
    if delta is None or abs(delta) < 0.005:
        return "" if delta is None else "="
    sign = "+" if delta > 0 else "-"
    return f"{sign}{abs(delta):,.1f} h" if metric == "freshness" else f"{sign}{abs(delta):.2f}"
