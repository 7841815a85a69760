"""Which result is pinned: at most one per person and channel, so a newer result
replaces the older pin, and no pin or unpin call is made that would change nothing.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("recommendations") as batch:
        batch.add_column(sa.Column("pinned", sa.Boolean, nullable=False, server_default=sa.false()))


def downgrade() -> None:
    # A plain DROP COLUMN (SQLite 3.35+), as in 0003: no table rebuild.
    op.drop_column("recommendations", "pinned")
