"""Sync out (destination links, outbox, sync runs).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sync_links",
        sa.Column("destination", sa.String(200), nullable=False),
        sa.Column("profile_id", sa.String(500), nullable=False),
        sa.Column("external_id", sa.String(200)),
        sa.Column("last_sent_hash", sa.String(64)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_by_custhub", sa.Boolean, nullable=False),
        sa.Column("last_synced_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("destination", "profile_id"),
    )
    op.create_table(
        "sync_outbox",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("destination", sa.String(200), nullable=False),
        sa.Column("profile_id", sa.String(500), nullable=False),
        sa.Column("op", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("payload_hash", sa.String(64), nullable=False),
        sa.Column("external_id", sa.String(200)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("error_code", sa.String(100)),
        sa.Column("error", sa.Text),
        sa.Column("run_id", Id),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index("ix_sync_outbox_open", "sync_outbox", ["destination", "status", "id"])
    op.create_table(
        "sync_results",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("run_id", Id, nullable=False),
        sa.Column("outbox_id", Id, nullable=False),
        sa.Column("profile_id", sa.String(500), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("external_id", sa.String(200)),
        sa.Column("code", sa.String(100)),
        sa.Column("reason", sa.Text),
        sa.Column("at", TS, nullable=False),
    )
    op.create_index("ix_sync_results_run", "sync_results", ["run_id"])
    op.create_table(
        "sync_state",
        sa.Column("destination", sa.String(200), primary_key=True),
        sa.Column("mirror_baseline_at", TS),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "run_locks",
        sa.Column("target", sa.String(250), primary_key=True),
        sa.Column("owner", sa.String(200)),
        sa.Column("expires_at", TS),
    )
    op.create_table(
        "schedule_jobs",
        sa.Column("job_id", sa.String(250), primary_key=True),
        sa.Column("trigger", sa.Text, nullable=False),
        sa.Column("next_run_at", TS),
        sa.Column("last_run_at", TS),
        sa.Column("last_status", sa.String(16)),
        sa.Column("updated_at", TS, nullable=False),
    )


def downgrade() -> None:
    for table in ("schedule_jobs", "run_locks", "sync_state", "sync_results", "sync_outbox", "sync_links"):
        op.drop_table(table)
