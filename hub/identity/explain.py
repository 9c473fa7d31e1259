"""Explain and correct a profile: its members, the evidence of each link, each field's source;
and unmerge, which splits records out of a profile and remembers the split as cannot-links."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import Connection, or_, select

from hub.identity import review, storage
from hub.identity.resolver import ResolveSummary, resolve_records
from hub.identity.settings import IdentitySettings
from hub.identity.tables import identity_links, identity_members, identity_profiles
from hub.store.schema import source_records


def current_profile(conn: Connection, profile_id: int) -> tuple[int, list[int]]:
    """The active profile ``profile_id`` is (following merges), and the ids it went through."""
    p = identity_profiles.c
    chain = [profile_id]
    while True:
        row = conn.execute(select(p.status, p.merged_into).where(p.id == chain[-1])).first()
        if row is None:
            raise review.IdentityError(f"no profile {profile_id}")
        status, into = row
        if status != "merged" or into is None or into in chain:
            return chain[-1], chain
        chain.append(into)


def describe(conn: Connection, profile_id: int) -> dict[str, Any]:
    """Everything ``custhub profiles show`` prints (values only inside ``golden``)."""
    pid, chain = current_profile(conn, profile_id)
    p, m, s, k = identity_profiles.c, identity_members.c, source_records.c, identity_links.c
    row = conn.execute(select(p.status, p.member_count, p.golden, p.created_at, p.updated_at).where(
        p.id == pid)).first()
    members = conn.execute(select(s.id, s.connection, s.stream, s.source_pk).select_from(
        identity_members.join(source_records, s.id == m.record_id)).where(m.profile_id == pid).order_by(s.id)).all()
    ids = [r[0] for r in members]
    links = conn.execute(select(k.record_a, k.record_b, k.kind, k.weight, k.evidence).where(
        or_(k.record_a.in_(ids), k.record_b.in_(ids)))).all() if ids else []
    merged_in = [i for (i,) in conn.execute(select(p.id).where(p.merged_into == pid, p.status == "merged"))]
    return {"id": pid, "asked": profile_id, "via": chain[1:], "status": row.status, "member_count": row.member_count,
            "created_at": row.created_at, "updated_at": row.updated_at, "merged_in": merged_in,
            "members": [{"record_id": r[0], "connection": r[1], "stream": r[2], "source_pk": r[3]} for r in members],
            "links": [{"a": a, "b": b, "kind": kind, "weight": w, "evidence": orjson.loads(ev)}
                      for a, b, kind, w, ev in links],
            "golden": storage.open_golden(pid, row.golden)}


def unmerge(conn: Connection, settings: IdentitySettings, profile_id: int, record_ids: list[int]) -> ResolveSummary:
    """Split ``record_ids`` out of the profile: each of them gets a cannot-link to every other member,
    kept for all later runs; then the profile's records are linked again."""
    pid, _ = current_profile(conn, profile_id)
    members = storage.members_of(conn, [pid])
    unknown = [r for r in record_ids if r not in members]
    if unknown:
        raise review.IdentityError(f"record(s) {', '.join(map(str, unknown))} are not members of profile {pid}")
    rest = members - set(record_ids)
    if not rest:
        raise review.IdentityError("leave at least one record in the profile")
    for a in record_ids:
        for b in rest:
            review.add_decision(conn, a, b, "cannot_link", f"unmerge from profile {pid}")
    return resolve_records(conn, settings, members)
