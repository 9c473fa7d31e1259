"""Read segment membership: sizes, members, tags per profile, and the tags sync adds to profiles."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, desc, func, select

from hub.identity.storage import _id_in, _ids_param, chunks
from hub.segments.tables import segment_members, segment_state

BATCH = 5000


def aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def sizes(conn: Connection) -> dict[str, dict[str, Any]]:
    """Per evaluated segment: ``size`` (current members), ``evaluated_at`` and ``full_at``."""
    s = segment_state.c
    return {r.segment: {"size": r.size, "evaluated_at": aware(r.evaluated_at), "full_at": aware(r.full_at)}
            for r in conn.execute(select(s.segment, s.size, s.evaluated_at, s.full_at).order_by(s.segment))}


def members(conn: Connection, name: str, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
    """Current members of segment ``name`` (``profile_id``, ``since``), newest first, paged."""
    m = segment_members.c
    rows = conn.execute(select(m.profile_id, m.since).where(m.segment == name, m.until.is_(None))
                        .order_by(desc(m.since), m.profile_id).limit(limit).offset(offset))
    return [{"profile_id": pid, "since": aware(since)} for pid, since in rows]


def member_count(conn: Connection, name: str) -> int:
    m = segment_members.c
    return conn.execute(select(func.count()).where(m.segment == name, m.until.is_(None))).scalar_one()


def changes(conn: Connection, name: str, since: datetime) -> dict[str, int]:
    """How many profiles entered and left ``name`` since ``since``."""
    m = segment_members.c
    entered = conn.execute(select(func.count()).where(m.segment == name, m.since >= since)).scalar_one()
    left = conn.execute(select(func.count()).where(m.segment == name, m.until >= since)).scalar_one()
    return {"entered": entered, "left": left}


def segments_of(conn: Connection, profile_id: int) -> list[dict[str, Any]]:
    """Every stay of one profile in a segment (current ones with ``until`` None), newest first."""
    m = segment_members.c
    rows = conn.execute(select(m.segment, m.since, m.until).where(m.profile_id == profile_id)
                        .order_by(desc(m.since)))
    return [{"segment": s, "since": aware(a), "until": aware(b)} for s, a, b in rows]


def tags_for(conn: Connection, profile_ids: Sequence[int | str]) -> dict[str, list[str]]:
    """``{str(profile id): [segment name, ...]}`` for the profiles that are in a segment now (the name is
    the tag). Ids that are not numbers (profiles of a store without identity resolution) have none."""
    ids = sorted({int(p) for p in profile_ids if str(p).isdigit()})
    m = segment_members.c
    out: dict[str, list[str]] = {}
    for part in chunks(ids, BATCH):
        query = select(m.profile_id, m.segment).where(m.until.is_(None), _id_in(conn, m.profile_id))
        for pid, name in conn.execute(query.order_by(m.segment), {"ids": _ids_param(conn, part)}):
            out.setdefault(str(pid), []).append(name)
    return out


def with_segment_tags(conn: Connection, profiles: Iterable[Any]) -> Iterator[Any]:
    """Sync's profiles with their current segment tags added to ``person.tags`` (batched lookups).

    ``profiles`` are ``hub.sync.profiles.GoldenProfile`` objects; others pass through unchanged."""
    for batch in _batches(profiles):
        found = tags_for(conn, [p.id for p in batch])
        for profile in batch:
            extra = found.get(profile.id)
            if not extra:
                yield profile
                continue
            record = dict(profile.record)
            person = dict(record.get("person") or {})
            person["tags"] = list(dict.fromkeys([*(person.get("tags") or []), *extra]))
            record["person"] = person
            yield replace(profile, record=record)


def _batches(items: Iterable[Any]) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch
