"""Thresholds: which metric rows of an evaluation break the configured limits, said without values."""

from __future__ import annotations

from collections.abc import Iterable

from hub.quality.compute import Metric
from hub.quality.settings import QualitySettings


def _where(m: Metric) -> str:
    return m.connection if m.stream == "*" else f"{m.connection}/{m.stream}"


def breaches(metrics: Iterable[Metric], settings: QualitySettings) -> list[str]:
    """One reason per metric row below its minimum (or, for freshness, above its maximum)."""
    reasons = []
    for m in metrics:
        limit = settings.limit(m.connection, m.metric, m.field)
        if limit is None:
            continue
        if m.metric == "freshness":
            if m.value > limit:
                what = "newest record" if m.field == "newest_record_hours" else "last successful run"
                reasons.append(f"freshness of {_where(m)}: {what} {m.value:.1f} h old > {limit:g} h")
        elif m.value < limit:
            what = _where(m) if m.field == "*" else f"{m.field} in {_where(m)}"
            reasons.append(f"{m.metric} of {what} {m.value:.2f} < {limit:.2f}")
    return reasons
