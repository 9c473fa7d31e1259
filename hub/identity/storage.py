"""Reads and writes of the identity tables (SQLite and PostgreSQL), bulk where a run is large.

Customer values are sealed at rest: source records' canonical JSON is read through
``hub.store.sealed.open_json`` (row key ``[connection, stream, source_pk]``, plaintext of older
rows reads as is) and golden profiles are sealed with the profile id as row key
(``seal_golden``/``open_golden``; a ``RewrapTarget`` is registered for key rotation). The other
identity tables hold no values: keys are blind indexes, links and review rows value-free evidence.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, delete, func, select, text, update

from hub.identity.features import Features
from hub.identity.golden import Member, parse_golden
from hub.identity.keys import plaintext_mode
from hub.identity.tables import (
    identity_decisions,
    identity_keys,
    identity_links,
    identity_members,
    identity_profiles,
    identity_state,
)
from hub.privacy.crypto import location_aad
from hub.privacy.rewrap import RewrapTarget, register_target
from hub.privacy.runtime import current
from hub.store.bulk import db_value, in_values, insert_rows, update_rows, values_param
from hub.store.schema import source_records
from hub.store.sealed import is_sealed, open_json, seal_text, source_key

CHUNK = 20_000
GOLDEN = ("identity_profiles", "golden")
register_target(RewrapTarget(table=identity_profiles, key_column="id", value_columns=("golden",),
                             aad=lambda column, row: location_aad("identity_profiles", column, row["id"])))


def open_canonical(connection: str, stream: str, source_pk: str, stored: str | bytes) -> Any:
    """A source record's canonical record (sealed or, written before encryption, plaintext)."""
    return open_json("source_records", "canonical", source_key(connection, stream, source_pk), stored)


def open_canonical_text(connection: str, stream: str, source_pk: str, stored: str | bytes) -> str | bytes:
    """The JSON text of a source record's canonical record: ``open_canonical`` without the parsing."""
    if is_sealed(stored):
        return current().open("source_records", "canonical", source_key(connection, stream, source_pk), stored)
    return stored


def seal_golden(profile_id: int, golden_json: str) -> str:
    """``golden_json`` (``golden.golden_text``, or plain JSON) sealed for its row."""
    if plaintext_mode():  # the benchmark's baseline without the privacy layer, never in production
        return golden_json
    return seal_text(*GOLDEN, int(profile_id), golden_json)


def open_golden(profile_id: int, stored: str | None) -> dict[str, Any]:
    """A stored golden profile as a dict (``{}`` when none is stored yet): the plain profile, also of a
    compact one (``golden.golden_text``)."""
    if not stored:
        return {}
    if is_sealed(stored):
        stored = current().open(*GOLDEN, int(profile_id), stored)
    return parse_golden(stored)
KEY_COLUMNS = ("record_id", "kind", "digest", "name_digest")
KEY_INDEXES = (("ix_identity_keys_digest", "digest"), ("ix_identity_keys_record", "record_id"))


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _ids_param(conn: Connection, ids: Sequence[int]) -> Any:
    return values_param(conn.dialect, [int(i) for i in ids])


def _id_in(conn: Connection, column, param: str = "ids"):  # noqa: ANN001, ANN202
    """``column IN (ids)`` with the ids bound as one parameter (integer columns)."""
    if conn.dialect.name == "sqlite":
        return in_values(conn.dialect, column, param)
    name = f"{column.table.name}.{column.name}"
    return text(f"{name} = ANY(CAST(:{param} AS BIGINT[]))")


def iter_records(conn: Connection, ids: Sequence[int] | None = None) -> Iterator[tuple]:
    """(id, connection, stream, source_pk, record_hash, canonical JSON) of all or of ``ids`` records."""
    cols = (source_records.c.id, source_records.c.connection, source_records.c.stream, source_records.c.source_pk,
            source_records.c.record_hash, source_records.c.canonical)
    if ids is None:
        result = conn.execute(select(*cols).order_by(source_records.c.id).execution_options(yield_per=CHUNK))
        yield from result
        return
    for part in chunks(sorted(ids)):
        yield from conn.execute(select(*cols).where(_id_in(conn, source_records.c.id)),
                                {"ids": _ids_param(conn, part)})


