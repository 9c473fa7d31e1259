"""Segment tables (created by migration 0009).

``segment_members``: one row per stay of a profile in a segment; ``until`` is NULL while it is a
member, set when it leaves (a later return opens a new row). ``segment_state``: per segment, the
hash of the rule last evaluated, the watermark of profile changes already seen, when all profiles
were last re-checked and the current size.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, Integer, String, Table

from hub.identity.tables import identity_profiles
from hub.store.schema import Id, metadata

segment_members = Table(
    "segment_members", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("segment", String(100), nullable=False),
    Column("profile_id", Id, nullable=False),
    Column("since", DateTime(timezone=True), nullable=False),
    Column("until", DateTime(timezone=True)),
)
Index("ix_segment_members_current", segment_members.c.segment, segment_members.c.until,
      segment_members.c.profile_id)
Index("ix_segment_members_profile", segment_members.c.profile_id, segment_members.c.until)

segment_state = Table(
    "segment_state", metadata,
    Column("segment", String(100), primary_key=True),
    Column("rule_hash", String(32), nullable=False),
    Column("watermark", DateTime(timezone=True)),  # identity_profiles.updated_at already evaluated
    Column("full_at", DateTime(timezone=True)),  # last evaluation of every active profile
    Column("evaluated_at", DateTime(timezone=True), nullable=False),
    Column("size", Integer, nullable=False),
)

# Incremental evaluation finds the profiles changed since its watermark through this index.
Index("ix_identity_profiles_updated", identity_profiles.c.updated_at)

TABLES = (segment_members, segment_state)
