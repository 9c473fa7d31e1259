"""Source records and quarantine rows: idempotent batch writes keyed by (connection, stream, pk)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, and_, bindparam, func, insert, select, update

from hub.store.schema import quarantine, source_records

IN_CHUNK = 500  # bound parameters per IN (...) list


@dataclass(slots=True)
class GoodRecord:
    source_pk: str
    record_hash: str
    raw: str
    canonical: str


@dataclass(slots=True)
class BadRecord:
    source_pk: str
    record_hash: str
    raw: str
    reasons: str  # JSON list
    stage: str


@dataclass(slots=True)
class BatchCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), IN_CHUNK):
        yield items[start:start + IN_CHUNK]


def existing_hashes(conn: Connection, connection: str, stream: str, pks: Sequence[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for chunk in _chunks(pks):
        rows = conn.execute(
            select(source_records.c.source_pk, source_records.c.record_hash).where(
                source_records.c.connection == connection, source_records.c.stream == stream,
                source_records.c.source_pk.in_(chunk)))
        found.update((pk, record_hash) for pk, record_hash in rows)
    return found


def write_records(conn: Connection, connection: str, stream: str, records: Sequence[GoodRecord],
                  run_id: int, now: datetime) -> BatchCounts:
    """Insert new records, update changed ones, leave identical ones alone."""
    counts = BatchCounts()
    latest = {r.source_pk: r for r in records}  # a pk repeated in one batch: the last one wins
    known = existing_hashes(conn, connection, stream, list(latest))
    inserts, updates = [], []
    for pk, rec in latest.items():
        if pk not in known:
            inserts.append({"connection": connection, "stream": stream, "source_pk": pk,
                            "record_hash": rec.record_hash, "raw": rec.raw, "canonical": rec.canonical,
                            "first_seen_at": now, "updated_at": now, "run_id": run_id})
        elif known[pk] != rec.record_hash:
            updates.append({"b_pk": pk, "record_hash": rec.record_hash, "raw": rec.raw,
                            "canonical": rec.canonical, "updated_at": now, "run_id": run_id})
    counts.unchanged = len(records) - len(inserts) - len(updates)
    if inserts:
        conn.execute(insert(source_records), inserts)
    if updates:
        conn.execute(
            update(source_records).where(
                source_records.c.connection == connection, source_records.c.stream == stream,
                source_records.c.source_pk == bindparam("b_pk")),
            updates)
    counts.inserted, counts.updated = len(inserts), len(updates)
    return counts


def write_quarantine(conn: Connection, connection: str, stream: str, records: Sequence[BadRecord],
                     run_id: int, now: datetime) -> int:
    """Quarantine bad records; a record already quarantined with the same content is not added again."""
    latest = {r.source_pk: r for r in records}
    known: dict[str, tuple[str, str]] = {}
    for chunk in _chunks(list(latest)):
        rows = conn.execute(select(quarantine.c.source_pk, quarantine.c.record_hash, quarantine.c.status).where(
            quarantine.c.connection == connection, quarantine.c.stream == stream,
            quarantine.c.source_pk.in_(chunk)))
        known.update({pk: (h, status) for pk, h, status in rows})
    inserts, updates = [], []
    for pk, rec in latest.items():
        values = {"record_hash": rec.record_hash, "stage": rec.stage, "reasons": rec.reasons, "raw": rec.raw,
                  "status": "open", "updated_at": now, "run_id": run_id}
        if pk not in known:
            inserts.append({"connection": connection, "stream": stream, "source_pk": pk,
                            "first_seen_at": now, **values})
        elif known[pk] != (rec.record_hash, "open"):
            updates.append({"b_pk": pk, **values})
    if inserts:
        conn.execute(insert(quarantine), inserts)
    if updates:
        conn.execute(update(quarantine).where(
            quarantine.c.connection == connection, quarantine.c.stream == stream,
            quarantine.c.source_pk == bindparam("b_pk")), updates)
    return len(records)


def resolve_quarantined(conn: Connection, connection: str, stream: str, pks: Sequence[str],
                        now: datetime) -> int:
    """Mark open quarantine rows resolved once their record was stored."""
    resolved = 0
    for chunk in _chunks(pks):
        result = conn.execute(update(quarantine).where(
            quarantine.c.connection == connection, quarantine.c.stream == stream,
            quarantine.c.status == "open", quarantine.c.source_pk.in_(chunk)).values(
                status="resolved", updated_at=now))
        resolved += result.rowcount or 0
    return resolved


def open_quarantine_count(conn: Connection, connection: str, stream: str) -> int:
    return conn.execute(select(func.count()).select_from(quarantine).where(and_(
        quarantine.c.connection == connection, quarantine.c.stream == stream,
        quarantine.c.status == "open"))).scalar_one()
