"""Webhook inbox.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "webhook_inbox",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("form", sa.String(200), nullable=False),
        sa.Column("event_id", sa.String(200), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.UniqueConstraint("provider", "event_id", name="uq_webhook_inbox_event"),
    )
    op.create_index("ix_webhook_inbox_stream", "webhook_inbox", ["provider", "form", "id"])


def downgrade() -> None:
    op.drop_index("ix_webhook_inbox_stream", table_name="webhook_inbox")
    op.drop_table("webhook_inbox")
