"""Send the outbox of one destination: batches, retries, splits, the breaker, and settling.

At-least-once with idempotent effect: a batch is sent, then settled in one transaction (outbox row
status, the link's external id and last sent hash, the per-row result). A crash between the two
(the ack-lost window, failpoint ``sync.after_send``) leaves the rows pending; the next run resends
them and the CRM's upsert on the custhub id field keeps one record per profile.

Payloads are opened (``hub.sync.sealing``) only to be sent; errors and reasons are stored sealed.
An acknowledged erasure (kind ``erase`` or ``anonymise``, ``hub.sync.erase``) removes the profile's
link instead of saving one. For a destination abroad (``cross_border``), every person created or
updated there is entered once per year in ``sync_transfers`` (the PIPL yearly counter).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from hub.failpoints import failpoint
from hub.store import Store
from hub.store.bulk import db_value, insert_rows, update_rows
from hub.sync.breaker import CircuitBreaker
from hub.sync.destination import OutRow, RowResult, Writer
from hub.sync.errors import DestinationUnavailable, RateLimited, Transient
from hub.sync.links import save_links
from hub.sync.retry import RetryPolicy, deliver
from hub.sync.sealing import open_payload, seal_error, seal_reason
from hub.sync.tables import sync_links, sync_outbox, sync_results, sync_transfers

log = logging.getLogger("custhub.sync")
READ_AHEAD = 20  # batches read per query
ERASE_KINDS = ("erase", "anonymise")
COUNTER = {"create": "created", "delete": "deleted", "erase": "deleted"}
TRANSFER_KINDS = ("create", "update")
_INSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
# CRM error codes are stored in clear (reports group by them): identifiers or short numbers only.
_CODE = re.compile(r"-?\d{1,6}|[A-Za-z][A-Za-z0-9_.-]{0,99}")


def safe_code(code: str | None) -> str | None:
    """``code`` when it looks like an error code, else a placeholder (a destination must not put values there)."""
    return code if code is None or _CODE.fullmatch(code) else "UNRECOGNISED_CODE"


@dataclass
class Delivery:
    synced: int = 0
    created: int = 0
    updated: int = 0
    deleted: int = 0
    rejected: int = 0
    dead: int = 0
    failed: int = 0  # transient failures that outlasted their retries (rows stay pending)
    deferred: int = 0  # left for a later run (daily quota, open breaker)
    stopped: str | None = None  # why the run stopped early, value-free


def dispatch(store: Store, destination: str, writer: Writer, *, run_id: int, now: Callable[[], datetime],
             policy: RetryPolicy, breaker: CircuitBreaker, max_attempts: int = 5,
             progress: Callable[[int], None] | None = None, cross_border: str | None = None) -> Delivery:
    """Send every pending row of ``destination``; ``cross_border`` is the recipient's region when abroad."""
    result = Delivery()
    last_id = 0
    while result.stopped is None:
        rows = _pending(store, destination, last_id, now(), writer.batch_size * READ_AHEAD)
        if not rows:
            break
        for start in range(0, len(rows), writer.batch_size):
            batch = rows[start:start + writer.batch_size]
            last_id = batch[-1][0].outbox_id
            if not _send(store, destination, writer, batch, run_id, now, policy, breaker, max_attempts, result,
                         cross_border):
                break
            if progress:
                progress(len(batch))
    if result.stopped:
        result.deferred += _count_pending(store, destination)
    return result


def dispatch_rows(store: Store, destination: str, writer: Writer, outbox_ids: list[int], *, run_id: int,
                  now: Callable[[], datetime], policy: RetryPolicy, breaker: CircuitBreaker,
                  max_attempts: int = 5) -> Delivery:
    """Send exactly the pending rows ``outbox_ids`` (an erasure), with the same retries and settling."""
    result = Delivery()
    ob = sync_outbox.c
    with store.reading() as conn:
        found = conn.execute(_row_query().where(ob.id.in_(outbox_ids), ob.status == "pending")
                             .order_by(ob.id)).all()
    rows = [_row(destination, r) for r in found]
    for start in range(0, len(rows), writer.batch_size):
        if not _send(store, destination, writer, rows[start:start + writer.batch_size], run_id, now, policy,
                     breaker, max_attempts, result):
            break
    return result


def _send(store: Store, destination: str, writer: Writer, batch: list[tuple[OutRow, str, int, str]], run_id: int,
          now: Callable[[], datetime], policy: RetryPolicy, breaker: CircuitBreaker, max_attempts: int,
          result: Delivery, cross_border: str | None = None) -> bool:
    rows = [r for r, *_ in batch]
    try:
        breaker.before()
        results = deliver(writer.write, rows, policy,
                          lambda exc: RowResult.rejected(exc.code or "BATCH_REJECTED", str(exc)))
    except DestinationUnavailable as exc:
        result.stopped = str(exc)
        return False
    except RateLimited as exc:  # daily quota, or a wait too long to sleep here
        wait = exc.retry_after if exc.retry_after is not None else _seconds_to_midnight(now())
        _defer(store, destination, now() + timedelta(seconds=wait))
        result.stopped = f"rate limit ({exc.scope}): rest deferred by {wait:.0f}s"
        log.warning("destination %s: %s", destination, result.stopped)
        return False
    except Transient as exc:
        breaker.failure()
        _fail(store, destination, batch, run_id, now(), max_attempts, type(exc).__name__, str(exc), result)
        if breaker.state == "open":
            result.stopped = f"destination '{destination}' is failing ({type(exc).__name__}); circuit opened"
            return False
        return True
    breaker.success()
    failpoint("sync.after_send")
    with store.transaction() as conn:
        _settle(conn, destination, batch, results, run_id, now(), max_attempts, result, cross_border)
        failpoint("sync.before_commit")
    failpoint("sync.after_commit")
    return True


