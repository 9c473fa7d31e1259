"""Source records and quarantine rows: idempotent batch writes keyed by (connection, stream, pk).

``raw`` and ``canonical`` of a source record and ``raw`` of a quarantine row are sealed
(``hub.store.sealed``, row key ``[connection, stream, source_pk]``); ingest seals them on its worker
processes, and ``write_records``/``write_quarantine`` seal any value still in clear, so nothing
reaches these columns unsealed. Read them with ``open_raw``/``open_canonical``/``open_quarantine_raw``
(which also read rows written before encryption). Each column is a ``RewrapTarget``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, and_, bindparam, func, insert, select, update

from hub.privacy.crypto import location_aad, text_token
from hub.privacy.rewrap import RewrapTarget, register_target
from hub.store.bulk import db_value, in_values, insert_rows_with_ids, update_rows, values_param
from hub.store.schema import quarantine, source_records
from hub.store.sealed import open_json, seal_json, source_key

SEALED = "ch1."  # how every sealed value starts (``hub.privacy.crypto``); JSON text never does
SEALED_BINARY = SEALED.encode("ascii")  # ... and every binary one


def _aad_of(table: str) -> Any:
    return lambda column, row: location_aad(table, column, source_key(row["connection"], row["stream"],
                                                                      row["source_pk"]))


RECORDS_TARGET = RewrapTarget(table=source_records, key_column="id", value_columns=("raw", "canonical"),
                              aad=_aad_of("source_records"))
QUARANTINE_TARGET = RewrapTarget(table=quarantine, key_column="id", value_columns=("raw",),
                                 aad=_aad_of("quarantine"))
register_target(RECORDS_TARGET)
register_target(QUARANTINE_TARGET)


def open_raw(connection: str, stream: str, source_pk: str, stored: str | bytes) -> Any:
    """A source record's raw record as the source sent it."""
    return open_json("source_records", "raw", source_key(connection, stream, source_pk), stored)


def open_canonical(connection: str, stream: str, source_pk: str, stored: str | bytes) -> Any:
    """A source record's cleaned canonical record."""
    return open_json("source_records", "canonical", source_key(connection, stream, source_pk), stored)


def open_quarantine_raw(connection: str, stream: str, source_pk: str, stored: str | bytes) -> Any:
    """A quarantine row's raw record."""
    return open_json("quarantine", "raw", source_key(connection, stream, source_pk), stored)


def _sealed(table: str, column: str, connection: str, stream: str, pk: str, value: str) -> str:
    return value if value.startswith(SEALED) else seal_json(table, column, source_key(connection, stream, pk), value)


def _stored(column: str, connection: str, stream: str, pk: str, value: str | bytes, binary: bool) -> str | bytes:
    """A source record's ``column`` as the store keeps it: sealed (plain JSON is sealed here), and a
    binary token as text where the column takes text only."""
    if isinstance(value, bytes):
        if value.startswith(SEALED_BINARY):
            return value if binary else text_token(value)
        value = value.decode("utf-8")
    return _sealed("source_records", column, connection, stream, pk, value)


# Tuples, so that a batch crosses from a worker process as cheaply as pickle allows (plain tuples
# of str unpickle in C; a dataclass instance costs a Python call each way). These named tuples
# document the fields' order: ingest workers send plain tuples in that order (see
# ``hub.ingest.processor``), read by index only.
class ConsentRow(NamedTuple):
    """A consent event of a record, as a ledger row without its subject (value-free)."""

    purpose: str
    status: str
    basis: str
    separate: bool
    jurisdiction: str
    channel: str
    source_connection: str | None
    effective_from: datetime
    expires_at: datetime | None


# A ConsentRow as the plain tuple a worker sends (the same fields in the same order).
ConsentValues = tuple[str, str, str, bool, str, str, str | None, datetime, datetime | None]


class GoodRecord(NamedTuple):
    source_pk: str
    record_hash: str  # keyed (``PrivacyRuntime.content_hash``)
    raw: str | bytes  # sealed JSON, a text or binary token (plain JSON is sealed on write)
    canonical: str | bytes
    suppression: tuple[tuple[str, str], ...] = ()  # (kind, blind-index digest) of its identifiers
    consents: tuple[ConsentRow, ...] = ()


