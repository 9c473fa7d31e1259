"""Write evaluations, and the read API over them (the CLI, the HTML report and the console use it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, desc, func, insert, select

from hub.quality.compute import Metric, aware
from hub.quality.tables import quality_metrics, quality_runs


@dataclass(frozen=True)
class Evaluation:
    """One evaluation of one connection: its status, value-free reasons and metric rows."""

    id: int
    connection: str
    run_id: int | None
    computed_at: datetime
    status: str  # ok | degraded
    reasons: list[str]
    seconds: float
    metrics: list[Metric] = field(default_factory=list)

    @property
    def degraded(self) -> bool:
        return self.status == "degraded"

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "connection": self.connection, "run_id": self.run_id,
                "computed_at": self.computed_at.isoformat(), "status": self.status, "reasons": self.reasons,
                "seconds": self.seconds,
                "metrics": [{"stream": m.stream, "metric": m.metric, "field": m.field, "value": m.value,
                             "numerator": m.numerator, "denominator": m.denominator} for m in self.metrics]}


def save(conn: Connection, connection: str, run_id: int | None, metrics: Sequence[Metric], reasons: list[str],
         computed_at: datetime, seconds: float) -> Evaluation:
    status = "degraded" if reasons else "ok"
    qid = conn.execute(insert(quality_runs).returning(quality_runs.c.id), {
        "connection": connection, "run_id": run_id, "computed_at": computed_at, "status": status,
        "reasons": orjson.dumps(reasons).decode(), "seconds": seconds}).scalar_one()
    rows = [{"quality_run_id": qid, "connection": m.connection, "stream": m.stream, "metric": m.metric,
             "field": m.field, "value": m.value, "numerator": m.numerator, "denominator": m.denominator}
            for m in metrics]
    for start in range(0, len(rows), 2000):
        conn.execute(insert(quality_metrics), rows[start:start + 2000])
    return Evaluation(qid, connection, run_id, computed_at, status, reasons, seconds, list(metrics))


def _evaluation(conn: Connection, row: Any, with_metrics: bool = True) -> Evaluation:
    q = quality_metrics.c
    metrics = []
    if with_metrics:
        metrics = [Metric(row.connection, r.stream, r.metric, r.field, r.value, r.numerator, r.denominator)
                   for r in conn.execute(select(q.stream, q.metric, q.field, q.value, q.numerator, q.denominator)
                                         .where(q.quality_run_id == row.id)
                                         .order_by(q.stream, q.metric, q.field))]
    return Evaluation(row.id, row.connection, row.run_id, aware(row.computed_at), row.status,
                      orjson.loads(row.reasons), row.seconds, metrics)


def latest(conn: Connection, connection: str | None = None) -> list[Evaluation]:
    """The newest evaluation of each connection (or of ``connection``), with its metrics."""
    r = quality_runs.c
    newest = select(r.connection, func.max(r.id).label("id")).group_by(r.connection)
    if connection is not None:
        newest = newest.where(r.connection == connection)
    ids = [row.id for row in conn.execute(newest)]
    if not ids:
        return []
    rows = conn.execute(select(quality_runs).where(r.id.in_(ids)).order_by(r.connection)).all()
    return [_evaluation(conn, row) for row in rows]


def evaluations(conn: Connection, connection: str, limit: int = 50) -> list[Evaluation]:
    """The last ``limit`` evaluations of ``connection`` without their metrics, oldest first."""
    r = quality_runs.c
    rows = conn.execute(select(quality_runs).where(r.connection == connection).order_by(desc(r.id))
                        .limit(limit)).all()
    return [_evaluation(conn, row, with_metrics=False) for row in reversed(rows)]


def history(conn: Connection, connection: str, metric: str, field: str | None = None, stream: str | None = None,
            limit: int = 50) -> list[dict[str, Any]]:
    """The last ``limit`` values of one metric over time, oldest first: dicts with ``quality_run_id``,
    ``computed_at``, ``stream``, ``field``, ``value``, ``numerator``, ``denominator``. Without ``field``
    (or ``stream``) every field (stream) is returned, so a caller can draw one line per series."""
    r, q = quality_runs.c, quality_metrics.c
    recent = select(r.id).where(r.connection == connection).order_by(desc(r.id)).limit(limit).subquery()
    query = select(q.quality_run_id, r.computed_at, q.stream, q.field, q.value, q.numerator, q.denominator).join(
        quality_runs, r.id == q.quality_run_id).where(q.connection == connection, q.metric == metric,
                                                      q.quality_run_id.in_(select(recent.c.id)))
    if field is not None:
        query = query.where(q.field == field)
    if stream is not None:
        query = query.where(q.stream == stream)
    return [{"quality_run_id": row.quality_run_id, "computed_at": aware(row.computed_at), "stream": row.stream,
             "field": row.field, "value": row.value, "numerator": row.numerator, "denominator": row.denominator}
            for row in conn.execute(query.order_by(q.quality_run_id, q.stream, q.field))]


def series(conn: Connection, connection: str, limit: int = 20) -> dict[tuple[str, str, str], list[float | None]]:
    """Every metric row of the last ``limit`` evaluations as series keyed (stream, metric, field), oldest first
    (``None`` where an evaluation lacked the row)."""
    r, q = quality_runs.c, quality_metrics.c
    ids = [i for (i,) in conn.execute(select(r.id).where(r.connection == connection).order_by(desc(r.id))
                                      .limit(limit))][::-1]
    if not ids:
        return {}
    position = {qid: i for i, qid in enumerate(ids)}
    out: dict[tuple[str, str, str], list[float | None]] = {}
    query = select(q.quality_run_id, q.stream, q.metric, q.field, q.value).where(
        q.connection == connection, q.quality_run_id.in_(ids))
    for qid, stream, metric, name, value in conn.execute(query):
        out.setdefault((stream, metric, name), [None] * len(ids))[position[qid]] = value
    return out
