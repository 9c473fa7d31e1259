"""Tables of the privacy layer (created by migration 0005).

``privacy_keys`` holds wrapped keys only (the KEK never touches the database);
``privacy_rewrap`` the resumable checkpoint of each rewrap target; ``privacy_audit_log`` the
HMAC-chained audit entries and ``privacy_audit_checkpoints`` the heads exported outside the
database; ``privacy_consent_events`` the append-only consent ledger; ``privacy_suppression`` the
keyed blind-index entries of erased people. No table here holds a customer value in clear.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from hub.store.schema import Id, metadata

TS = DateTime(timezone=True)

privacy_keys = Table(
    "privacy_keys", metadata,
    Column("kid", Integer, primary_key=True, autoincrement=False),
    Column("purpose", String(16), nullable=False),  # data | index | audit
    Column("status", String(16), nullable=False),  # active | decrypt_only | retired
    Column("wrapped", LargeBinary),  # nonce || AES-GCM(KEK, key); NULL once destroyed
    Column("kek_id", String(32), nullable=False),  # which KEK wrapped it (a fingerprint, not the key)
    Column("created_at", TS, nullable=False),
    Column("retired_at", TS),
)

privacy_rewrap = Table(
    "privacy_rewrap", metadata,
    Column("target", String(200), primary_key=True),  # e.g. source_records.raw
    Column("to_kid", Integer, nullable=False),
    Column("last_key", Text),  # JSON of the last key column value done
    Column("rows_done", Integer, nullable=False),
    Column("status", String(16), nullable=False),  # running | done
    Column("updated_at", TS, nullable=False),
)

privacy_audit_log = Table(
    "privacy_audit_log", metadata,
    Column("seq", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=False),
    Column("at", TS, nullable=False),
    Column("actor", String(120), nullable=False),
    Column("role", String(64), nullable=False),
    Column("purpose", String(64), nullable=False),
    Column("action", String(32), nullable=False),
    Column("subjects", Text, nullable=False),  # JSON list of pseudonymous refs: profile:12, record:7
    Column("fields", Text, nullable=False),  # JSON list of field names, never values
    Column("row_count", Integer, nullable=False),
    Column("request_id", String(100)),
    Column("outcome", String(16), nullable=False),
    Column("prev_mac", String(64), nullable=False),
    Column("mac", String(64), nullable=False),
)
Index("ix_privacy_audit_actor_at", privacy_audit_log.c.actor, privacy_audit_log.c.at)

privacy_audit_checkpoints = Table(
    "privacy_audit_checkpoints", metadata,
    Column("seq", BigInteger().with_variant(Integer(), "sqlite"), nullable=False),
    Column("mac", String(64), nullable=False),
    Column("exported_to", Text, nullable=False),
    Column("at", TS, nullable=False),
    PrimaryKeyConstraint("seq", "exported_to"),
)

privacy_consent_events = Table(
    "privacy_consent_events", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("subject", String(120), nullable=False),  # profile:<id> or record:<id>
    Column("purpose", String(64), nullable=False),
    Column("status", String(16), nullable=False),  # granted | denied | withdrawn | unknown
    Column("basis", String(32), nullable=False),  # consent | contract | legal_obligation | legitimate_interest
    Column("separate", Boolean, nullable=False),  # PIPL 单独同意 given for this purpose
    Column("jurisdiction", String(8), nullable=False),  # CN | EU | US-CA | other
    Column("channel", String(32), nullable=False),
    Column("source_connection", String(200)),
    Column("source_record", String(120)),  # record:<id>, never the source's own key
    Column("notice_version", String(64)),
    Column("evidence", Text),  # JSON, value-free: form id, checkbox label
    Column("effective_from", TS, nullable=False),
    Column("expires_at", TS),
    Column("recorded_by", String(120), nullable=False),
    Column("recorded_at", TS, nullable=False),
)
Index("ix_privacy_consent_subject", privacy_consent_events.c.subject, privacy_consent_events.c.purpose)

privacy_suppression = Table(
    "privacy_suppression", metadata,
    Column("kind", String(32), nullable=False),  # email | phone | wechat_unionid | ...
    Column("digest", String(64), nullable=False),  # keyed blind index, own derived key
    Column("reason", String(32), nullable=False),  # erasure | objection | ...
    Column("request_id", String(100)),
    Column("created_at", TS, nullable=False),
    PrimaryKeyConstraint("kind", "digest"),
)

PRIVACY_TABLES = (privacy_keys, privacy_rewrap, privacy_audit_log, privacy_audit_checkpoints,
                  privacy_consent_events, privacy_suppression)
__all__ = ["PRIVACY_TABLES", "TS", "Id", *[t.name for t in PRIVACY_TABLES]]
