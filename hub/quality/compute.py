"""Measure one store: every metric of the quality page, streamed, as value-free aggregates.

- completeness (connection, stream, field): stored records with the field / stored records.
- validity (connection, stream, field): records not quarantined for that field / (stored + open
  quarantine); field ``*`` is the whole stream (stored / (stored + open quarantine)).
- uniqueness (connection, ``*``, ``*``): distinct profiles / resolved records (1 - duplicate rate).
- consistency (connection, stream, field): among multi-source profiles (members from two or more
  (connection, stream) sources) where this source and another both give the field, the share where
  all sources agree.
- freshness (connection, stream, ``newest_record_hours``): hours since the newest record changed at the
  source (provenance ``updated_at``, else ``read_at``, else when it was stored); (connection, ``*``,
  ``last_success_hours``): hours since the last successful ingest run finished.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, func, select

from hub.identity.tables import identity_members
from hub.quality.fields import present, reason_field, split_path
from hub.quality.settings import CONSISTENCY_FIELDS
from hub.segments.golden_source import iter_golden
from hub.store import sealed
from hub.store.schema import quarantine, runs, source_records

YIELD = 5000


@dataclass(frozen=True, slots=True)
class Metric:
    connection: str
    stream: str
    metric: str
    field: str
    value: float
    numerator: int | None = None
    denominator: int | None = None


def aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _hours(now: datetime, then: datetime) -> float:
    return round(max(0.0, (now - then).total_seconds() / 3600), 3)


def _when(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return aware(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        return None


def measure_records(conn: Connection, connection: str, fields: Iterable[str], now: datetime) -> list[Metric]:
    """Completeness and record freshness of every stream of ``connection``: one streamed pass."""
    paths = [(name, split_path(name)) for name in fields]
    totals: dict[str, int] = defaultdict(int)
    names = [name for name, _ in paths]
    have: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(names, 0))
    newest: dict[str, datetime] = {}
    s = source_records.c
    query = select(s.stream, s.source_pk, s.canonical, s.updated_at).where(s.connection == connection)
    for stream, pk, stored, updated_at in conn.execute(query.execution_options(yield_per=YIELD)):
        record = sealed.open_json("source_records", "canonical", sealed.source_key(connection, stream, pk), stored)
        totals[stream] += 1
        counts = have[stream]
        for name, parts in paths:
            if present(record, parts):
                counts[name] += 1
        prov = record.get("provenance") or {}
        when = _when(prov.get("updated_at")) or _when(prov.get("read_at")) or aware(updated_at)
        if when is not None and (stream not in newest or when > newest[stream]):
            newest[stream] = when
    out = []
    for stream, total in sorted(totals.items()):
        out += [Metric(connection, stream, "completeness", name, n / total, n, total)
                for name, n in have[stream].items()]
        if stream in newest:
            out.append(Metric(connection, stream, "freshness", "newest_record_hours", _hours(now, newest[stream])))
    return out


def measure_validity(conn: Connection, connection: str, fields: Iterable[str]) -> list[Metric]:
    """Validity per stream and per field, from stored counts and the open quarantine's reasons."""
    s, q = source_records.c, quarantine.c
    stored = dict(conn.execute(select(s.stream, func.count()).where(s.connection == connection)
                               .group_by(s.stream)).all())
    bad: dict[str, int] = defaultdict(int)
    bad_fields: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    query = select(q.stream, q.source_pk, q.reasons).where(q.connection == connection, q.status == "open")
    for stream, pk, reasons in conn.execute(query.execution_options(yield_per=YIELD)):
        bad[stream] += 1
        listed = sealed.open_json("quarantine", "reasons", sealed.source_key(connection, stream, pk), reasons)
        for name in {reason_field(str(r)) for r in listed or ()}:
            if name != "*":
                bad_fields[stream][name] += 1
    out = []
    for stream in sorted(set(stored) | set(bad)):
        total = stored.get(stream, 0) + bad.get(stream, 0)
        out.append(Metric(connection, stream, "validity", "*", stored.get(stream, 0) / total, stored.get(stream, 0),
                          total))
        for name in sorted(set(fields) | set(bad_fields[stream])):
            good = total - bad_fields[stream].get(name, 0)
            out.append(Metric(connection, stream, "validity", name, good / total, good, total))
    return out