def iter_id_range(conn: Connection, lo: int, hi: int) -> Iterator[tuple]:
    """Like ``iter_records``, for the records with ``lo <= id < hi``."""
    s = source_records.c
    query = select(s.id, s.connection, s.stream, s.source_pk, s.record_hash, s.canonical).where(
        s.id >= lo, s.id < hi).order_by(s.id)
    yield from conn.execute(query)


def pending_record_ids(conn: Connection) -> list[int]:
    """Stored records never resolved, or changed since they were."""
    s, m = source_records, identity_members
    query = select(s.c.id).select_from(s.outerjoin(m, m.c.record_id == s.c.id)).where(
        (m.c.record_id.is_(None)) | (m.c.record_hash != s.c.record_hash))
    return [row[0] for row in conn.execute(query)]


def has_keys(conn: Connection) -> bool:
    return conn.execute(select(identity_keys.c.record_id).limit(1)).first() is not None


def record_count(conn: Connection) -> int:
    return conn.execute(select(func.count()).select_from(source_records)).scalar_one()


def load_state(conn: Connection, name: str) -> str | None:
    return conn.execute(select(identity_state.c.value).where(identity_state.c.name == name)).scalar_one_or_none()


def save_state(conn: Connection, name: str, value: str, now: datetime) -> None:
    changed = conn.execute(update(identity_state).where(identity_state.c.name == name).values(
        value=value, updated_at=now)).rowcount
    if not changed:
        conn.execute(identity_state.insert().values(name=name, value=value, updated_at=now))


def key_rows(features: Iterable[Features]) -> Iterator[tuple]:
    for f in features:
        for kind, _, digest in f.strong:
            yield (f.record_id, kind, digest, f.name_digest)
        for kind, digest in f.blocks:
            yield (f.record_id, kind, digest, None)


def copy_rows(conn: Connection, table: str, columns: Sequence[str], rows: Iterable[tuple]) -> None:
    """Bulk insert: COPY on PostgreSQL, a compiled multi-row INSERT on SQLite."""
    if conn.dialect.name == "postgresql":
        raw = conn.connection.driver_connection
        with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    from hub.identity.tables import TABLES

    target = next(t for t in TABLES if t.name == table)
    batch: list[tuple] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= CHUNK:
            insert_rows(conn, target, tuple(columns), batch)
            batch = []
    insert_rows(conn, target, tuple(columns), batch)


def key_rows_json(features: Iterable[Features]) -> str:
    """``key_rows`` of ``features`` as one JSON array of arrays (what ``replace_all_keys`` takes on SQLite)."""
    return orjson.dumps(list(key_rows(features))).decode()


# The rows of one JSON array, inserted by SQLite itself: one statement, which runs without the GIL.
# json_extract rather than ->> (SQLite 3.38+): the same SQL values, on any SQLite with JSON1.
_INSERT_KEYS_JSON = (f"INSERT INTO identity_keys ({', '.join(KEY_COLUMNS)}) SELECT "  # noqa: S608
                     + ", ".join(f"json_extract(value, '$[{i}]')" for i in range(len(KEY_COLUMNS)))
                     + " FROM json_each(?)")


def replace_all_keys(conn: Connection, features: Sequence[Features], key_json: Sequence[str] | None = None) -> None:
    """Replace every stored key with those of ``features``. ``key_json`` (SQLite only): the same rows as
    ``key_rows_json`` chunks, in order; each is inserted by one statement, so that the work runs
    outside the GIL while the calling thread's process goes on (see ``hub.identity.key_writer``)."""
    conn.execute(delete(identity_keys))
    for name, _ in KEY_INDEXES:
        conn.exec_driver_sql(f"DROP INDEX IF EXISTS {name}")
    if key_json is not None and conn.dialect.name == "sqlite":
        for part in key_json:
            conn.exec_driver_sql(_INSERT_KEYS_JSON, (part,))
    else:
        copy_rows(conn, "identity_keys", KEY_COLUMNS, key_rows(features))
    for name, column in KEY_INDEXES:
        conn.exec_driver_sql(f"CREATE INDEX {name} ON identity_keys ({column})")


def replace_keys(conn: Connection, features: Sequence[Features]) -> None:
    ids = [f.record_id for f in features]
    for part in chunks(ids):
        conn.execute(delete(identity_keys).where(_id_in(conn, identity_keys.c.record_id)),
                     {"ids": _ids_param(conn, part)})
    copy_rows(conn, "identity_keys", KEY_COLUMNS, key_rows(features))


