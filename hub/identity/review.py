"""The review queue and human decisions: pairs between the two thresholds wait here; accepting
one records a must-link, rejecting one a cannot-link, and both outlive every later run."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, bindparam, select, update

from hub.errors import CusthubError
from hub.identity.storage import _id_in, _ids_param, chunks
from hub.identity.tables import identity_decisions, identity_members, identity_review


class IdentityError(CusthubError):
    """A profile, record or review item that does not exist, or a request that cannot be done."""


def _pair(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


def queue_pairs(conn: Connection, pairs: Sequence[tuple[int, int, float, dict[str, Any]]], now: datetime) -> int:
    """Add pairs to the queue unless the pair is already queued or decided; returns how many were added."""
    if not pairs:
        return 0
    r = identity_review.c
    wanted = {_pair(a, b): (w, ev) for a, b, w, ev in pairs}
    records = sorted({x for p in wanted for x in p})
    known: dict[tuple[int, int], tuple[int, str]] = {}
    for part in chunks(records):
        for rid, a, b, status in conn.execute(select(r.id, r.record_a, r.record_b, r.status).where(
                _id_in(conn, r.record_a)), {"ids": _ids_param(conn, part)}):
            known[(a, b)] = (rid, status)
    inserts, updates = [], []
    for (a, b), (w, ev) in wanted.items():
        p = float(ev.get("p", 0.0))
        if (a, b) not in known:
            inserts.append({"record_a": a, "record_b": b, "probability": p, "weight": w,
                            "evidence": orjson.dumps(ev).decode(), "status": "open", "created_at": now})
        elif known[(a, b)][1] in ("open", "stale"):
            updates.append({"rid": known[(a, b)][0], "p": p, "w": w, "ev": orjson.dumps(ev).decode()})
    if inserts:
        conn.execute(identity_review.insert(), inserts)
    if updates:
        conn.execute(update(identity_review).where(r.id == bindparam("rid")).values(
            probability=bindparam("p"), weight=bindparam("w"), evidence=bindparam("ev"), status="open"), updates)
    return len(inserts)


def mark_stale(conn: Connection, record_ids: Sequence[int] | None, now: datetime) -> None:
    """Open items (of ``record_ids``; None: of every record) whose two records are now in one profile
    need no review any more."""
    r = identity_review.c
    a_member = identity_members.alias("ma")
    b_member = identity_members.alias("mb")
    query = select(r.id).select_from(identity_review.join(a_member, a_member.c.record_id == r.record_a).join(
        b_member, b_member.c.record_id == r.record_b)).where(
        r.status == "open", a_member.c.profile_id == b_member.c.profile_id)
    parts = [(query, {})] if record_ids is None else [
        (query.where(_id_in(conn, r.record_a)), {"ids": _ids_param(conn, part)}) for part in chunks(list(record_ids))]
    for part_query, params in parts:
        ids = [i for (i,) in conn.execute(part_query, params)]
        for some in chunks(ids):
            conn.execute(update(identity_review).where(r.id.in_(some)).values(status="stale", decided_at=now))


def add_decision(conn: Connection, a: int, b: int, decision: str, reason: str) -> None:
    a, b = _pair(a, b)
    conn.execute(identity_decisions.insert().values(record_a=a, record_b=b, decision=decision, reason=reason,
                                                     created_at=datetime.now(UTC)))


def decide(conn: Connection, review_id: int, accept: bool) -> tuple[int, int]:
    """Accept (must-link) or reject (cannot-link) a queued pair; returns its two record ids."""
    r = identity_review.c
    row = conn.execute(select(r.record_a, r.record_b, r.status).where(r.id == review_id)).first()
    if row is None:
        raise IdentityError(f"no review item {review_id}")
    a, b, _status = row
    add_decision(conn, a, b, "must_link" if accept else "cannot_link", "review " + ("accept" if accept else "reject"))
    conn.execute(update(identity_review).where(r.id == review_id).values(
        status="accepted" if accept else "rejected", decided_at=datetime.now(UTC)))
    return a, b


def list_items(conn: Connection, status: str, limit: int) -> list[dict[str, Any]]:
    r = identity_review.c
    a_member, b_member = identity_members.alias("ma"), identity_members.alias("mb")
    query = select(r.id, r.record_a, a_member.c.profile_id, r.record_b, b_member.c.profile_id, r.probability,
                   r.evidence).select_from(identity_review.outerjoin(a_member, a_member.c.record_id == r.record_a)
                                           .outerjoin(b_member, b_member.c.record_id == r.record_b)).where(
        r.status == status).order_by(r.probability.desc(), r.id).limit(limit)
    return [{"id": i, "record_a": a, "profile_a": pa, "record_b": b, "profile_b": pb, "probability": p,
             "evidence": orjson.loads(ev)} for i, a, pa, b, pb, p, ev in conn.execute(query)]


def decide_and_resolve(conn: Connection, settings, review_id: int, accept: bool):  # noqa: ANN001, ANN201
    """Record the decision, then link the two records' profiles again under it."""
    from hub.identity import storage
    from hub.identity.resolver import resolve_records  # the resolver uses this module: import late

    a, b = decide(conn, review_id, accept)
    profiles = set(storage.memberships(conn, [a, b]).values())
    return resolve_records(conn, settings, storage.members_of(conn, list(profiles)) | {a, b})
