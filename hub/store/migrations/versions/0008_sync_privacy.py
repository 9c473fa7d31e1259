"""Sync privacy: the yearly cross-border transfer register (distinct people sent abroad per destination).

Outbox payloads, outbox errors and row reasons become sealed ciphertexts in the existing Text
columns; webhook inbox payloads likewise. Values written before are read as plaintext until
``custhub keys rewrap`` (the one-off encrypt pass) seals them.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sync_transfers",
        sa.Column("destination", sa.String(200), nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("profile_id", sa.String(500), nullable=False),
        sa.Column("region", sa.String(8), nullable=False),
        sa.Column("first_sent_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("destination", "year", "profile_id"),
    )


def downgrade() -> None:
    op.drop_table("sync_transfers")
