"""Quality tables (created by migration 0009): aggregates only, never a customer value.

``quality_runs``: one evaluation of one connection (after an ingest run, or on demand), with its
status (``ok`` or ``degraded``) and the value-free reasons. ``quality_metrics``: the metric values
of that evaluation, one row per (connection, stream, metric, field) with the counts behind them.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Float, ForeignKey, Index, Integer, PrimaryKeyConstraint, String, Table, Text

from hub.store.schema import Id, metadata

quality_runs = Table(
    "quality_runs", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("connection", String(200), nullable=False),
    Column("run_id", Id),  # the ingest run it followed (runs.id), if any
    Column("computed_at", DateTime(timezone=True), nullable=False),
    Column("status", String(16), nullable=False),  # ok | degraded
    Column("reasons", Text, nullable=False),  # JSON list of value-free reasons
    Column("seconds", Float, nullable=False),
)
Index("ix_quality_runs_connection", quality_runs.c.connection, quality_runs.c.id)

quality_metrics = Table(
    "quality_metrics", metadata,
    Column("quality_run_id", Id, ForeignKey("quality_runs.id", ondelete="CASCADE"), nullable=False),
    Column("connection", String(200), nullable=False),
    Column("stream", String(200), nullable=False),  # "*" for connection-wide metrics
    Column("metric", String(32), nullable=False),  # completeness | validity | uniqueness | consistency | freshness
    Column("field", String(100), nullable=False),  # "*" for the whole stream
    Column("value", Float, nullable=False),
    Column("numerator", Integer),
    Column("denominator", Integer),
    PrimaryKeyConstraint("quality_run_id", "connection", "stream", "metric", "field"),
)
Index("ix_quality_metrics_series", quality_metrics.c.connection, quality_metrics.c.metric, quality_metrics.c.field,
      quality_metrics.c.quality_run_id)

TABLES = (quality_runs, quality_metrics)
