"""Privacy: key registry, rewrap checkpoints, audit log, consent ledger, suppression list.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "privacy_keys",
        sa.Column("kid", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("wrapped", sa.LargeBinary),
        sa.Column("kek_id", sa.String(32), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("retired_at", TS),
    )
    op.create_table(
        "privacy_rewrap",
        sa.Column("target", sa.String(200), primary_key=True),
        sa.Column("to_kid", sa.Integer, nullable=False),
        sa.Column("last_key", sa.Text),
        sa.Column("rows_done", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "privacy_audit_log",
        sa.Column("seq", Id, primary_key=True, autoincrement=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("role", sa.String(64), nullable=False),
        sa.Column("purpose", sa.String(64), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("subjects", sa.Text, nullable=False),
        sa.Column("fields", sa.Text, nullable=False),
        sa.Column("row_count", sa.Integer, nullable=False),
        sa.Column("request_id", sa.String(100)),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("prev_mac", sa.String(64), nullable=False),
        sa.Column("mac", sa.String(64), nullable=False),
    )
    op.create_index("ix_privacy_audit_actor_at", "privacy_audit_log", ["actor", "at"])
    op.create_table(
        "privacy_audit_checkpoints",
        sa.Column("seq", Id, nullable=False),
        sa.Column("mac", sa.String(64), nullable=False),
        sa.Column("exported_to", sa.Text, nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.PrimaryKeyConstraint("seq", "exported_to"),
    )
    op.create_table(
        "privacy_consent_events",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("subject", sa.String(120), nullable=False),
        sa.Column("purpose", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("basis", sa.String(32), nullable=False),
        sa.Column("separate", sa.Boolean, nullable=False),
        sa.Column("jurisdiction", sa.String(8), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("source_connection", sa.String(200)),
        sa.Column("source_record", sa.String(120)),
        sa.Column("notice_version", sa.String(64)),
        sa.Column("evidence", sa.Text),
        sa.Column("effective_from", TS, nullable=False),
        sa.Column("expires_at", TS),
        sa.Column("recorded_by", sa.String(120), nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
    )
    op.create_index("ix_privacy_consent_subject", "privacy_consent_events", ["subject", "purpose"])
    op.create_table(
        "privacy_suppression",
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("request_id", sa.String(100)),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("kind", "digest"),
    )


def downgrade() -> None:
    op.drop_index("ix_privacy_consent_subject", table_name="privacy_consent_events")
    op.drop_index("ix_privacy_audit_actor_at", table_name="privacy_audit_log")
    for table in ("privacy_suppression", "privacy_consent_events", "privacy_audit_checkpoints",
                  "privacy_audit_log", "privacy_rewrap", "privacy_keys"):
        op.drop_table(table)
