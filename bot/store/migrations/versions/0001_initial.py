"""The schema as it stood when migrations began (frozen: later changes go in new
revisions, never here).

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)  # bot.store.schema.UTCDateTime's column type
JSON_TEXT = sa.Text()  # bot.store.schema.JSONText's column type


def upgrade() -> None:
    op.create_table(
        "schema_version",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
    )
    op.create_table(
        "conversations",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("team", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("thread_ts", sa.String(32), nullable=True),
        sa.Column("user", sa.String(32), nullable=False),
        sa.Column("flow_name", sa.String(100), nullable=False),
        sa.Column("flow_hash", sa.String(128), nullable=False),
        sa.Column("record", JSON_TEXT, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.Column("expires_at", UTC_TIME, nullable=False),
        sa.Column("outbox_seq", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_index(
        "uq_conversations_thread", "conversations", ["team", "channel", "thread_ts"], unique=True
    )
    op.create_index(
        "ix_conversations_open",
        "conversations",
        ["team", "channel", "user", "status", "expires_at"],
    )
    op.create_index("ix_conversations_expiry", "conversations", ["status", "expires_at"])
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "conversation_id",
            sa.String(32),
            sa.ForeignKey("conversations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("ref", sa.String(64), nullable=True),
        sa.Column("sets_thread", sa.Boolean, nullable=False),
        sa.Column("payload", JSON_TEXT, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", UTC_TIME, nullable=False),
        sa.Column("claimed_until", UTC_TIME, nullable=True),
        sa.Column("claim_token", sa.String(32), nullable=True),
        sa.Column("slack_ts", sa.String(32), nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("sent_at", UTC_TIME, nullable=True),
        sa.UniqueConstraint("conversation_id", "seq", name="uq_outbox_conversation_seq"),
    )
    op.create_index("ix_outbox_due", "outbox", ["status", "next_attempt_at"])
    op.create_table(
        "seen_events",
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("seen_at", UTC_TIME, nullable=False),
    )
    op.create_index("ix_seen_events_seen_at", "seen_events", ["seen_at"])
    op.create_table(
        "recommendations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "conversation_id",
            sa.String(32),
            sa.ForeignKey("conversations.id", ondelete="CASCADE"),
            nullable=False,
            unique=True,
        ),
        sa.Column("team", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("user", sa.String(32), nullable=False),
        sa.Column("flow_name", sa.String(100), nullable=False),
        sa.Column("summary", JSON_TEXT, nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
    )
    op.create_index(
        "ix_recommendations_channel", "recommendations", ["team", "channel", "created_at"]
    )


def downgrade() -> None:
    for table in ("recommendations", "seen_events", "outbox", "conversations", "schema_version"):
        op.drop_table(table)
