"""Delete a person's rows from the store: used by erasure requests and by the retention purge.

``delete_people(conn, profile_ids, record_ids, quarantine_ids)`` removes source records with their
identity keys (blind indexes), links, review items and decisions, the profiles and their
memberships, quarantine rows, the webhook events records were read from, outbox rows and results,
and the rows of any other table keyed by
``profile_id`` / ``record_id`` (segments, ...). It keeps ``sync_links`` (the destination erasure
needs the external ids and marks them itself) and the PIPL cross-border register
``sync_transfers`` (pseudonymous counts the controller must keep). Consent events are deleted or
kept by ``privacy.erasure.consent_events``; they are value-free either way.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, Table, delete, or_

from hub.privacy.tables import privacy_consent_events
from hub.store.schema import metadata, quarantine, source_records

KEEP_TABLES = frozenset({"sync_links", "sync_transfers"})
_TABLE_MODULES = ("hub.identity.tables", "hub.sync.tables", "hub.inbox.tables", "hub.segments.tables")


@dataclass
class Deleted:
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, table: str, n: int) -> None:
        if n:
            self.counts[table] = self.counts.get(table, 0) + n

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _tables() -> list[Table]:
    for name in _TABLE_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:  # a module another step has not written yet
            continue
    return list(metadata.sorted_tables)


def _chunks(ids: Sequence, size: int = 500) -> list[Sequence]:
    return [ids[i:i + size] for i in range(0, len(ids), size)]


def _delete_in(conn: Connection, table: Table, columns: Sequence[str], ids: Sequence, out: Deleted) -> None:
    for part in _chunks(list(ids)):
        cond = or_(*(table.c[c].in_(part) for c in columns))
        out.add(table.name, conn.execute(delete(table).where(cond)).rowcount or 0)


def delete_people(conn: Connection, *, profile_ids: Sequence[int], record_ids: Sequence[int],
                  quarantine_ids: Sequence[int] = (), consent_events: str = "keep",
                  inbox_events: Sequence[tuple[str, str, str]] = ()) -> Deleted:
    """Delete the rows of these profiles, records, quarantine rows and webhook events; counts per table."""
    out = Deleted()
    profile_ids, record_ids = sorted(set(profile_ids)), sorted(set(record_ids))
    handled = {"source_records", "quarantine", "privacy_consent_events"}
    for table in _tables():
        if table.name in KEEP_TABLES or table.name in handled:
            continue
        cols = table.c
        if record_ids:
            record_cols = [c for c in ("record_id", "record_a", "record_b") if c in cols]
            if record_cols:
                _delete_in(conn, table, record_cols, record_ids, out)
        if profile_ids and "profile_id" in cols:
            as_text = cols["profile_id"].type.python_type is str
            _delete_in(conn, table, ["profile_id"], [str(p) if as_text else p for p in profile_ids], out)
        if profile_ids and table.name == "identity_profiles":
            _delete_in(conn, table, ["id", "merged_into"], profile_ids, out)
    if record_ids:
        _delete_in(conn, source_records, ["id"], record_ids, out)
    if quarantine_ids:
        _delete_in(conn, quarantine, ["id"], quarantine_ids, out)
    if inbox_events:
        from hub.inbox.tables import webhook_inbox as w

        for provider, form, event_id in inbox_events:
            out.add("webhook_inbox", conn.execute(delete(w).where(
                w.c.provider == provider, w.c.form == form, w.c.event_id == event_id)).rowcount or 0)
    if consent_events == "delete":
        refs = [f"profile:{p}" for p in profile_ids] + [f"record:{r}" for r in record_ids]
        if refs:
            _delete_in(conn, privacy_consent_events, ["subject", "source_record"], refs, out)
    return out
