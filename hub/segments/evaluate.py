"""Evaluate segments incrementally after identity resolution, and keep membership with since/until.

Per segment, in one transaction:
- new segment, changed rule, ``full=True``, or a time-based rule not fully re-checked for its
  ``recheck_hours``: every active profile is evaluated (streamed in chunks);
- otherwise only profiles changed since the segment's watermark (``identity_profiles.updated_at``,
  merged and retired ones included, which leave), plus, for time-based rules, the current members.
A profile entering opens a membership row (``since``), one leaving closes it (``until``). Segments
no longer configured are closed for everyone. Only the segment name and profile ids are stored.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, and_, func, insert, select, update

from hub.identity.storage import _id_in, _ids_param
from hub.identity.tables import identity_profiles
from hub.privacy.runtime import ensure_active
from hub.segments.golden_source import iter_golden
from hub.segments.rules import Subject
from hub.segments.settings import Segment
from hub.segments.tables import segment_members, segment_state
from hub.store.bulk import db_value, insert_rows, update_rows
from hub.sync.profiles import record_from_golden

if TYPE_CHECKING:
    from hub.config import Config
    from hub.store import Store

log = logging.getLogger("custhub.segments")
CHUNK = 2000


@dataclass
class SegmentChange:
    mode: str = "incremental"  # full | incremental | unchanged
    evaluated: int = 0
    entered: int = 0
    left: int = 0
    size: int = 0


@dataclass
class SegmentsSummary:
    segments: dict[str, SegmentChange] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)


def aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def subject_of(golden: dict[str, Any], now: datetime) -> Subject:
    connections = frozenset(s.get("connection") for s in golden.get("sources") or ())
    return Subject(record_from_golden(golden), connections, now)


def evaluate_segments(store: Store, config: Config, *, full: bool = False, now: datetime | None = None
                      ) -> SegmentsSummary:
    """Bring segment membership up to date with the golden profiles (see the module docstring)."""
    ensure_active(store.engine, config.privacy, config.base_dir)
    with store.transaction() as conn:
        return evaluate_in(conn, config.segments.segments, full=full, now=now)


def evaluate_in(conn: Connection, segments: Sequence[Segment], *, full: bool = False,
                now: datetime | None = None) -> SegmentsSummary:
    now = now or datetime.now(UTC)
    summary = SegmentsSummary(removed=_close_removed(conn, {s.name for s in segments}, now))
    states = {r.segment: r for r in conn.execute(select(segment_state))}
    high = aware(conn.execute(select(func.max(identity_profiles.c.updated_at))).scalar_one_or_none())
    whole, partial = [], []
    for seg in segments:
        state = states.get(seg.name)
        if full or state is None or state.rule_hash != seg.rule_hash or _recheck_due(seg, state, now):
            whole.append(seg)
        else:
            partial.append((seg, aware(state.watermark)))
    for seg in segments:
        summary.segments[seg.name] = SegmentChange(mode="full" if seg in whole else "incremental")
    if whole:
        _evaluate_all(conn, whole, now, summary)
    if partial:
        _evaluate_changed(conn, partial, now, summary)
    for seg in segments:
        change = summary.segments[seg.name]
        change.size = _size(conn, seg.name)
        _save_state(conn, seg, states.get(seg.name), high, now, change)
    return summary


def _recheck_due(seg: Segment, state: Any, now: datetime) -> bool:
    if not seg.time_based:
        return False
    done = aware(state.full_at)
    return done is None or now - done >= timedelta(hours=seg.recheck_hours)


def _close_removed(conn: Connection, configured: set[str], now: datetime) -> list[str]:
    m = segment_members.c
    gone = sorted({name for (name,) in conn.execute(select(segment_state.c.segment))} - configured)
    for name in gone:
        conn.execute(update(segment_members).where(m.segment == name, m.until.is_(None)).values(until=now))
        conn.execute(segment_state.delete().where(segment_state.c.segment == name))
    return gone


def _chunks(items: Iterable[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _evaluate_all(conn: Connection, segments: list[Segment], now: datetime, summary: SegmentsSummary) -> None:
    profiles = ((pid, subject_of(golden, now)) for pid, _status, _at, golden in iter_golden(conn))
    for chunk in _chunks(profiles):
        _apply(conn, segments, chunk, now, summary)
    # Members whose profile is no longer active (merged, retired, gone) leave.
    m, p = segment_members.c, identity_profiles.c
    active = select(p.id).where(p.status == "active")
    for seg in segments:
        left = conn.execute(update(segment_members).where(
            m.segment == seg.name, m.until.is_(None), m.profile_id.not_in(active)).values(until=now)).rowcount
        summary.segments[seg.name].left += left or 0


def _evaluate_changed(conn: Connection, partial: list[tuple[Segment, datetime | None]], now: datetime,
                      summary: SegmentsSummary) -> None:
    p, m = identity_profiles.c, segment_members.c
    since = min((w for _, w in partial if w is not None), default=None)
    query = select(p.id, p.updated_at)
    if since is not None:
        query = query.where(p.updated_at > since)
    changed = {pid: aware(at) for pid, at in conn.execute(query)}
    wanted: dict[str, set[int]] = {}
    for seg, mark in partial:
        ids = {pid for pid, at in changed.items() if mark is None or at is None or at > mark}
        if seg.time_based:
            ids.update(i for (i,) in conn.execute(select(m.profile_id).where(m.segment == seg.name,
                                                                               m.until.is_(None))))
        wanted[seg.name] = ids
    everyone = set().union(*wanted.values())
    if not everyone:
        return
    by_name = {seg.name: seg for seg, _ in partial}
    profiles = ((pid, subject_of(golden, now) if status == "active" else None)
                for pid, status, _at, golden in iter_golden(conn, sorted(everyone)))
    for chunk in _chunks(profiles):
        for name, ids in wanted.items():
            part = [(pid, subj) for pid, subj in chunk if pid in ids]
            if part:
                _apply(conn, [by_name[name]], part, now, summary)


def _apply(conn: Connection, segments: list[Segment], chunk: list[tuple[int, Subject | None]], now: datetime,
           summary: SegmentsSummary) -> None:
    """Evaluate ``segments`` on one chunk of profiles and write who entered and who left."""
    m = segment_members.c
    ids = [pid for pid, _ in chunk]
    current: dict[tuple[str, int], int] = {}
    names = [s.name for s in segments]
    query = select(m.id, m.segment, m.profile_id).where(m.until.is_(None), m.segment.in_(names),
                                                         _id_in(conn, m.profile_id))
    for row_id, name, pid in conn.execute(query, {"ids": _ids_param(conn, ids)}):
        current[(name, pid)] = row_id
    stamp = db_value(conn, m.since, now)
    enter, leave = [], []
    for seg in segments:
        change = summary.segments[seg.name]
        test = seg.compiled.test
        for pid, subject in chunk:
            change.evaluated += 1
            member = subject is not None and test(subject)
            row_id = current.get((seg.name, pid))
            if member and row_id is None:
                enter.append((seg.name, pid, stamp))
                change.entered += 1
            elif not member and row_id is not None:
                leave.append((stamp, row_id))
                change.left += 1
    insert_rows(conn, segment_members, ("segment", "profile_id", "since"), enter)
    update_rows(conn, segment_members, ("until",), ("id",), leave)


def _size(conn: Connection, name: str) -> int:
    m = segment_members.c
    return conn.execute(select(func.count()).where(and_(m.segment == name, m.until.is_(None)))).scalar_one()


def _save_state(conn: Connection, seg: Segment, state: Any, high: datetime | None, now: datetime,
                change: SegmentChange) -> None:
    values = {"rule_hash": seg.rule_hash, "watermark": high, "evaluated_at": now, "size": change.size}
    if change.mode == "full":
        values["full_at"] = now
    if state is None:
        conn.execute(insert(segment_state).values(segment=seg.name, **values))
    else:
        conn.execute(update(segment_state).where(segment_state.c.segment == seg.name).values(**values))
