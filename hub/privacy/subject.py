"""A data subject in the store: found by profile id or through the blind indexes of an e-mail or phone.

``find_subject`` collects every profile (the active one and those merged into it), every source
record and every quarantine row that belongs to the person. Quarantine rows are not linked to
profiles, so they are found by source key (a record that was quarantined before it was fixed)
and by the person's identifiers appearing in the raw payload (decrypted here, compared after
normalisation, never logged). ``dsar_document`` builds the machine-readable access report.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, or_, select

from hub.privacy.suppression import identifiers_of, normalise_email, normalise_phone
from hub.privacy.tables import privacy_consent_events
from hub.store.records import open_canonical, open_quarantine_raw, open_raw
from hub.store.schema import quarantine, source_records

if TYPE_CHECKING:
    from hub.config import Config


@dataclass
class Subject:
    asked: str  # value-free description of the request: profile:12 | email lookup | phone lookup
    profile_ids: list[int] = field(default_factory=list)
    record_ids: list[int] = field(default_factory=list)
    quarantine_ids: list[int] = field(default_factory=list)
    lookups: set[tuple[str, str]] = field(default_factory=set)  # (kind, normalised value) asked for
    canonical: dict[int, dict[str, Any]] = field(default_factory=dict)  # record id -> canonical record
    inbox_events: list[tuple[str, str, str]] = field(default_factory=list)  # (provider, form, event id)

    @property
    def refs(self) -> list[str]:
        """Pseudonymous references for the audit log."""
        return [f"profile:{p}" for p in self.profile_ids] + [f"record:{r}" for r in self.record_ids]

    def identifiers(self) -> set[tuple[str, str]]:
        found = set(self.lookups)
        for record in self.canonical.values():
            found |= identifiers_of(record)
        return found


def _profile_family(conn: Connection, profile_id: int) -> list[int]:
    """``profile_id``, the profile it was merged into (if any) and every profile merged into that one."""
    from hub.identity.explain import current_profile
    from hub.identity.review import IdentityError
    from hub.identity.tables import identity_profiles as p

    try:
        top, chain = current_profile(conn, profile_id)
    except IdentityError:
        return []
    family, todo = {top, *chain}, [top]
    while todo:
        merged = [i for (i,) in conn.execute(select(p.c.id).where(p.c.merged_into.in_(todo)))]
        todo = [i for i in merged if i not in family]
        family.update(todo)
    return [top] + sorted(family - {top})


def _records_by_key(conn: Connection, kind: str, value: str) -> list[int]:
    from hub.identity.keys import key_digest
    from hub.identity.tables import identity_keys as k

    digest = key_digest(kind, value)
    return sorted({r for (r,) in conn.execute(select(k.c.record_id).where(k.c.kind == kind, k.c.digest == digest))})


def lookup_identifiers(email: str | None, phone: str | None, region: str) -> set[tuple[str, str]]:
    """The normalised identifiers of an e-mail / phone given on the command line."""
    from hub.cleaning.phones import to_e164
    from hub.cleaning.text import clean_text

    found = set()
    if email:
        found.add(("email", normalise_email(email)))
    if phone:
        e164 = to_e164(clean_text(phone), region) or normalise_phone(phone)
        found.add(("phone", e164))
    return found


def find_subject(conn: Connection, config: Config, *, profile_id: int | None = None, email: str | None = None,
                 phone: str | None = None) -> Subject:
    """Everything the store holds about one person (empty lists when nothing is found)."""
    from hub.identity import storage

    lookups = lookup_identifiers(email, phone, config.default_region)
    subject = Subject(asked=f"profile:{profile_id}" if profile_id is not None else
                      " and ".join(f"{kind} lookup" for kind, _ in sorted(lookups)), lookups=lookups)
    records: set[int] = set()
    profiles: list[int] = []
    if profile_id is not None:
        profiles = _profile_family(conn, profile_id)
    for kind, value in lookups:
        records.update(_records_by_key(conn, kind, value))
    if lookups and not records:
        # Role and shared addresses (info@, kefu@ ...) and placeholders are never match keys, so the
        # key index cannot find them: look through the records themselves (slow, but a request is rare).
        records.update(_records_by_scan(conn, lookups))
    if records:
        for pid in sorted(set(storage.memberships(conn, sorted(records)).values())):
            profiles += [p for p in _profile_family(conn, pid) if p not in profiles]
    if profiles:
        records |= storage.members_of(conn, profiles)
    subject.profile_ids = profiles
    subject.record_ids = sorted(records)
    inbox = {name for name, c in config.connections.items() if c.source == "inbox"}
    for rid, conn_name, stream, pk, stored in _source_rows(conn, subject.record_ids):
        subject.canonical[rid] = open_canonical(conn_name, stream, pk, stored)
        if conn_name in inbox and "." in stream:  # the webhook event it was read from
            provider, form = stream.split(".", 1)
            subject.inbox_events.append((provider, form, pk))
    subject.quarantine_ids = _quarantine_matches(conn, subject, config.default_region)
    return subject


def _records_by_scan(conn: Connection, lookups: set[tuple[str, str]]) -> set[int]:
    from hub.privacy.suppression import identifiers_of

    s = source_records.c
    found = set()
    query = select(s.id, s.connection, s.stream, s.source_pk, s.canonical).execution_options(yield_per=2000)
    for rid, conn_name, stream, pk, stored in conn.execute(query):
        if identifiers_of(open_canonical(conn_name, stream, pk, stored)) & lookups:
            found.add(rid)
    return found


def _source_rows(conn: Connection, record_ids: list[int]) -> Iterator[tuple]:
    s = source_records.c
    for start in range(0, len(record_ids), 500):
        part = record_ids[start:start + 500]
        yield from conn.execute(select(s.id, s.connection, s.stream, s.source_pk, s.canonical)
                                .where(s.id.in_(part)).order_by(s.id))


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


def _payload_identifiers(raw: Any, region: str) -> set[tuple[str, str]]:
    from hub.cleaning.phones import to_e164
    from hub.cleaning.text import clean_text

    found = set()
    for text in _strings(raw):
        text = text.strip()
        if not text:
            continue
        if "@" in text:
            found.add(("email", normalise_email(text)))
        elif sum(c.isdigit() for c in text) >= 7:
            e164 = to_e164(clean_text(text), region)
            if e164:
                found.add(("phone", e164))
        found.add(("id", text))
    return found


def _quarantine_matches(conn: Connection, subject: Subject, region: str) -> list[int]:
    """Quarantine rows of the person: same source key as one of their records, or one of their identifiers."""
    s, q = source_records.c, quarantine.c
    keys = {tuple(r) for r in conn.execute(select(s.connection, s.stream, s.source_pk).where(
        s.id.in_(subject.record_ids)))} if subject.record_ids else set()
    wanted = subject.identifiers()
    wanted_ids = {("id", v) for kind, v in wanted if kind not in ("email", "phone", "crm_id")}
    wanted |= wanted_ids
    if not wanted and not keys:
        return []
    found = []
    for qid, conn_name, stream, pk, stored in conn.execute(select(q.id, q.connection, q.stream, q.source_pk, q.raw)
                                                            .order_by(q.id)):
        if (conn_name, stream, pk) in keys:
            found.append(qid)
            continue
        try:
            raw = open_quarantine_raw(conn_name, stream, pk, stored)
        except ValueError:  # a payload that is not JSON: compare it as one string
            raw = stored
        if _payload_identifiers(raw, region) & wanted:
            found.append(qid)
    return found


# ----------------------------------------------------------------------------- access report

def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def dsar_document(conn: Connection, config: Config, subject: Subject, *, request_id: str) -> dict[str, Any]:
    """The machine-readable answer to an access request (GDPR Art. 15, PIPL Art. 45)."""
    from hub.identity.explain import describe
    from hub.sync.tables import sync_links

    profiles = []
    for pid in subject.profile_ids:
        info = describe(conn, pid)
        if info["id"] == pid:
            profiles.append({"profile_id": pid, "status": info["status"], "created_at": _iso(info["created_at"]),
                             "updated_at": _iso(info["updated_at"]), "golden": info["golden"]})
    s = source_records.c
    records = []
    for row in conn.execute(select(source_records).where(s.id.in_(subject.record_ids)).order_by(s.id)).mappings():
        key = (row["connection"], row["stream"], row["source_pk"])
        canonical = open_canonical(*key, row["canonical"])
        records.append({
            "record_id": row["id"],
            "lineage": {"connection": row["connection"], "stream": row["stream"], "source_pk": row["source_pk"],
                        "read_at": (canonical.get("provenance") or {}).get("read_at"),
                        "first_seen_at": _iso(row["first_seen_at"]), "updated_at": _iso(row["updated_at"])},
            "as_received": open_raw(*key, row["raw"]),
            "canonical": canonical})
    q = quarantine.c
    held = []
    for row in conn.execute(select(quarantine).where(q.id.in_(subject.quarantine_ids)).order_by(q.id)).mappings():
        key = (row["connection"], row["stream"], row["source_pk"])
        held.append({"quarantine_id": row["id"], "connection": row["connection"], "stream": row["stream"],
                     "source_pk": row["source_pk"], "stage": row["stage"], "status": row["status"],
                     "reasons": json.loads(row["reasons"]), "first_seen_at": _iso(row["first_seen_at"]),
                     "as_received": open_quarantine_raw(*key, row["raw"])})
    c = privacy_consent_events.c
    consents = [{k: _iso(v) for k, v in row.items() if k != "id"} for row in conn.execute(
        select(privacy_consent_events).where(or_(c.subject.in_(subject.refs), c.source_record.in_(
            [f"record:{r}" for r in subject.record_ids]))).order_by(c.id)).mappings()] if subject.refs else []
    recipients = []
    links = sync_links.c
    if subject.profile_ids:
        for row in conn.execute(select(sync_links).where(links.profile_id.in_([str(p) for p in subject.profile_ids]))
                                .order_by(links.destination)).mappings():
            dest = config.destinations.get(row["destination"])
            info = config.privacy.recipients.get(row["destination"])
            recipients.append({"destination": row["destination"], "connector": dest.connector if dest else None,
                               "purpose": dest.purpose if dest else None,
                               "region": info.region if info else config.privacy.region,
                               "relationship": info.relationship if info else "processor",
                               "external_id": row["external_id"], "status": row["status"],
                               "last_synced_at": _iso(row["last_synced_at"])})
    return {"request": {"id": request_id, "type": "access", "subject": subject.asked,
                        "generated_at": datetime.now(UTC).isoformat(), "controller": config.privacy.controller},
            "profiles": profiles, "source_records": records, "quarantine": held, "consents": consents,
            "recipients": recipients}
