"""Quality metrics over time and segment membership (hub/quality/tables.py, hub/segments/tables.py),
and an index on identity_profiles.updated_at for incremental segment evaluation.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "quality_runs",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("connection", sa.String(200), nullable=False),
        sa.Column("run_id", Id),
        sa.Column("computed_at", TS, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reasons", sa.Text, nullable=False),
        sa.Column("seconds", sa.Float, nullable=False),
    )
    op.create_index("ix_quality_runs_connection", "quality_runs", ["connection", "id"])
    op.create_table(
        "quality_metrics",
        sa.Column("quality_run_id", Id, sa.ForeignKey("quality_runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("connection", sa.String(200), nullable=False),
        sa.Column("stream", sa.String(200), nullable=False),
        sa.Column("metric", sa.String(32), nullable=False),
        sa.Column("field", sa.String(100), nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("numerator", sa.Integer),
        sa.Column("denominator", sa.Integer),
        sa.PrimaryKeyConstraint("quality_run_id", "connection", "stream", "metric", "field"),
    )
    op.create_index("ix_quality_metrics_series", "quality_metrics",
                    ["connection", "metric", "field", "quality_run_id"])
    op.create_table(
        "segment_members",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("segment", sa.String(100), nullable=False),
        sa.Column("profile_id", Id, nullable=False),
        sa.Column("since", TS, nullable=False),
        sa.Column("until", TS),
    )
    op.create_index("ix_segment_members_current", "segment_members", ["segment", "until", "profile_id"])
    op.create_index("ix_segment_members_profile", "segment_members", ["profile_id", "until"])
    op.create_index("ix_identity_profiles_updated", "identity_profiles", ["updated_at"])
    op.create_table(
        "segment_state",
        sa.Column("segment", sa.String(100), primary_key=True),
        sa.Column("rule_hash", sa.String(32), nullable=False),
        sa.Column("watermark", TS),
        sa.Column("full_at", TS),
        sa.Column("evaluated_at", TS, nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("segment_state")
    op.drop_index("ix_identity_profiles_updated", "identity_profiles")
    op.drop_table("segment_members")
    op.drop_table("quality_metrics")
    op.drop_table("quality_runs")