def key_stats(conn: Connection, digests: Sequence[str]) -> dict[str, tuple[int, int]]:
    k = identity_keys.c
    out = {}
    for part in chunks(sorted(set(digests))):
        query = select(k.digest, func.count(), func.count(k.name_digest.distinct())).where(
            in_values(conn.dialect, k.digest, "ds")).group_by(k.digest)
        out.update({d: (n, names) for d, n, names in conn.execute(query, {"ds": values_param(conn.dialect, part)})})
    return out


def block_counts(conn: Connection, digests: Sequence[str]) -> dict[str, tuple[int, int]]:
    """``key_stats`` of blocking keys, whose rows carry no name: (holders, 0), read from the digest
    index alone."""
    k = identity_keys.c
    out = {}
    for part in chunks(sorted(set(digests))):
        query = select(k.digest, func.count()).where(in_values(conn.dialect, k.digest, "ds")).group_by(k.digest)
        out.update({d: (n, 0) for d, n in conn.execute(query, {"ds": values_param(conn.dialect, part)})})
    return out


def holders(conn: Connection, digests: Sequence[str]) -> set[int]:
    found: set[int] = set()
    for part in chunks(sorted(set(digests))):
        query = select(identity_keys.c.record_id).where(in_values(conn.dialect, identity_keys.c.digest, "ds"))
        found.update(r for (r,) in conn.execute(query, {"ds": values_param(conn.dialect, part)}))
    return found


def key_holders(conn: Connection, digests: Sequence[str]) -> list[tuple[str, int]]:
    """(digest, record id) of every stored key among ``digests``."""
    k = identity_keys.c
    found: list[tuple[str, int]] = []
    for part in chunks(sorted(set(digests))):
        query = select(k.digest, k.record_id).where(in_values(conn.dialect, k.digest, "ds"))
        found.extend((d, r) for d, r in conn.execute(query, {"ds": values_param(conn.dialect, part)}))
    return found


def memberships(conn: Connection, record_ids: Sequence[int] | None = None) -> dict[int, int]:
    m = identity_members.c
    if record_ids is None:
        return dict(conn.execute(select(m.record_id, m.profile_id)).all())
    out: dict[int, int] = {}
    for part in chunks(list(record_ids)):
        out.update(conn.execute(select(m.record_id, m.profile_id).where(_id_in(conn, m.record_id)),
                                {"ids": _ids_param(conn, part)}).all())
    return out


def members_of(conn: Connection, profile_ids: Sequence[int]) -> set[int]:
    m = identity_members.c
    found: set[int] = set()
    for part in chunks(list(profile_ids)):
        found.update(r for (r,) in conn.execute(select(m.record_id).where(_id_in(conn, m.profile_id)),
                                                 {"ids": _ids_param(conn, part)}))
    return found


def active_profiles(conn: Connection) -> list[int]:
    p = identity_profiles.c
    return [i for (i,) in conn.execute(select(p.id).where(p.status == "active"))]


def next_profile_id(conn: Connection) -> int:
    return (conn.execute(select(func.max(identity_profiles.c.id))).scalar_one() or 0) + 1


def decisions(conn: Connection, record_ids: set[int] | None) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """(must-link pairs, cannot-link pairs) among ``record_ids`` (all when None); the latest decision wins."""
    d = identity_decisions.c
    latest: dict[tuple[int, int], str] = {}
    for a, b, decision in conn.execute(select(d.record_a, d.record_b, d.decision).order_by(d.id)):
        if record_ids is None or (a in record_ids and b in record_ids):
            latest[(min(a, b), max(a, b))] = decision
    must = [p for p, v in latest.items() if v == "must_link"]
    cannot = [p for p, v in latest.items() if v == "cannot_link"]
    return must, cannot


def write_members(conn: Connection, rows: Sequence[tuple[int, int, str]], *, replace_all: bool) -> None:
    if replace_all:
        conn.execute(delete(identity_members))
    else:
        for part in chunks([r[0] for r in rows]):
            conn.execute(delete(identity_members).where(_id_in(conn, identity_members.c.record_id)),
                         {"ids": _ids_param(conn, part)})
    copy_rows(conn, "identity_members", ("record_id", "profile_id", "record_hash"), rows)


