"""Identity resolution (profiles, members, match keys, links, review queue, decisions).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "identity_profiles",
        sa.Column("id", Id, primary_key=True, autoincrement=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("merged_into", Id),
        sa.Column("member_count", sa.Integer, nullable=False),
        sa.Column("golden", sa.Text),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("run_id", Id),
    )
    op.create_index("ix_identity_profiles_status", "identity_profiles", ["status"])
    op.create_table(
        "identity_members",
        sa.Column("record_id", Id, primary_key=True, autoincrement=False),
        sa.Column("profile_id", Id, nullable=False),
        sa.Column("record_hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_identity_members_profile", "identity_members", ["profile_id"])
    op.create_table(
        "identity_keys",
        sa.Column("record_id", Id, nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("digest", sa.String(32), nullable=False),
        sa.Column("name_digest", sa.String(32)),
    )
    op.create_index("ix_identity_keys_digest", "identity_keys", ["digest"])
    op.create_index("ix_identity_keys_record", "identity_keys", ["record_id"])
    op.create_table(
        "identity_links",
        sa.Column("record_a", Id, nullable=False),
        sa.Column("record_b", Id, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("weight", sa.Float),
        sa.Column("evidence", sa.Text, nullable=False),
    )
    op.create_index("ix_identity_links_a", "identity_links", ["record_a"])
    op.create_index("ix_identity_links_b", "identity_links", ["record_b"])
    op.create_table(
        "identity_review",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("record_a", Id, nullable=False),
        sa.Column("record_b", Id, nullable=False),
        sa.Column("probability", sa.Float, nullable=False),
        sa.Column("weight", sa.Float, nullable=False),
        sa.Column("evidence", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("decided_at", TS),
    )
    op.create_index("ix_identity_review_pair", "identity_review", ["record_a", "record_b"])
    op.create_table(
        "identity_decisions",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("record_a", Id, nullable=False),
        sa.Column("record_b", Id, nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_identity_decisions_a", "identity_decisions", ["record_a"])
    op.create_table(
        "identity_state",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )


def downgrade() -> None:
    for table in ("identity_state", "identity_decisions", "identity_review", "identity_links", "identity_keys",
                  "identity_members", "identity_profiles"):
        op.drop_table(table)
