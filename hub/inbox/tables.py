"""The ``webhook_inbox`` table (created by migration 0003)."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, String, Table, Text, UniqueConstraint

from hub.store.schema import Id, metadata

webhook_inbox = Table(
    "webhook_inbox", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),  # commit order: the inbox source's cursor
    Column("provider", String(32), nullable=False),  # typeform | facebook | jotform | generic | wechat
    Column("form", String(200), nullable=False),  # the form's name in the server config
    Column("event_id", String(200), nullable=False),  # the provider's id of the event (dedupe key)
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("payload", Text, nullable=False),  # JSON of the event as the provider sent it
    UniqueConstraint("provider", "event_id", name="uq_webhook_inbox_event"),
)
Index("ix_webhook_inbox_stream", webhook_inbox.c.provider, webhook_inbox.c.form, webhook_inbox.c.id)
