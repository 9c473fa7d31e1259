"""A covering index on source_records (id, record_hash) for identity resolution.

Each resolve run finds the records that are new or changed since their last resolution by
comparing every record's hash with the one it was resolved at. Without this index that reads the
whole table, whose rows carry the sealed raw and canonical records (gigabytes at a million records);
with it, a scan of the narrow index. Blind indexes and sealed golden profiles need no schema change
(the index version in use is kept in identity_state as ``bidx_version``).

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_source_records_resolve", "source_records", ["id", "record_hash"])


def downgrade() -> None:
    op.drop_index("ix_source_records_resolve", table_name="source_records")
