"""Write events into the inbox exactly once each, and read them back in commit order.

Payloads are sealed (``hub.store.sealed``) at the row key ``[provider, event_id]``, the natural key
known before the insert; ``read_events`` opens them (and reads rows stored before encryption).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite

from hub.inbox.tables import webhook_inbox
from hub.privacy.crypto import location_aad
from hub.privacy.rewrap import RewrapTarget, register_target
from hub.store.sealed import open_json, seal_json

# On PostgreSQL, inserts into the inbox take this transaction-level advisory lock, so ids become
# visible in increasing order and a reader that resumes "after id N" never skips a row that
# committed late. SQLite has a single writer already.
INBOX_LOCK_KEY = 7243103


@dataclass(frozen=True, slots=True)
class InboxEvent:
    provider: str
    form: str
    event_id: str
    payload: dict[str, Any]


def inbox_key(provider: str, event_id: str) -> list[str]:
    """The AAD row key of an inbox payload."""
    return [provider, event_id]


def _aad(column: str, row: Any) -> bytes:
    return location_aad("webhook_inbox", column, inbox_key(row["provider"], row["event_id"]))


INBOX_TARGET = RewrapTarget(table=webhook_inbox, key_column="id", value_columns=("payload",), aad=_aad)
register_target(INBOX_TARGET)


def stream_name(provider: str, form: str) -> str:
    """The inbox source's stream of one form: ``<provider>.<form>``."""
    return f"{provider}.{form}"


def record_events(conn: Connection, events: Sequence[InboxEvent]) -> int:
    """Insert ``events``, skipping any whose (provider, event_id) is stored already; returns how many were new."""
    if not events:
        return 0
    dialect = conn.dialect.name
    if dialect == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({INBOX_LOCK_KEY})")
        insert = postgresql.insert
    else:
        insert = sqlite.insert
    now = datetime.now(UTC)
    new = 0
    for event in events:
        stmt = insert(webhook_inbox).values(
            provider=event.provider, form=event.form, event_id=event.event_id, received_at=now,
            payload=seal_json("webhook_inbox", "payload", inbox_key(event.provider, event.event_id), event.payload),
        ).on_conflict_do_nothing(index_elements=["provider", "event_id"]).returning(webhook_inbox.c.id)
        new += conn.execute(stmt).first() is not None  # no row back: a replay
    return new


def read_events(conn: Connection, provider: str, form: str, after_id: int, limit: int) -> list[dict[str, Any]]:
    """Up to ``limit`` events of one form with an id above ``after_id``, oldest first."""
    rows = conn.execute(
        select(webhook_inbox.c.id, webhook_inbox.c.event_id, webhook_inbox.c.received_at, webhook_inbox.c.payload)
        .where(webhook_inbox.c.provider == provider, webhook_inbox.c.form == form, webhook_inbox.c.id > after_id)
        .order_by(webhook_inbox.c.id).limit(limit))
    return [{"inbox_id": row.id, "event_id": row.event_id, "received_at": _iso(row.received_at),
             "payload": open_json("webhook_inbox", "payload", inbox_key(provider, row.event_id), row.payload)}
            for row in rows]


def streams_in_inbox(conn: Connection) -> list[tuple[str, str]]:
    """Every (provider, form) that has events."""
    rows = conn.execute(select(webhook_inbox.c.provider, webhook_inbox.c.form).distinct())
    return sorted((provider, form) for provider, form in rows)


def _iso(value: datetime) -> str:
    if value.tzinfo is None:  # SQLite hands back naive UTC
        value = value.replace(tzinfo=UTC)
    return value.isoformat(timespec="seconds")
