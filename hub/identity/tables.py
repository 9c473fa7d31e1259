"""Identity tables (created by migration 0002; migration 0007 adds an index for finding pending records).

Edges are the source of truth, profiles are derived: ``identity_links`` holds every accepted
link with its evidence, ``identity_members`` which profile each source record belongs to,
``identity_keys`` the hashed match and blocking keys of each record (values only through
``hub.identity.keys.key_digest``), ``identity_decisions`` the human must-link / cannot-link
decisions that override every model, and ``identity_review`` the pairs waiting for one.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Float, Index, Integer, String, Table, Text

from hub.store.schema import Id, metadata, source_records

identity_profiles = Table(
    "identity_profiles", metadata,
    Column("id", Id, primary_key=True, autoincrement=False),
    Column("status", String(16), nullable=False),  # active | merged | retired
    Column("merged_into", Id),
    Column("member_count", Integer, nullable=False),
    Column("golden", Text),  # JSON: each field's value, source, rule and alternatives
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("run_id", Id),
)
Index("ix_identity_profiles_status", identity_profiles.c.status)

identity_members = Table(
    "identity_members", metadata,
    Column("record_id", Id, primary_key=True, autoincrement=False),  # source_records.id
    Column("profile_id", Id, nullable=False),
    Column("record_hash", String(64), nullable=False),  # the record version resolved
)
Index("ix_identity_members_profile", identity_members.c.profile_id)

identity_keys = Table(
    "identity_keys", metadata,
    Column("record_id", Id, nullable=False),
    Column("kind", String(24), nullable=False),  # email | phone | wechat_unionid | ... | b_name ...
    Column("digest", String(32), nullable=False),  # key_digest(kind, normalised value)
    Column("name_digest", String(32)),  # the record's name key, to tell shared keys from personal ones
)
Index("ix_identity_keys_digest", identity_keys.c.digest)
Index("ix_identity_keys_record", identity_keys.c.record_id)

identity_links = Table(
    "identity_links", metadata,
    Column("record_a", Id, nullable=False),
    Column("record_b", Id, nullable=False),
    Column("kind", String(16), nullable=False),  # key | match | manual
    Column("weight", Float),  # match weight (log2 odds) for probabilistic links
    Column("evidence", Text, nullable=False),  # JSON, value-free: key types or field levels
)
Index("ix_identity_links_a", identity_links.c.record_a)
Index("ix_identity_links_b", identity_links.c.record_b)

identity_review = Table(
    "identity_review", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("record_a", Id, nullable=False),
    Column("record_b", Id, nullable=False),
    Column("probability", Float, nullable=False),
    Column("weight", Float, nullable=False),
    Column("evidence", Text, nullable=False),
    Column("status", String(16), nullable=False),  # open | accepted | rejected | stale
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("decided_at", DateTime(timezone=True)),
)
Index("ix_identity_review_pair", identity_review.c.record_a, identity_review.c.record_b)

identity_decisions = Table(
    "identity_decisions", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("record_a", Id, nullable=False),
    Column("record_b", Id, nullable=False),
    Column("decision", String(16), nullable=False),  # must_link | cannot_link
    Column("reason", String(200), nullable=False),  # review accept/reject, unmerge
    Column("created_at", DateTime(timezone=True), nullable=False),
)
Index("ix_identity_decisions_a", identity_decisions.c.record_a)

# Finding new and changed records reads (id, record_hash) of every source record: from this narrow
# index rather than from the table, whose rows hold the sealed records (migration 0007).
Index("ix_source_records_resolve", source_records.c.id, source_records.c.record_hash)

identity_state = Table(
    "identity_state", metadata,  # the learned model and other resolver state, by name
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

TABLES = (identity_profiles, identity_members, identity_keys, identity_links, identity_review,
          identity_decisions, identity_state)
