"""Evaluate quality for connections and record it: what ``custhub run`` and the scheduler call."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from hub.privacy.runtime import ensure_active
from hub.quality.compute import measure
from hub.quality.results import Evaluation, save
from hub.quality.thresholds import breaches

if TYPE_CHECKING:
    from hub.config import Config
    from hub.store import Store


def evaluate_quality(store: Store, config: Config, connections: Iterable[str] | None = None, *,
                     run_ids: Mapping[str, int] | None = None, now: datetime | None = None) -> list[Evaluation]:
    """Measure ``connections`` (default: every configured one), judge them against the thresholds and
    store one evaluation per connection (linked to its ingest run from ``run_ids``)."""
    ensure_active(store.engine, config.privacy, config.base_dir)
    names = sorted(set(connections) if connections is not None else set(config.connections))
    now = now or datetime.now(UTC)
    settings = config.quality
    started = time.perf_counter()
    with store.reading() as conn:
        measured = measure(conn, names, settings.fields, now)
    seconds = round(time.perf_counter() - started, 3)
    out = []
    with store.transaction() as conn:
        for name in names:
            metrics = measured[name]
            out.append(save(conn, name, (run_ids or {}).get(name), metrics, breaches(metrics, settings), now,
                            seconds))
    return out


def after_ingest(store: Store, config: Config, run_ids: Mapping[str, int]) -> tuple[list[Evaluation], Any]:
    """What follows an ingest (and resolve): segments brought up to date, then quality measured for the
    connections that ran (each linked to its run). Returns (evaluations, segments summary or None)."""
    summary = None
    if config.segments.segments:
        from hub.segments.evaluate import evaluate_segments

        summary = evaluate_segments(store, config)
    evaluations = evaluate_quality(store, config, list(run_ids), run_ids=run_ids) if config.quality.after_run else []
    return evaluations, summary