def measure_uniqueness(conn: Connection, connection: str) -> list[Metric]:
    s, m = source_records.c, identity_members.c
    records, profiles = conn.execute(
        select(func.count(), func.count(m.profile_id.distinct())).select_from(
            source_records.join(identity_members, m.record_id == s.id)).where(s.connection == connection)).one()
    if not records:
        return []
    return [Metric(connection, "*", "uniqueness", "*", profiles / records, profiles, records)]


def measure_last_success(conn: Connection, connection: str, now: datetime) -> list[Metric]:
    r = runs.c
    last = conn.execute(select(func.max(r.finished_at)).where(
        r.kind == "ingest", r.target == connection, r.status == "succeeded")).scalar_one_or_none()
    if last is None:
        return []
    return [Metric(connection, "*", "freshness", "last_success_hours", _hours(now, aware(last)))]


def _text(value: Any) -> str:
    return " ".join(str(value).split()).casefold() if value is not None else ""


def comparable(name: str, value: Any) -> str:
    """What counts as "the same value" across sources: names by their full form, organisations by name,
    text without case and extra spaces (cleaning already normalised width and script)."""
    if name == "person.name" and isinstance(value, dict):
        latin = value.get("latin") or {}
        full = value.get("full") or latin.get("full") or f"{value.get('family', '')}{value.get('given', '')}"
        return _text(full).replace(" ", "")
    if name == "organization" and isinstance(value, dict):
        return _text(value.get("name"))
    if isinstance(value, dict | list):
        return dumps(value)
    return _text(value)


def _field_entries(golden: dict[str, Any]) -> Iterable[tuple[str, dict[str, Any]]]:
    for name, entry in (golden.get("fields") or {}).items():
        yield f"person.{name}", entry
    if golden.get("organization"):
        yield "organization", golden["organization"]


def measure_consistency(conn: Connection, connections: set[str]) -> list[Metric]:
    """Consistency across sources, one pass over the profiles with two or more members."""
    compared: dict[tuple[str, str, str], int] = defaultdict(int)
    agreed: dict[tuple[str, str, str], int] = defaultdict(int)
    tracked = set(CONSISTENCY_FIELDS)
    for _pid, _status, _updated, golden in iter_golden(conn, min_members=2):
        all_sources = {(src["connection"], src["stream"]) for src in golden.get("sources") or ()}
        if len(all_sources) < 2 or not any(c in connections for c, _ in all_sources):
            continue
        for name, entry in _field_entries(golden):
            if name not in tracked:
                continue
            groups = [entry] + list(entry.get("alternatives") or ())
            giving = {(src["connection"], src["stream"]) for g in groups for src in g.get("sources") or ()}
            if len(giving) < 2:
                continue
            agree = len({comparable(name, g.get("value")) for g in groups}) == 1
            for source in giving:
                if source[0] in connections:
                    compared[(*source, name)] += 1
                    agreed[(*source, name)] += agree
    return [Metric(c, s, "consistency", f, agreed[(c, s, f)] / n, agreed[(c, s, f)], n)
            for (c, s, f), n in sorted(compared.items())]


def measure(conn: Connection, connections: Iterable[str], fields: Iterable[str],
            now: datetime | None = None) -> dict[str, list[Metric]]:
    """Every metric of each connection in ``connections``."""
    now = now or datetime.now(UTC)
    names = sorted(set(connections))
    fields = tuple(fields)
    out = {name: [*measure_records(conn, name, fields, now), *measure_validity(conn, name, fields),
                  *measure_uniqueness(conn, name), *measure_last_success(conn, name, now)] for name in names}
    for metric in measure_consistency(conn, set(names)):
        out[metric.connection].append(metric)
    return out


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()
