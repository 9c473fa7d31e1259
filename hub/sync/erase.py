"""Erasure in destinations: remove (or anonymise) a person in every destination that may hold them.

``custhub privacy erase`` calls ``erase_in_destinations(store, config, profile_ids)`` with sync's
profile ids (those keyed in ``sync_links``). For each configured destination:

1. It chooses how: ``config.erasure`` (``delete`` | ``anonymise``) if set, else the first of the
   connector's ``erasure_capabilities`` (the built-in destinations delete; a destination that does
   not declare any is anonymised, which needs only the ``upsert``/``update`` every writer has).
2. In one transaction it removes every outbox row of those profiles for the destination and
   enqueues one outbox row each (kind ``erase``: op ``erase``; kind ``anonymise``: the mapping's
   ``anonymised`` payload) for profiles the destination may hold: a link, or a pending send whose
   acknowledgement may have been lost. The rows carry the CRM id and no personal value. Their links
   get the status ``erasing``: sync never sends such a profile again, and a later call finds them.
3. It sends them at once through the dispatcher (retries, ``Retry-After``, the breaker). An
   acknowledged erasure removes the link and the row. A failed one keeps its ``erasing`` link: the
   destination's next ``custhub sync`` run resends a row that is still pending, and calling this
   again (``custhub privacy erase`` once more) retries it even after the store's rows are gone.
4. It writes one value-free audit entry (action ``erase``) per destination.

The result is one ``DestinationErasure`` per destination: ``deleted``, ``anonymised``,
``not_present`` (nothing held there) or ``failed`` with a value-free detail.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from hub import plugins
from hub.config import Config
from hub.errors import ConfigError, CusthubError
from hub.privacy import audit
from hub.privacy.runtime import ensure_active
from hub.schedule import locks
from hub.store import Store
from hub.store.bulk import db_value, insert_rows
from hub.store.runs import StreamCounts, finish_run, start_run
from hub.sync.breaker import breaker_for
from hub.sync.dispatcher import dispatch_rows
from hub.sync.retry import RetryPolicy
from hub.sync.runner import sync_target
from hub.sync.sealing import payload_hash, seal_payload
from hub.sync.tables import sync_links, sync_outbox

log = logging.getLogger("custhub.sync")
ACTOR = "custhub-erase"
NOT_PRESENT = "NOT_PRESENT"
_REF = re.compile(r"[A-Za-z0-9_.-]{1,100}")
_INSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


@dataclass(frozen=True)
class DestinationErasure:
    destination: str
    status: str  # "deleted" | "anonymised" | "not_present" | "failed"
    detail: str = ""


def retry_policy() -> RetryPolicy:
    """The retries of an erasure's sends (tests replace it to avoid real sleeps)."""
    return RetryPolicy()


def erase_in_destinations(store: Store, config: Config, profile_ids: list[str]) -> list[DestinationErasure]:
    """Delete or anonymise ``profile_ids`` in every configured destination; one status per destination."""
    ensure_active(store.engine, config.privacy, config.base_dir)
    ids = list(dict.fromkeys(profile_ids))
    results = []
    for name in sorted(config.destinations):
        try:
            outcome = _erase(store, config, name, ids)
        except CusthubError as exc:  # value-free by the error tree's contract
            outcome = DestinationErasure(name, "failed", str(exc)), 0
        except Exception as exc:  # a bug in a plugin: report it, go on with the other destinations
            outcome = DestinationErasure(name, "failed", f"internal error ({type(exc).__name__})"), 0
        erasure, count = outcome
        _audit(store, name, ids, erasure, count)
        log.info("erasure in %s: %s", name, erasure.status)
        results.append(erasure)
    return results


def erasure_mode(config: Config, name: str) -> str:
    """``delete`` or ``anonymise`` for destination ``name``."""
    dest = config.destinations[name]
    connector = plugins.destination(dest.connector)
    capable = tuple(getattr(connector, "erasure_capabilities", ("anonymise",)))
    wanted = (dest.config or {}).get("erasure") or capable[0]
    if wanted not in capable:
        raise ConfigError(f"destination '{name}' cannot {wanted} records", path=f"destinations.{name}.config.erasure",
                          fix=f"use one of: {', '.join(capable)}")
    return wanted


def _erase(store: Store, config: Config, name: str, ids: list[str]) -> tuple[DestinationErasure, int]:
    mode = erasure_mode(config, name)
    target = sync_target(config, name)
    now = datetime.now(UTC)
    outbox_ids = _enqueue(store, name, ids, mode, target.outmap, now)
    if not outbox_ids:
        return DestinationErasure(name, "not_present", "no record of these profiles was sent there"), 0
    owner = locks.new_owner()
    if not locks.acquire(store, f"destination:{name}", owner):
        return DestinationErasure(name, "failed", f"{len(outbox_ids)} erasure(s) queued: the destination is "
                                                  "syncing now; its next sync run sends them"), 0
    try:
        dest = config.destinations[name]
        connector = plugins.destination(dest.connector)
        with store.transaction() as conn:
            run_id = start_run(conn, "erase", name)
        settings = {k: float(v) for k, v in dest.config.items() if k in ("fail_max", "reset_timeout")}
        writer = connector.open(config.resolve(dest.config), key_field=target.outmap.key)
        try:
            delivery = dispatch_rows(store, name, writer, outbox_ids, run_id=run_id, now=lambda: datetime.now(UTC),
                                     policy=retry_policy(), breaker=breaker_for(name, **settings),
                                     max_attempts=target.max_attempts)
        finally:
            writer.close()
        erasure, done = _outcome(store, name, outbox_ids, mode, delivery.stopped)
        with store.transaction() as conn:
            status = "succeeded" if erasure.status != "failed" else "partial"
            finish_run(conn, run_id, status, StreamCounts(read=len(outbox_ids), updated=done), erasure.detail or None)
        return erasure, done
    finally:
        locks.release(store, f"destination:{name}", owner)


