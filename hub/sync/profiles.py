"""The seam between sync and identity resolution: where golden profiles come from.

Sync reads profiles only through ``iter_profiles``. Once identity resolution has run on the store
(``custhub resolve``, or ``custhub run``, which resolves after ingest), every active golden profile
is one profile, with its stable id, turned back into a canonical-shaped record: each single-valued
field its surviving value, each multi-valued field the union of the members' values, the
organisation, the interactions and the current consent per purpose and channel.

A store on which resolution has never run falls back to one profile per stored source record
(``id = "<connection>:<stream>:<source_pk>"``), so a sync without identity still works.

Both are sealed at rest: canonical records are opened with ``hub.store.sealed.open_json`` at their
source key, golden profiles through the identity module's reader (``open_golden``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, exists, select

from hub.identity.tables import identity_profiles
from hub.store.schema import source_records
from hub.store.sealed import open_json, source_key


@dataclass(frozen=True, slots=True)
class GoldenProfile:
    """One profile as sync sees it: a stable id, a canonical-shaped record and its last change."""

    id: str
    record: dict[str, Any]  # person / organization / consents / interactions, as in the canonical schema
    updated_at: datetime
    record_ids: tuple[int, ...] = ()  # source_records ids, when known (for consent ledger lookups)


def profile_id(connection: str, stream: str, source_pk: str) -> str:
    return f"{connection}:{stream}:{source_pk}"


def iter_profiles(conn: Connection) -> Iterator[GoldenProfile]:
    """Every profile, in a stable order: golden profiles once resolution has run, else one per record."""
    if conn.execute(select(exists().where(identity_profiles.c.id.isnot(None)))).scalar():
        from hub.segments.api import with_segment_tags  # segment names become tags (docs/segments.md)

        yield from with_segment_tags(conn, _golden_profiles(conn))
    else:
        yield from _record_profiles(conn)


def _golden_profiles(conn: Connection) -> Iterator[GoldenProfile]:
    p = identity_profiles.c
    query = select(p.id, p.golden, p.updated_at).where(p.status == "active").order_by(p.id)
    for pid, golden, updated_at in conn.execute(query.execution_options(yield_per=5000)):
        yield GoldenProfile(str(pid), record_from_golden(open_golden(pid, golden) if golden else {}), updated_at)


def open_golden(profile_id: int, stored: str) -> dict[str, Any]:
    """A stored golden profile (sealed at rest), opened through the identity module's reader."""
    from hub.identity.storage import open_golden as identity_open_golden  # imported when first needed

    return identity_open_golden(profile_id, stored)


def _record_profiles(conn: Connection) -> Iterator[GoldenProfile]:
    sr = source_records.c
    query = select(sr.id, sr.connection, sr.stream, sr.source_pk, sr.canonical, sr.updated_at).order_by(sr.id)
    for rid, connection, stream, pk, canonical, updated_at in conn.execute(query.execution_options(yield_per=5000)):
        record = open_json("source_records", "canonical", source_key(connection, stream, pk), canonical)
        yield GoldenProfile(profile_id(connection, stream, pk), record, updated_at, (rid,))


def record_from_golden(golden: dict[str, Any]) -> dict[str, Any]:
    """A golden profile (``hub.identity.golden``) as a canonical-shaped record."""
    person: dict[str, Any] = {name: field["value"] for name, field in (golden.get("fields") or {}).items()}
    for name in ("emails", "phones", "addresses", "crm_ids"):
        if golden.get(name):
            person[name] = [item["value"] for item in golden[name]]
    if golden.get("platform_ids"):
        person["platform_ids"] = {kind: values[0]["value"] for kind, values in golden["platform_ids"].items()}
    if golden.get("tags"):
        person["tags"] = [tag["value"] for tag in golden["tags"]]
    record: dict[str, Any] = {"person": person} if person else {}
    if golden.get("organization"):
        record["organization"] = golden["organization"]["value"]
    if golden.get("interactions"):
        record["interactions"] = [_without_source(i) for i in golden["interactions"]]
    current = (golden.get("consents") or {}).get("current")
    if current:
        record["consents"] = [_without_source(c) for c in current]
    return record


def _without_source(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k != "source"}
