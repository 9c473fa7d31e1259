"""Export the resolution: one row per stored source record (links), or the golden profiles."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import IO, Any

import orjson
from sqlalchemy import Connection, select

from hub.identity.storage import open_golden
from hub.identity.tables import identity_members, identity_profiles
from hub.store.schema import source_records

LINK_COLUMNS = ("connection", "stream", "source_pk", "profile_id")
PROFILE_COLUMNS = ("profile_id", "member_count", "name", "email", "phone", "employer", "city", "updated_at")


def iter_links(conn: Connection) -> Iterator[dict[str, Any]]:
    s, m = source_records.c, identity_members.c
    query = select(s.connection, s.stream, s.source_pk, m.profile_id).select_from(
        source_records.outerjoin(identity_members, m.record_id == s.id)).order_by(s.id)
    for row in conn.execute(query.execution_options(yield_per=10_000)):
        yield dict(zip(LINK_COLUMNS, row, strict=True))


def iter_profiles(conn: Connection) -> Iterator[dict[str, Any]]:
    p = identity_profiles.c
    query = select(p.id, p.member_count, p.golden, p.updated_at).where(p.status == "active").order_by(p.id)
    for pid, count, golden, updated in conn.execute(query.execution_options(yield_per=10_000)):
        yield {"profile_id": pid, "member_count": count, "updated_at": updated.isoformat() if updated else None,
               "golden": open_golden(pid, golden)}


def _flat(profile: dict[str, Any]) -> dict[str, Any]:
    golden = profile["golden"]
    fields = golden.get("fields", {})
    name = (fields.get("name") or {}).get("value") or {}
    first = lambda key, attr: ((golden.get(key) or [{}])[0].get("value") or {}).get(attr)  # noqa: E731
    return {"profile_id": profile["profile_id"], "member_count": profile["member_count"],
            "name": name.get("full") or " ".join(x for x in (name.get("family"), name.get("given")) if x),
            "email": first("emails", "address"), "phone": first("phones", "number"),
            "employer": (fields.get("employer") or {}).get("value"), "city": first("addresses", "city"),
            "updated_at": profile["updated_at"]}


def write(rows: Iterator[dict[str, Any]], out: IO[str], fmt: str, columns: tuple[str, ...] | None,
          flatten=None) -> int:  # noqa: ANN001
    """Write ``rows`` as CSV (``columns``) or JSON lines; returns the row count."""
    count = 0
    writer = csv.DictWriter(out, fieldnames=list(columns or ()), extrasaction="ignore") if fmt == "csv" else None
    if writer:
        writer.writeheader()
    for row in rows:
        if writer:
            writer.writerow(flatten(row) if flatten else row)
        else:
            out.write(orjson.dumps(row).decode() + "\n")
        count += 1
    return count


def export_links(conn: Connection, out: IO[str], fmt: str) -> int:
    return write(iter_links(conn), out, fmt, LINK_COLUMNS)


def export_profiles(conn: Connection, out: IO[str], fmt: str) -> int:
    return write(iter_profiles(conn), out, fmt, PROFILE_COLUMNS, flatten=_flat)
