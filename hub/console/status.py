"""Connections, destinations, runs and quarantine as the console shows them: indexed reads only.

Each read is bounded: the latest run of a target comes from ``ix_runs_target_started``, open
quarantine counts from ``ix_quarantine_status``, run lists are paged by id; nothing counts a
table of records or profiles per request.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, select

from hub.config import Config
from hub.store.schema import quarantine, run_streams, runs
from hub.store.sealed import open_json, source_key
from hub.sync.tables import schedule_jobs, sync_results

PAGE = 50
INGEST_KINDS = ("ingest", "retry")


@dataclass(frozen=True)
class TargetStatus:
    kind: str  # connection | destination
    name: str
    connector: str
    enabled: bool
    schedule: str
    last_run: dict[str, Any] | None
    last_success: datetime | None
    next_run: datetime | None
    next_run_note: str
    open_quarantine: int | None


def _schedule_text(schedule: dict[str, Any] | None) -> str:
    if not schedule:
        return "manual"
    what = f"cron {schedule['cron']}" if "cron" in schedule else f"every {schedule.get('interval')}"
    return f"{what} ({schedule.get('timezone', 'UTC')})"


def _aware(value: datetime | None) -> datetime | None:
    return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)


def _last_run(conn: Connection, target: str, kinds: tuple[str, ...]) -> tuple[dict[str, Any] | None, datetime | None]:
    r = runs.c
    latest = conn.execute(select(r.id, r.kind, r.status, r.started_at, r.finished_at, r.records_read,
                                 r.records_quarantined).where(r.target == target, r.kind.in_(kinds))
                          .order_by(r.started_at.desc()).limit(1)).mappings().first()
    success = conn.execute(select(r.finished_at).where(r.target == target, r.kind.in_(kinds),
                                                       r.status == "succeeded")
                           .order_by(r.started_at.desc()).limit(1)).scalar()
    return (dict(latest) if latest else None), _aware(success)


def _next_runs(conn: Connection, config: Config, now: datetime) -> dict[str, tuple[datetime | None, str]]:
    """job id -> (next run, note): the scheduler's stored time, else the trigger's next fire time."""
    from hub.schedule.jobs import jobs_from_config
    from hub.schedule.scheduler import first_fire

    stored = {job_id: _aware(at) for job_id, at in conn.execute(select(schedule_jobs.c.job_id,
                                                                       schedule_jobs.c.next_run_at))}
    out = {}
    for job in jobs_from_config(config):
        if stored.get(job.id) is not None:
            out[job.id] = (stored[job.id], "")
        else:
            out[job.id] = (first_fire(job, now), "if `custhub schedule` starts now")
    return out


def overview(conn: Connection, config: Config, now: datetime | None = None) -> list[TargetStatus]:
    """Every configured connection and destination with its latest run and next scheduled run."""
    now = now or datetime.now(UTC)
    nexts = _next_runs(conn, config, now)
    q = quarantine.c
    open_counts = dict(conn.execute(select(q.connection, func.count()).where(q.status == "open")
                                    .group_by(q.connection)).all())
    found = []
    for name, c in sorted(config.connections.items()):
        last, success = _last_run(conn, name, INGEST_KINDS)
        nxt, note = nexts.get(f"connection:{name}", (None, ""))
        found.append(TargetStatus("connection", name, c.source, c.enabled, _schedule_text(c.schedule), last,
                                  success, nxt, note, open_counts.get(name, 0)))
    for name, d in sorted(config.destinations.items()):
        last, success = _last_run(conn, name, ("sync",))
        nxt, note = nexts.get(f"destination:{name}", (None, ""))
        schedule = _schedule_text(d.schedule) + (f"; after {', '.join(d.after)}" if d.after else "")
        found.append(TargetStatus("destination", name, d.connector, d.enabled, schedule, last, success, nxt, note,
                                  None))
    return found


def list_runs(conn: Connection, *, target: str | None = None, before: int | None = None,
              limit: int = PAGE) -> list[dict[str, Any]]:
    """Runs newest first, ``limit`` at a time; ``before`` is the id to page from (keyset paging)."""
    r = runs.c
    query = select(runs).order_by(r.id.desc()).limit(limit)
    if target:
        query = query.where(r.target == target)
    if before:
        query = query.where(r.id < before)
    return [dict(row) for row in conn.execute(query).mappings()]


def run_detail(conn: Connection, run_id: int, limit: int = 100) -> dict[str, Any] | None:
    """A run, its per-stream counts, its quarantined rows (ingest) or per-row results (sync)."""
    row = conn.execute(select(runs).where(runs.c.id == run_id)).mappings().first()
    if row is None:
        return None
    streams = [dict(s) for s in conn.execute(select(run_streams).where(run_streams.c.run_id == run_id)
                                             .order_by(run_streams.c.stream)).mappings()]
    q = quarantine.c
    bad = [{**dict(b), "reasons": json.loads(b["reasons"])} for b in conn.execute(
        select(q.id, q.stream, q.stage, q.status, q.reasons).where(q.connection == row["target"], q.run_id == run_id)
        .order_by(q.id).limit(limit)).mappings()] if row["kind"] in INGEST_KINDS else []
    s = sync_results.c
    results = [dict(x) for x in conn.execute(select(s.id, s.profile_id, s.kind, s.status, s.external_id, s.code)
                                             .where(s.run_id == run_id).order_by(s.id).limit(limit)).mappings()]
    result_counts = dict(conn.execute(select(s.status, func.count()).where(s.run_id == run_id)
                                      .group_by(s.status)).all())
    return {"run": dict(row), "streams": streams, "quarantine": bad, "results": results,
            "result_counts": result_counts, "limit": limit}


def quarantine_row(conn: Connection, row_id: int) -> dict[str, Any] | None:
    """One quarantined record with its reasons and its raw fields (opened from sealed storage)."""
    row = conn.execute(select(quarantine).where(quarantine.c.id == row_id)).mappings().first()
    if row is None:
        return None
    raw = open_json("quarantine", "raw", source_key(row["connection"], row["stream"], row["source_pk"]), row["raw"])
    return {**dict(row), "reasons": json.loads(row["reasons"]), "raw": raw if isinstance(raw, dict) else {"": raw}}
