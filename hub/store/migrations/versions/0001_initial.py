"""Initial store: runs, source records, quarantine, stream state, connector config.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("finished_at", TS),
        sa.Column("records_read", sa.Integer, nullable=False),
        sa.Column("records_inserted", sa.Integer, nullable=False),
        sa.Column("records_updated", sa.Integer, nullable=False),
        sa.Column("records_unchanged", sa.Integer, nullable=False),
        sa.Column("records_quarantined", sa.Integer, nullable=False),
        sa.Column("error", sa.Text),
    )
    op.create_index("ix_runs_target_started", "runs", ["target", "started_at"])
    op.create_table(
        "run_streams",
        sa.Column("run_id", Id, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("stream", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("records_read", sa.Integer, nullable=False),
        sa.Column("records_inserted", sa.Integer, nullable=False),
        sa.Column("records_updated", sa.Integer, nullable=False),
        sa.Column("records_unchanged", sa.Integer, nullable=False),
        sa.Column("records_quarantined", sa.Integer, nullable=False),
        sa.Column("error", sa.Text),
        sa.PrimaryKeyConstraint("run_id", "stream"),
    )
    op.create_table(
        "source_records",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("connection", sa.String(200), nullable=False),
        sa.Column("stream", sa.String(200), nullable=False),
        sa.Column("source_pk", sa.String(500), nullable=False),
        sa.Column("record_hash", sa.String(64), nullable=False),
        sa.Column("raw", sa.Text, nullable=False),
        sa.Column("canonical", sa.Text, nullable=False),
        sa.Column("first_seen_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("run_id", Id, nullable=False),
        sa.UniqueConstraint("connection", "stream", "source_pk", name="uq_source_records_key"),
    )
    op.create_table(
        "quarantine",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("connection", sa.String(200), nullable=False),
        sa.Column("stream", sa.String(200), nullable=False),
        sa.Column("source_pk", sa.String(500), nullable=False),
        sa.Column("record_hash", sa.String(64), nullable=False),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("reasons", sa.Text, nullable=False),
        sa.Column("raw", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("first_seen_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("run_id", Id, nullable=False),
        sa.UniqueConstraint("connection", "stream", "source_pk", name="uq_quarantine_key"),
    )
    op.create_index("ix_quarantine_status", "quarantine", ["connection", "status"])
    op.create_table(
        "stream_state",
        sa.Column("connection", sa.String(200), nullable=False),
        sa.Column("stream", sa.String(200), nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("run_id", Id, nullable=False),
        sa.PrimaryKeyConstraint("connection", "stream"),
    )
    op.create_table(
        "connector_config",
        sa.Column("connection", sa.String(200), primary_key=True),
        sa.Column("config", sa.Text, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )


def downgrade() -> None:
    for table in ("connector_config", "stream_state", "quarantine", "source_records", "run_streams", "runs"):
        op.drop_table(table)
