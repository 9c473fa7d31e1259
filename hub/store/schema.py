"""Tables of the custhub store (SQLAlchemy Core). Alembic migrations in ``migrations/`` create them."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()
# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
Id = BigInteger().with_variant(Integer(), "sqlite")

runs = Table(
    "runs", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),  # ingest | retry | resolve | sync
    Column("target", String(200), nullable=False),  # connection or destination name
    Column("status", String(16), nullable=False),  # running | succeeded | partial | failed
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("records_read", Integer, nullable=False, default=0),
    Column("records_inserted", Integer, nullable=False, default=0),
    Column("records_updated", Integer, nullable=False, default=0),
    Column("records_unchanged", Integer, nullable=False, default=0),
    Column("records_quarantined", Integer, nullable=False, default=0),
    Column("error", Text),
)
Index("ix_runs_target_started", runs.c.target, runs.c.started_at)

run_streams = Table(
    "run_streams", metadata,
    Column("run_id", Id, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("stream", String(200), nullable=False),
    Column("status", String(16), nullable=False),
    Column("records_read", Integer, nullable=False, default=0),
    Column("records_inserted", Integer, nullable=False, default=0),
    Column("records_updated", Integer, nullable=False, default=0),
    Column("records_unchanged", Integer, nullable=False, default=0),
    Column("records_quarantined", Integer, nullable=False, default=0),
    Column("error", Text),
    PrimaryKeyConstraint("run_id", "stream"),
)

source_records = Table(
    "source_records", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("connection", String(200), nullable=False),
    Column("stream", String(200), nullable=False),
    Column("source_pk", String(500), nullable=False),
    Column("record_hash", String(64), nullable=False),  # keyed content hash (change detection)
    Column("raw", Text, nullable=False),  # sealed JSON of the record as the source sent it
    Column("canonical", Text, nullable=False),  # sealed JSON of the cleaned canonical record
    Column("first_seen_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("run_id", Id, nullable=False),
    UniqueConstraint("connection", "stream", "source_pk", name="uq_source_records_key"),
)

quarantine = Table(
    "quarantine", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("connection", String(200), nullable=False),
    Column("stream", String(200), nullable=False),
    Column("source_pk", String(500), nullable=False),
    Column("record_hash", String(64), nullable=False),
    Column("stage", String(16), nullable=False),  # source | map | clean | suppression
    Column("reasons", Text, nullable=False),  # JSON list of value-free reasons
    Column("raw", Text, nullable=False),  # sealed JSON ("{}" for a suppressed record: not kept)
    Column("status", String(16), nullable=False),  # open | resolved
    Column("first_seen_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("run_id", Id, nullable=False),
    UniqueConstraint("connection", "stream", "source_pk", name="uq_quarantine_key"),
)
Index("ix_quarantine_status", quarantine.c.connection, quarantine.c.status)

stream_state = Table(
    "stream_state", metadata,
    Column("connection", String(200), nullable=False),
    Column("stream", String(200), nullable=False),
    Column("state", Text, nullable=False),  # JSON of the Airbyte STATE message
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("run_id", Id, nullable=False),
    PrimaryKeyConstraint("connection", "stream"),
)

connector_config = Table(
    "connector_config", metadata,  # config a connector rotated itself (CONTROL messages)
    Column("connection", String(200), primary_key=True),
    Column("config", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