def _row_query():  # noqa: ANN202
    ob = sync_outbox.c
    return select(ob.id, ob.profile_id, ob.op, ob.payload, ob.external_id, ob.kind, ob.attempts, ob.payload_hash)


def _row(destination: str, r: Any) -> tuple[OutRow, str, int, str]:
    payload = open_payload(destination, r.profile_id, r.payload_hash, r.payload)
    return OutRow(r.id, r.profile_id, r.op, payload, r.external_id), r.kind, r.attempts, r.payload_hash


def _pending(store: Store, destination: str, after_id: int, now: datetime, limit: int) -> list:
    ob = sync_outbox.c
    with store.reading() as conn:
        found = conn.execute(_row_query().where(
            ob.destination == destination, ob.status == "pending", ob.id > after_id,
            ob.next_attempt_at <= now).order_by(ob.id).limit(limit)).all()
    return [_row(destination, r) for r in found]


def _settle(conn: Connection, destination: str, batch: list, results: list[RowResult], run_id: int,
            now: datetime, max_attempts: int, result: Delivery, cross_border: str | None = None) -> None:
    stamp = db_value(conn, sync_outbox.c.updated_at, now)
    outbox_updates, report, links, erased, abroad = [], [], [], [], []
    for (row, kind, attempts, h), res in zip(batch, results, strict=True):
        if res.status == "synced":
            status = "succeeded"
            result.synced += 1
            counter = COUNTER.get(kind, "updated")
            setattr(result, counter, getattr(result, counter) + 1)
            if kind in ERASE_KINDS:
                erased.append(row.profile_id)
            else:
                links.append((row.profile_id, res.external_id or row.external_id, kind, h))
            if cross_border and kind in TRANSFER_KINDS:
                abroad.append(row.profile_id)
        else:
            status = "dead" if attempts + 1 >= max_attempts else "rejected"
            setattr(result, status, getattr(result, status) + 1)
        code = safe_code(res.code)
        outbox_updates.append((status, attempts + 1, code, seal_error(destination, row.profile_id, h, res.reason),
                               run_id, stamp, row.outbox_id))
        report.append((run_id, row.outbox_id, row.profile_id, kind, "synced" if status == "succeeded" else status,
                       res.external_id or row.external_id, code, seal_reason(run_id, row.outbox_id, res.reason),
                       stamp))
    update_rows(conn, sync_outbox, ("status", "attempts", "error_code", "error", "run_id", "updated_at"), ("id",),
                outbox_updates)
    insert_rows(conn, sync_results, ("run_id", "outbox_id", "profile_id", "kind", "status", "external_id", "code",
                                     "reason", "at"), report)
    save_links(conn, destination, links, now)
    if erased:
        conn.execute(delete(sync_links).where(sync_links.c.destination == destination,
                                              sync_links.c.profile_id.in_(erased)))
    if abroad and cross_border:
        record_transfers(conn, destination, abroad, cross_border, now)


def record_transfers(conn: Connection, destination: str, profile_ids: list[str], region: str, now: datetime) -> None:
    """Enter each person sent abroad once per calendar year (the PIPL yearly counter)."""
    rows = [{"destination": destination, "year": now.year, "profile_id": pid, "region": region,
             "first_sent_at": now} for pid in dict.fromkeys(profile_ids)]
    stmt = _INSERT[conn.dialect.name](sync_transfers).on_conflict_do_nothing(
        index_elements=["destination", "year", "profile_id"])
    conn.execute(stmt, rows)


def transfers_this_year(conn: Connection, destination: str, year: int) -> int:
    """Distinct people sent to ``destination`` in ``year``."""
    t = sync_transfers.c
    return conn.execute(select(func.count()).select_from(sync_transfers).where(
        t.destination == destination, t.year == year)).scalar_one()


def _fail(store: Store, destination: str, batch: list, run_id: int, now: datetime, max_attempts: int, code: str,
          reason: str, result: Delivery) -> None:
    """Transient failure after retries: rows stay pending (or die after ``max_attempts``), retried later."""
    with store.transaction() as conn:
        stamp = db_value(conn, sync_outbox.c.updated_at, now)
        later = db_value(conn, sync_outbox.c.updated_at, now + timedelta(minutes=5))
        updates, report = [], []
        for row, kind, attempts, h in batch:
            status = "dead" if attempts + 1 >= max_attempts else "pending"
            result.dead += status == "dead"
            result.failed += status == "pending"
            updates.append((status, attempts + 1, code, seal_error(destination, row.profile_id, h, reason), later,
                            run_id, stamp, row.outbox_id))
            report.append((run_id, row.outbox_id, row.profile_id, kind, "dead" if status == "dead" else "retry",
                           row.external_id, code, seal_reason(run_id, row.outbox_id, reason), stamp))
        update_rows(conn, sync_outbox, ("status", "attempts", "error_code", "error", "next_attempt_at", "run_id",
                                        "updated_at"), ("id",), updates)
        insert_rows(conn, sync_results, ("run_id", "outbox_id", "profile_id", "kind", "status", "external_id",
                                         "code", "reason", "at"), report)


def _defer(store: Store, destination: str, until: datetime) -> None:
    ob = sync_outbox.c
    with store.transaction() as conn:
        conn.execute(update(sync_outbox).where(ob.destination == destination, ob.status == "pending").values(
            next_attempt_at=until))


def _count_pending(store: Store, destination: str) -> int:
    ob = sync_outbox.c
    with store.reading() as conn:
        return conn.execute(select(func.count()).select_from(sync_outbox).where(
            ob.destination == destination, ob.status == "pending")).scalar_one()


def _seconds_to_midnight(now: datetime) -> float:
    tomorrow = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (tomorrow - now).total_seconds()

