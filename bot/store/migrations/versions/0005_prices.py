"""Instance prices stored by `python -m bot prices refresh`, and the log of refreshes
whose newest id tells a running app that prices changed.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

UTC_TIME = sa.DateTime(timezone=True)  # bot.store.schema.UTCDateTime's column type

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "prices",
        sa.Column("instance_type", sa.String(64), primary_key=True),
        sa.Column("region", sa.String(32), primary_key=True),
        sa.Column("purchase", sa.String(32), primary_key=True),
        sa.Column("usd_per_hour", sa.Float, nullable=False),
        sa.Column("price_as_of", sa.Date, nullable=False),
        sa.Column("source_url", sa.String(500), nullable=False),
        sa.Column("source_title", sa.String(300), nullable=False),
        sa.Column("refresh_id", sa.Integer, nullable=False),
    )
    op.create_table(
        "price_refreshes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("refreshed_at", UTC_TIME, nullable=False),
        sa.Column("source", sa.String(300), nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("price_refreshes")
    op.drop_table("prices")
