"""Run history and per-stream state checkpoints."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from hub.store.schema import connector_config, run_streams, runs, stream_state

COUNT_FIELDS = ("records_read", "records_inserted", "records_updated", "records_unchanged",
                "records_quarantined")


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class StreamCounts:
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    status: str = "running"
    error: str | None = None

    def as_row(self) -> dict[str, Any]:
        return {"records_read": self.read, "records_inserted": self.inserted,
                "records_updated": self.updated, "records_unchanged": self.unchanged,
                "records_quarantined": self.quarantined, "status": self.status, "error": self.error}


def mark_interrupted(conn: Connection, kind: str, target: str) -> int:
    """Runs of ``target`` still marked running belong to a process that died: say so."""
    return conn.execute(update(runs).where(runs.c.kind == kind, runs.c.target == target,
                                           runs.c.status == "running").values(
        status="interrupted", finished_at=utcnow(), error="the process ended before the run finished")).rowcount


def start_run(conn: Connection, kind: str, target: str) -> int:
    row = {"kind": kind, "target": target, "status": "running", "started_at": utcnow(),
           **dict.fromkeys(COUNT_FIELDS, 0)}
    return conn.execute(insert(runs).returning(runs.c.id), row).scalar_one()


def save_stream_counts(conn: Connection, run_id: int, stream: str, counts: StreamCounts) -> None:
    row = counts.as_row()
    changed = conn.execute(update(run_streams).where(
        run_streams.c.run_id == run_id, run_streams.c.stream == stream).values(**row)).rowcount
    if not changed:
        conn.execute(insert(run_streams).values(run_id=run_id, stream=stream, **row))


def finish_run(conn: Connection, run_id: int, status: str, totals: StreamCounts, error: str | None) -> None:
    row = totals.as_row()
    row.pop("status"), row.pop("error")
    conn.execute(update(runs).where(runs.c.id == run_id).values(
        status=status, finished_at=utcnow(), error=error, **row))


def load_state(conn: Connection, connection: str) -> dict[str, dict[str, Any]]:
    rows = conn.execute(select(stream_state.c.stream, stream_state.c.state).where(
        stream_state.c.connection == connection))
    return {stream: json.loads(state) for stream, state in rows}


def save_state(conn: Connection, connection: str, stream: str, state: dict[str, Any], run_id: int) -> None:
    values = {"state": json.dumps(state, ensure_ascii=False, sort_keys=True), "updated_at": utcnow(),
              "run_id": run_id}
    changed = conn.execute(update(stream_state).where(
        stream_state.c.connection == connection, stream_state.c.stream == stream).values(**values)).rowcount
    if not changed:
        conn.execute(insert(stream_state).values(connection=connection, stream=stream, **values))


def clear_state(conn: Connection, connection: str) -> None:
    conn.execute(stream_state.delete().where(stream_state.c.connection == connection))


def save_connector_config(conn: Connection, connection: str, config: dict[str, Any]) -> None:
    values = {"config": json.dumps(config, sort_keys=True), "updated_at": utcnow()}
    changed = conn.execute(update(connector_config).where(
        connector_config.c.connection == connection).values(**values)).rowcount
    if not changed:
        conn.execute(insert(connector_config).values(connection=connection, **values))


def load_connector_config(conn: Connection, connection: str) -> dict[str, Any] | None:
    text = conn.execute(select(connector_config.c.config).where(
        connector_config.c.connection == connection)).scalar_one_or_none()
    return json.loads(text) if text else None
