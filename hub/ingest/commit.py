"""Store one processed batch of a stream inside the caller's transaction.

Order inside the transaction: records whose identifiers are on the suppression list become
quarantine rows (reason ``suppressed``, payload not kept); the other records are upserted; the
consent events of every new or changed record go to the consent ledger; quarantine rows are
written and rows of records now stored are resolved. The caller saves the state checkpoint in
the same transaction, so all of it commits, or none of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, exists, select, tuple_

from hub.failpoints import failpoint
from hub.ingest.processor import suppression_digests
from hub.privacy.tables import privacy_consent_events, privacy_suppression
from hub.store import records
from hub.store.bulk import db_converter, db_value, in_values, insert_rows, values_param
from hub.store.records import BadRecord, BatchCounts, GoodRecord
from hub.store.schema import source_records
from hub.store.sealed import seal_json, source_key

SUPPRESSED_REASONS = '["suppressed"]'  # value-free: which identifier matched is not said either
SUPPRESSED_STAGE = "suppression"
CONSENT_COLUMNS = ("subject", "purpose", "status", "basis", "separate", "jurisdiction", "channel",
                   "source_connection", "source_record", "effective_from", "expires_at", "recorded_by",
                   "recorded_at")


@dataclass
class Stored:
    counts: BatchCounts
    quarantined: int
    consents: int


def store_batch(conn: Connection, connection: str, stream: str, good: Sequence[GoodRecord],
                bad: Sequence[BadRecord], run_id: int, now: datetime, *, resolve: bool = True) -> Stored:
    """Write ``good`` and ``bad`` (tuples from ``StreamProcessor.process``) of one stream."""
    good, suppressed = split_suppressed(conn, connection, stream, good)
    bad = [*bad, *suppressed]
    counts = records.write_records(conn, connection, stream, good, run_id, now)
    if good:
        failpoint("ingest.mid_batch")
    consents = capture_consents(conn, connection, stream, good, counts, now)
    if bad:
        records.write_quarantine(conn, connection, stream, bad, run_id, now)
    if good and resolve:
        records.resolve_quarantined(conn, connection, stream, [g[0] for g in good], now)
    return Stored(counts, len(bad), consents)


def split_suppressed(conn: Connection, connection: str, stream: str,
                     good: Sequence[GoodRecord]) -> tuple[list[GoodRecord], list[BadRecord]]:
    """(records to store, quarantine rows of the records whose identifiers are suppressed)."""
    if not good or not suppression_in_use(conn):
        return list(good), []
    good = [g if g[4] is not None else _with_digests(connection, stream, g) for g in good]
    wanted = {digest for g in good for digest in g[4]}
    if not wanted:
        return good, []
    t = privacy_suppression
    hits: set[tuple[str, str]] = set()
    pairs = list(wanted)
    for start in range(0, len(pairs), 500):
        chunk = pairs[start:start + 500]
        hits.update(tuple(r) for r in conn.execute(select(t.c.kind, t.c.digest).where(
            tuple_(t.c.kind, t.c.digest).in_(chunk))))
    if not hits:
        return list(good), []
    keep, dropped = [], []
    for g in good:
        if hits.intersection(g[4]):
            # The erased person's payload is not kept, not even sealed: only that a record came.
            empty = seal_json("quarantine", "raw", source_key(connection, stream, g[0]), "{}")
            dropped.append(BadRecord(g[0], g[1], empty, SUPPRESSED_REASONS, SUPPRESSED_STAGE))
        else:
            keep.append(g)
    return keep, dropped


def suppression_in_use(conn: Connection) -> bool:
    return bool(conn.execute(select(exists().select_from(privacy_suppression))).scalar())


def _with_digests(connection: str, stream: str, good: GoodRecord) -> GoodRecord:
    """A record processed while the suppression list was empty, with its digests (rare: opens it)."""
    canonical = records.open_canonical(connection, stream, good[0], good[3])
    return (*good[:4], suppression_digests(canonical), *good[5:])  # type: ignore[return-value]


def capture_consents(conn: Connection, connection: str, stream: str, good: Sequence[GoodRecord],
                     counts: BatchCounts, now: datetime) -> int:
    """Ledger rows for the consents of the records just inserted or updated (``counts.changed``);
    none twice.

    The subject and source record are ``record:<id>`` of the stored row. An unchanged record adds
    nothing, a changed record adds only events the ledger does not hold yet for it, and a new record
    all of its events (even where an erased record's row id came round again: those events were not
    this record's).
    """
    changed = counts.changed or []
    with_events = {g[0]: g[5] for g in good if len(g) > 5 and g[5]}
    new, rest = changed[:counts.inserted], changed
    subjects: dict[str, str] = {}
    if counts.inserted_ids is not None:  # ids of the new rows, as the insert gave them: look up the others
        subjects = {pk: f"record:{row_id}" for pk, row_id in zip(new, counts.inserted_ids, strict=True)
                    if pk in with_events}
        rest = changed[counts.inserted:]
    pks = [pk for pk in rest if pk in with_events]
    known: set[tuple[str, str, str, datetime]] = set()
    if pks:
        found = conn.execute(select(source_records.c.source_pk, source_records.c.id).where(
            source_records.c.connection == connection, source_records.c.stream == stream,
            in_values(conn.dialect, source_records.c.source_pk, "pks")),
            {"pks": values_param(conn.dialect, pks)}).all()
        ids = dict(found)  # .all(): one fetch, not one per row
        looked_up = {pk: f"record:{ids[pk]}" for pk in pks if pk in ids}
        subjects.update(looked_up)
        new_pks = set(new)
        known = _known_events(conn, [subject for pk, subject in looked_up.items() if pk not in new_pks])
    if not subjects:
        return 0
    ts = db_value(conn, privacy_consent_events.c.recorded_at, now)
    db_time = db_converter(conn, privacy_consent_events.c.effective_from)
    rows: list[tuple[Any, ...]] = []
    for pk, subject in subjects.items():
        for e in _distinct(with_events[pk]):
            if known and (subject, e[0], e[1], e[7]) in known:  # aware times: equal instants are equal
                continue
            expires = db_time(e[8]) if e[8] is not None else None
            rows.append((subject, *e[:7], subject, db_time(e[7]), expires, "ingest", ts))
    insert_rows(conn, privacy_consent_events, CONSENT_COLUMNS, rows)
    return len(rows)


def _distinct(events: Sequence[Any]) -> Sequence[Any]:
    """A record's events without repeats of one (purpose, status, time)."""
    if len(events) < 2:
        return events
    seen: dict[tuple[Any, ...], Any] = {}
    for e in events:
        seen.setdefault((e[0], e[1], e[7]), e)
    return list(seen.values())


def _known_events(conn: Connection, subjects: list[str]) -> set[tuple[str, str, str, datetime]]:
    c = privacy_consent_events.c
    known: set[tuple[str, str, str, datetime]] = set()
    for start in range(0, len(subjects), 2000):
        chunk = subjects[start:start + 2000]
        rows = conn.execute(select(c.subject, c.purpose, c.status, c.effective_from).where(
            in_values(conn.dialect, c.subject, "subjects")), {"subjects": values_param(conn.dialect, chunk)}).all()
        known.update((s, p, st, _utc(at)) for s, p, st, at in rows)
    return known


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