class BadRecord(NamedTuple):
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
    changed: list[str] | None = None  # pks inserted, then those updated
    inserted_ids: Sequence[int] | None = None  # the inserted rows' ids, in the order of ``changed``, where known


def existing_hashes(conn: Connection, connection: str, stream: str, pks: Sequence[str]) -> dict[str, str]:
    query = select(source_records.c.source_pk, source_records.c.record_hash).where(
        source_records.c.connection == connection, source_records.c.stream == stream,
        in_values(conn.dialect, source_records.c.source_pk, "pks"))
    return dict(conn.execute(query, {"pks": values_param(conn.dialect, pks)}).all())  # one fetch, not one per row


RECORD_COLUMNS = ("connection", "stream", "source_pk", "record_hash", "raw", "canonical", "first_seen_at",
                  "updated_at", "run_id")
RECORD_UPDATE_COLUMNS = ("record_hash", "raw", "canonical", "updated_at", "run_id")
RECORD_KEYS = ("connection", "stream", "source_pk")


def write_records(conn: Connection, connection: str, stream: str, records: Sequence[GoodRecord],
                  run_id: int, now: datetime) -> BatchCounts:
    """Insert new records, update changed ones, leave identical ones alone."""
    latest = {r[0]: r for r in records}  # a pk repeated in one batch: the last one wins
    known = existing_hashes(conn, connection, stream, list(latest))
    ts = db_value(conn, source_records.c.updated_at, now)
    # SQLite keeps binary tokens (from ingest's workers) as they come, in its dynamically typed
    # columns; PostgreSQL's text columns get them as text.
    binary = conn.dialect.name == "sqlite"
    inserts, updates = [], []
    get = known.get
    for pk, (_, record_hash, raw, canonical, *_) in latest.items():
        previous = get(pk)
        if previous == record_hash:
            continue
        if not (binary and raw.__class__ is bytes and canonical.__class__ is bytes
                and raw.startswith(SEALED_BINARY) and canonical.startswith(SEALED_BINARY)):
            raw = _stored("raw", connection, stream, pk, raw, binary)
            canonical = _stored("canonical", connection, stream, pk, canonical, binary)
        if previous is None:
            inserts.append((connection, stream, pk, record_hash, raw, canonical, ts, ts, run_id))
        else:
            updates.append((record_hash, raw, canonical, ts, run_id, connection, stream, pk))
    inserted_ids = insert_rows_with_ids(conn, source_records, RECORD_COLUMNS, inserts)
    update_rows(conn, source_records, RECORD_UPDATE_COLUMNS, RECORD_KEYS, updates)
    return BatchCounts(inserted=len(inserts), updated=len(updates),
                       unchanged=len(records) - len(inserts) - len(updates),
                       changed=[row[2] for row in inserts] + [row[-1] for row in updates],
                       inserted_ids=inserted_ids)


def write_quarantine(conn: Connection, connection: str, stream: str, records: Sequence[BadRecord],
                     run_id: int, now: datetime) -> int:
    """Quarantine bad records; a record already quarantined with the same content is not added again."""
    latest = {r[0]: BadRecord(*r[:5]) for r in records}
    rows = conn.execute(select(quarantine.c.source_pk, quarantine.c.record_hash, quarantine.c.status).where(
        quarantine.c.connection == connection, quarantine.c.stream == stream,
        in_values(conn.dialect, quarantine.c.source_pk, "pks")),
        {"pks": values_param(conn.dialect, list(latest))})
    known = {pk: (h, status) for pk, h, status in rows}
    inserts, updates = [], []
    for pk, rec in latest.items():
        raw = _sealed("quarantine", "raw", connection, stream, pk, rec.raw)
        values = {"record_hash": rec.record_hash, "stage": rec.stage, "reasons": rec.reasons, "raw": raw,
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
    result = conn.execute(update(quarantine).where(
        quarantine.c.connection == connection, quarantine.c.stream == stream, quarantine.c.status == "open",
        in_values(conn.dialect, quarantine.c.source_pk, "pks")).values(status="resolved", updated_at=now),
        {"pks": values_param(conn.dialect, pks)})
    return result.rowcount or 0


def open_quarantine_count(conn: Connection, connection: str, stream: str) -> int:
    return conn.execute(select(func.count()).select_from(quarantine).where(and_(
        quarantine.c.connection == connection, quarantine.c.stream == stream,
        quarantine.c.status == "open"))).scalar_one()
