"""A conversation's thread permalink, and indexes for one person's conversations and
results (the App Home and `history mine` ask by person, across channels).

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("permalink", sa.String(500), nullable=True))
    op.create_index("ix_conversations_person", "conversations", ["team", "user", "status"])
    op.create_index("ix_recommendations_person", "recommendations", ["team", "user", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_recommendations_person", "recommendations")
    op.drop_index("ix_conversations_person", "conversations")
    # A plain DROP COLUMN (SQLite 3.35+ has it): a batch rebuild would drop the table,
    # and with foreign keys on, SQLite cascades that into the outbox and the results.
    op.drop_column("conversations", "permalink")