def _enqueue(store: Store, name: str, ids: list[str], mode: str, outmap, now: datetime) -> list[int]:  # noqa: ANN001
    """Drop the profiles' outbox rows and links; queue one erasure row per profile the destination may hold."""
    ob, ln = sync_outbox.c, sync_links.c
    kind = "erase" if mode == "delete" else "anonymise"
    with store.transaction() as conn:
        links = {r.profile_id: r for r in conn.execute(select(ln.profile_id, ln.external_id, ln.status).where(
            ln.destination == name, ln.profile_id.in_(ids)))}
        pending = set(conn.execute(select(ob.profile_id).where(
            ob.destination == name, ob.profile_id.in_(ids), ob.status == "pending")).scalars())
        conn.execute(delete(sync_outbox).where(ob.destination == name, ob.profile_id.in_(ids)))
        stamp = db_value(conn, ob.updated_at, now)
        rows, erasing = [], []
        for pid in ids:
            link = links.get(pid)
            if link is None and pid not in pending:
                continue  # never sent there
            if kind == "anonymise" and link is not None and link.status == "deleted":
                continue  # the record was deleted already (mirror)
            external_id = link.external_id if link is not None else None
            if kind == "erase":
                op, payload = "erase", {outmap.key: pid}
            else:
                op, payload = ("update" if external_id else "upsert"), outmap.anonymised(pid)
            h = payload_hash({"kind": kind, **payload})
            rows.append((name, pid, op, kind, seal_payload(name, pid, h, payload), h, external_id, "pending", 0,
                         stamp, None, stamp, stamp))
            erasing.append((pid, external_id))
        kept = [pid for pid, _ in erasing]
        conn.execute(delete(sync_links).where(ln.destination == name, ln.profile_id.in_(ids),
                                              ln.profile_id.not_in(kept)))
        _mark_erasing(conn, name, erasing, now)
        insert_rows(conn, sync_outbox, ("destination", "profile_id", "op", "kind", "payload", "payload_hash",
                                        "external_id", "status", "attempts", "next_attempt_at", "run_id",
                                        "created_at", "updated_at"), rows)
        if not rows:
            return []
        return list(conn.execute(select(ob.id).where(ob.destination == name, ob.profile_id.in_(ids),
                                                     ob.kind == kind, ob.status == "pending")).scalars())


def _mark_erasing(conn: Connection, name: str, erasing: list[tuple[str, str | None]], now: datetime) -> None:
    """Links of the profiles being erased: status ``erasing`` (sync skips them), the CRM id kept."""
    if not erasing:
        return
    stmt = _INSERT[conn.dialect.name](sync_links)
    stmt = stmt.on_conflict_do_update(index_elements=["destination", "profile_id"],
                                      set_={"status": stmt.excluded.status})
    conn.execute(stmt, [{"destination": name, "profile_id": pid, "external_id": external_id, "status": "erasing",
                         "created_by_custhub": False, "last_synced_at": now} for pid, external_id in erasing])


def _outcome(store: Store, name: str, outbox_ids: list[int], mode: str,
             stopped: str | None) -> tuple[DestinationErasure, int]:
    """Read back the rows' statuses; remove the acknowledged ones."""
    ob = sync_outbox.c
    with store.transaction() as conn:
        rows = conn.execute(select(ob.id, ob.status, ob.error_code).where(ob.id.in_(outbox_ids))).all()
        done = [r.id for r in rows if r.status == "succeeded"]
        absent = sum(1 for r in rows if r.status == "succeeded" and r.error_code == NOT_PRESENT)
        failed = [r for r in rows if r.status != "succeeded"]
        if done:
            conn.execute(delete(sync_outbox).where(ob.id.in_(done)))
    erased = len(done) - absent
    if failed:
        codes = sorted({r.error_code or r.status for r in failed})
        why = stopped or ("still pending: the next sync run retries" if all(r.status == "pending" for r in failed)
                          else "refused")
        return DestinationErasure(name, "failed", f"{len(failed)} of {len(rows)} record(s) not erased "
                                                  f"({', '.join(codes)}; {why})"), erased
    if erased == 0:
        return DestinationErasure(name, "not_present", "the destination held no such record"), 0
    status = "deleted" if mode == "delete" else "anonymised"
    return DestinationErasure(name, status, f"{erased} record(s) {status}"), erased


def _audit(store: Store, name: str, ids: list[str], erasure: DestinationErasure, count: int) -> None:
    subjects = [f"destination:{name}"] if _REF.fullmatch(name) else []
    subjects += [f"profile:{pid}" for pid in ids if _REF.fullmatch(pid)]
    with store.transaction() as conn:
        audit.record(conn, actor=ACTOR, role="dpo", purpose="erasure", action="erase", subjects=subjects,
                     row_count=count, outcome=erasure.status)
