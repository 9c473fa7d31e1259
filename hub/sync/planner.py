"""Change detection: diff every profile's outgoing payload against what was last SENT, into the outbox.

Runs in ONE transaction with the outbox writes, so a crash leaves either the whole plan or none.
An unchanged profile (same payload hash as the destination's link) costs nothing. A newer change
supersedes an unsent one, so only the latest payload of a profile is ever sent. Rejected rows go
back to pending on every later run until they succeed or die after ``max_attempts``.

The consent gate (``hub.sync.consent``) decides per profile; a profile the destination holds whose
consent is no longer granted gets the mapping's ``on_withdrawal`` update (an opt-out), and when the
mapping has none, the plan says so in a note instead of skipping it silently. Payloads are stored
sealed and hashed with the store's keyed ``content_hash`` (``hub.sync.sealing``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from hub.store.bulk import db_value, insert_rows, update_rows
from hub.sync.consent import ConsentGate
from hub.sync.outmap import OutMapping
from hub.sync.profiles import GoldenProfile
from hub.sync.sealing import payload_hash, seal_payload
from hub.sync.tables import sync_links, sync_outbox, sync_state

log = logging.getLogger("custhub.sync")
OPEN = ("pending", "rejected", "dead")
OP_OF_MODE = {"upsert": "upsert", "mirror": "upsert", "insert_only": "upsert", "update_only": "update"}
DELETE_HASH = "delete"
ERASE_KINDS = ("erase", "anonymise")  # queued by hub.sync.erase
KIND_COUNTER = {"create": "creates", "update": "updates", "delete": "deletes", "opt_out": "opt_outs"}


@dataclass(frozen=True)
class SyncTarget:
    name: str
    mode: str
    outmap: OutMapping
    purpose: str | None = None
    upstream_ok: bool = True  # False when an upstream ingest failed: mirror never deletes then
    max_attempts: int = 5
    gate: ConsentGate | None = None  # None: ``purpose`` alone (if any) under the default policy

    def consent_gate(self) -> ConsentGate | None:
        if self.gate is not None:
            return self.gate
        return ConsentGate((self.purpose,)) if self.purpose else None


@dataclass
class Plan:
    creates: int = 0
    updates: int = 0
    deletes: int = 0
    opt_outs: int = 0
    unchanged: int = 0
    skipped: int = 0  # not eligible: no consent, or not allowed by the mode
    still_queued: int = 0
    requeued: int = 0
    dead: int = 0
    profiles: int = 0
    blocked: dict[str, int] = field(default_factory=dict)  # "<purpose>:<reason>" -> profiles not sent
    withheld_opt_outs: int = 0  # held profiles without consent, and no on_withdrawal in the mapping
    notes: list[str] = field(default_factory=list)

    @property
    def to_send(self) -> int:
        return self.creates + self.updates + self.deletes + self.opt_outs


__all__ = ["DELETE_HASH", "Plan", "SyncTarget", "payload_hash", "plan_sync"]


def _target(profile: GoldenProfile, link: Any, t: SyncTarget, gate: ConsentGate | None, now: datetime,
            plan: Plan) -> tuple[str, str, dict] | None:
    """(op, kind, payload) the destination should hold for ``profile``, or None for nothing."""
    live = link is not None and link.status != "deleted"
    if gate is not None:
        decision = gate.decide(profile.id, profile.record, profile.record_ids, now)
        if not decision.granted:
            plan.blocked[decision.reason] = plan.blocked.get(decision.reason, 0) + 1
            if live and link.status in ("synced", "opted_out"):
                if t.outmap.on_withdrawal:
                    return ("update" if link.external_id else "upsert"), "opt_out", t.outmap.withdrawal(profile.id)
                plan.withheld_opt_outs += 1
            return None
    if t.mode == "insert_only" and live:
        return None
    if t.mode == "update_only" and not (live and link.external_id):
        return None
    kind = "update" if live else "create"
    return OP_OF_MODE[t.mode], kind, t.outmap.apply(profile.record, profile.id)


def plan_sync(conn: Connection, t: SyncTarget, profiles: Iterable[GoldenProfile], *, now: datetime,
              run_id: int | None, write: bool = True) -> Plan:
    """Diff ``profiles`` against the links of ``t`` and write the outbox rows (unless ``write`` is off)."""
    plan = Plan()
    links = {r.profile_id: r for r in conn.execute(select(sync_links).where(sync_links.c.destination == t.name))}
    ob = sync_outbox.c
    open_rows = {r.profile_id: r for r in conn.execute(
        select(ob.id, ob.profile_id, ob.payload_hash, ob.status, ob.op, ob.kind).where(
            ob.destination == t.name, ob.status.in_(OPEN)))}
    new_rows: list[tuple] = []
    supersede: list[int] = []
    requeue: list[int] = []
    seen: set[str] = set()
    gate = t.consent_gate()

    def queue(pid: str, op: str, kind: str, payload: dict, h: str, external_id: str | None) -> None:
        current = open_rows.get(pid)
        if current is not None:
            if current.payload_hash == h and current.op == op:
                if current.status == "rejected":
                    requeue.append(current.id)
                    plan.requeued += 1
                elif current.status == "dead":
                    plan.dead += 1
                else:
                    plan.still_queued += 1
                return
            supersede.append(current.id)
        counter = KIND_COUNTER[kind]
        setattr(plan, counter, getattr(plan, counter) + 1)
        new_rows.append((t.name, pid, op, kind, seal_payload(t.name, pid, h, payload), h, external_id))

    for profile in profiles:
        plan.profiles += 1
        seen.add(profile.id)
        link = links.get(profile.id)
        if (link is not None and link.status == "erasing") or (
                profile.id in open_rows and open_rows[profile.id].kind in ERASE_KINDS):
            plan.skipped += 1  # an erasure is on its way: never supersede it, never re-create the person
            continue
        target = _target(profile, link, t, gate, now, plan)
        if target is None:
            plan.skipped += 1
            if profile.id in open_rows:
                supersede.append(open_rows[profile.id].id)
            continue
        op, kind, payload = target
        h = payload_hash(payload)
        if link is not None and link.last_sent_hash == h and link.status in ("synced", "opted_out"):
            plan.unchanged += 1
            if profile.id in open_rows:
                supersede.append(open_rows[profile.id].id)
            continue
        queue(profile.id, op, kind, payload, h, link.external_id if link is not None else None)

    if t.mode == "mirror":
        for pid, link in _mirror_deletes(conn, t, links, seen, plan, now, write):
            queue(pid, "delete", "delete", {t.outmap.key: pid}, DELETE_HASH, link.external_id)
    if plan.withheld_opt_outs:
        plan.notes.append(f"{plan.withheld_opt_outs} profile(s) held by {t.name} no longer have consent, but "
                          f"mapping {t.outmap.name} has no on_withdrawal: add one to send the opt-out")
        log.warning("destination %s: %s", t.name, plan.notes[-1])
    if write:
        _write(conn, t, new_rows, supersede, requeue, now, run_id)
    return plan


def _mirror_deletes(conn: Connection, t: SyncTarget, links: dict, seen: set[str], plan: Plan, now: datetime,
                    write: bool) -> list[tuple[str, Any]]:
    """Records custhub created that have since left. Never on a first run, an empty or failed upstream."""
    baseline = conn.execute(select(sync_state.c.mirror_baseline_at).where(
        sync_state.c.destination == t.name)).scalar_one_or_none()
    if baseline is None:
        if write:
            conn.execute(insert(sync_state).values(destination=t.name, mirror_baseline_at=now, updated_at=now))
        plan.notes.append("first mirror run: baseline recorded, nothing deleted")
        return []
    gone = [(pid, link) for pid, link in links.items() if pid not in seen and link.created_by_custhub
            and link.status in ("synced", "opted_out")]
    if gone and not seen:
        plan.notes.append(f"upstream is empty: {len(gone)} delete(s) withheld")
        return []
    if gone and not t.upstream_ok:
        plan.notes.append(f"an upstream run failed: {len(gone)} delete(s) withheld")
        return []
    return gone


def _write(conn: Connection, t: SyncTarget, new_rows: list[tuple], supersede: list[int], requeue: list[int],
           now: datetime, run_id: int | None) -> None:
    ob = sync_outbox.c
    stamp = db_value(conn, ob.updated_at, now)
    if supersede:
        update_rows(conn, sync_outbox, ("status", "updated_at"), ("id",), [("superseded", stamp, i) for i in supersede])
    if requeue:
        update_rows(conn, sync_outbox, ("status", "next_attempt_at", "updated_at"), ("id",),
                    [("pending", stamp, stamp, i) for i in requeue])
    columns = ("destination", "profile_id", "op", "kind", "payload", "payload_hash", "external_id", "status",
               "attempts", "next_attempt_at", "run_id", "created_at", "updated_at")
    rows = [(*r, "pending", 0, stamp, run_id, stamp, stamp) for r in new_rows]
    for start in range(0, len(rows), 5000):
        insert_rows(conn, sync_outbox, columns, rows[start:start + 5000])
    if t.mode != "mirror":
        return
    conn.execute(update(sync_state).where(sync_state.c.destination == t.name).values(updated_at=now))
