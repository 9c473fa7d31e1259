"""The link table: per destination and profile, the CRM's id and the hash of what it acknowledged."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, func, or_
from sqlalchemy.dialects import postgresql, sqlite

from hub.sync.planner import DELETE_HASH
from hub.sync.tables import sync_links

_INSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def save_links(conn: Connection, destination: str, acked: list[tuple[str, str | None, str, str]],
               now: datetime) -> None:
    """Upsert links for acknowledged rows: (profile id, external id, kind, payload hash)."""
    if not acked:
        return
    rows = []
    for pid, external_id, kind, h in acked:
        status = {"delete": "deleted", "opt_out": "opted_out"}.get(kind, "synced")
        rows.append({"destination": destination, "profile_id": pid, "external_id": external_id,
                     "last_sent_hash": None if h == DELETE_HASH else h, "status": status,
                     "created_by_custhub": kind == "create", "last_synced_at": now})
    stmt = _INSERT[conn.dialect.name](sync_links)
    ex = stmt.excluded
    stmt = stmt.on_conflict_do_update(index_elements=["destination", "profile_id"], set_={
        "external_id": func.coalesce(ex.external_id, sync_links.c.external_id),
        "last_sent_hash": ex.last_sent_hash, "status": ex.status,
        "created_by_custhub": or_(sync_links.c.created_by_custhub, ex.created_by_custhub),
        "last_synced_at": ex.last_synced_at})
    conn.execute(stmt, rows)