def write_links(conn: Connection, record_ids: Sequence[int], rows: Sequence[tuple], *, replace_all: bool) -> None:
    if replace_all:
        conn.execute(delete(identity_links))
    else:
        for part in chunks(list(record_ids)):
            p = {"ids": _ids_param(conn, part)}
            conn.execute(delete(identity_links).where(_id_in(conn, identity_links.c.record_a)), p)
            conn.execute(delete(identity_links).where(_id_in(conn, identity_links.c.record_b)), p)
    copy_rows(conn, "identity_links", ("record_a", "record_b", "kind", "weight", "evidence"), rows)


def write_profiles(conn: Connection, rows: Sequence[dict[str, Any]], now: datetime, run_id: int) -> None:
    """Upsert profile rows (id, status, merged_into, member_count, and the sealed golden record when a
    row has one); new ones get created_at ``now``."""
    p = identity_profiles.c
    existing: set[int] = set()
    for part in chunks([r["id"] for r in rows]):
        existing.update(i for (i,) in conn.execute(select(p.id).where(_id_in(conn, p.id)),
                                                    {"ids": _ids_param(conn, part)}))
    ts = db_value(conn, p.created_at, now)
    inserts = [(r["id"], r["status"], r.get("merged_into"), r["member_count"], r.get("golden"), ts, ts, run_id)
               for r in rows if r["id"] not in existing]
    copy_rows(conn, "identity_profiles", ("id", "status", "merged_into", "member_count", "golden", "created_at",
                                          "updated_at", "run_id"), inserts)
    columns = ("status", "merged_into", "member_count", "updated_at", "run_id")
    updates = [(r["status"], r.get("merged_into"), r["member_count"], ts, run_id, r["id"])
               for r in rows if r["id"] in existing and "golden" not in r]
    update_rows(conn, identity_profiles, columns, ("id",), updates)
    updates = [(r["status"], r.get("merged_into"), r["member_count"], ts, run_id, r["golden"], r["id"])
               for r in rows if r["id"] in existing and "golden" in r]
    update_rows(conn, identity_profiles, (*columns, "golden"), ("id",), updates)


def iter_profile_members(conn: Connection, profile_ids: Sequence[int] | None) -> Iterator[tuple[int, list[Member]]]:
    """(profile id, members) for each profile, members parsed from their canonical records."""
    m, s = identity_members.c, source_records.c
    base = select(m.profile_id, s.id, s.connection, s.stream, s.source_pk, s.canonical).select_from(
        identity_members.join(source_records, s.id == m.record_id))
    queries: list[tuple[Any, dict]] = []
    if profile_ids is None:
        queries.append((base.order_by(m.profile_id, m.record_id), {}))
    else:
        for part in chunks(sorted(profile_ids)):
            queries.append((base.where(_id_in(conn, m.profile_id)).order_by(m.profile_id, m.record_id),
                            {"ids": _ids_param(conn, part)}))
    for query, params in queries:
        current, members = None, []
        for pid, rid, connection, stream, pk, canonical in conn.execute(
                query.execution_options(yield_per=CHUNK), params):
            if pid != current:
                if members:
                    yield current, members
                current, members = pid, []
            members.append(Member(rid, connection, stream, pk, open_canonical(connection, stream, pk, canonical)))
        if members:
            yield current, members


def write_golden(conn: Connection, rows: Sequence[tuple[str, int]]) -> None:
    """Store golden JSON, sealed; ``rows`` are (golden JSON, profile id). (A full run on workers
    writes its sealed golden records with the profile rows: ``write_profiles``.)"""
    rows = [(seal_golden(pid, text), pid) for text, pid in rows]
    for part in chunks(rows):
        update_rows(conn, identity_profiles, ("golden",), ("id",), part)


def links_among(conn: Connection, record_ids: Sequence[int]) -> list[tuple[int, int, str, float | None, str]]:
    """Stored links whose two records are both in ``record_ids``."""
    wanted = set(record_ids)
    k = identity_links.c
    found = []
    for part in chunks(sorted(wanted)):
        for row in conn.execute(select(k.record_a, k.record_b, k.kind, k.weight, k.evidence).where(
                _id_in(conn, k.record_a)), {"ids": _ids_param(conn, part)}):
            if row[1] in wanted:
                found.append(tuple(row))
    return found
