"""Tables and column types, as the code uses them.

Times are stored as UTC (naive on SQLite, ``timestamptz`` on PostgreSQL) and always
come back as timezone-aware UTC datetimes. JSON columns are plain text holding
``json.dumps`` output, so both databases store exactly the same bytes.

To change the schema: edit the tables below and add an Alembic revision that takes
a database there (`bot/store/migrations/versions`; `tests/store/test_migrations.py`
checks that the two agree).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """A datetime stored as UTC and returned timezone-aware (UTC)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}; the store only takes UTC-aware times")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class JSONText(TypeDecorator[Any]):
    """A JSON value kept as text (``json.dumps``; UTF-8, compact)."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> str | None:
        if value is None:
            return None
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    def process_result_value(self, value: str | None, dialect: sa.Dialect) -> Any:
        return None if value is None else json.loads(value)


metadata = sa.MetaData()

conversations = sa.Table(
    "conversations",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("team", sa.String(32), nullable=False),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("thread_ts", sa.String(32), nullable=True),
    sa.Column("user", sa.String(32), nullable=False),
    sa.Column("flow_name", sa.String(100), nullable=False),
    sa.Column("flow_hash", sa.String(128), nullable=False),
    sa.Column("record", JSONText, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    # Last outbox seq handed out; bumping it also locks the row (PostgreSQL).
    sa.Column("outbox_seq", sa.Integer, nullable=False, server_default="0"),
    # A link to the thread (chat.getPermalink of the root), once Slack gave one.
    sa.Column("permalink", sa.String(500), nullable=True),
    sa.Index("uq_conversations_thread", "team", "channel", "thread_ts", unique=True),
    sa.Index("ix_conversations_open", "team", "channel", "user", "status", "expires_at"),
    sa.Index("ix_conversations_person", "team", "user", "status"),
    sa.Index("ix_conversations_expiry", "status", "expires_at"),
)

outbox = sa.Table(
    "outbox",
    metadata,
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
    sa.Column("payload", JSONText, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", UTCDateTime, nullable=False),
    sa.Column("claimed_until", UTCDateTime, nullable=True),
    sa.Column("claim_token", sa.String(32), nullable=True),
    sa.Column("slack_ts", sa.String(32), nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("sent_at", UTCDateTime, nullable=True),
    # The workspace (and Enterprise Grid organisation) the row is sent to: the sender
    # sends it with that workspace's token. Copied from the conversation (and from
    # `workspace_enterprises`) when the row is queued.
    sa.Column("team", sa.String(32), nullable=True),
    sa.Column("enterprise", sa.String(32), nullable=True),
    # Delivery metadata (`OutboxMessage.meta`): whom to tell of a refusal, how long to
    # retry, ...; kept out of ``payload``, which holds only what Slack is sent.
    sa.Column("meta", JSONText, nullable=False, server_default="{}"),
    # The last attempt may have reached Slack: look for it before sending again.
    sa.Column("unconfirmed", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.UniqueConstraint("conversation_id", "seq", name="uq_outbox_conversation_seq"),
    sa.Index("ix_outbox_due", "status", "next_attempt_at"),
)

seen_events = sa.Table(
    "seen_events",
    metadata,
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("seen_at", UTCDateTime, nullable=False),
    sa.Index("ix_seen_events_seen_at", "seen_at"),
)

# The Enterprise Grid organisation of a workspace, as its requests name it: an org-wide
# installation's token is found by the organisation, and the rows queued for the
# workspace carry it. Workspaces outside Enterprise Grid have no row here.
workspace_enterprises = sa.Table(
    "workspace_enterprises",
    metadata,
    sa.Column("team", sa.String(32), primary_key=True),
    sa.Column("enterprise", sa.String(32), nullable=False),
)

recommendations = sa.Table(
    "recommendations",
    metadata,
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
    sa.Column("summary", JSONText, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    # Whether this result is its person's pinned one in its channel (at most one is).
    sa.Column("pinned", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Index("ix_recommendations_channel", "team", "channel", "created_at"),
    sa.Index("ix_recommendations_person", "team", "user", "created_at"),
)

# Instance prices stored by `python -m bot prices refresh` (bot/pricing/stored.py); the
# shipped snapshot in flows/ stays the default for what is not here.
prices = sa.Table(
    "prices",
    metadata,
    sa.Column("instance_type", sa.String(64), primary_key=True),
    sa.Column("region", sa.String(32), primary_key=True),
    sa.Column("purchase", sa.String(32), primary_key=True),
    sa.Column("usd_per_hour", sa.Float, nullable=False),
    sa.Column("price_as_of", sa.Date, nullable=False),
    sa.Column("source_url", sa.String(500), nullable=False),
    sa.Column("source_title", sa.String(300), nullable=False),
    sa.Column("refresh_id", sa.Integer, nullable=False),
)

# One row per refresh: its id is the prices' version, which a running app checks
# cheaply before each estimate to pick up new prices without a restart.
price_refreshes = sa.Table(
    "price_refreshes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("refreshed_at", UTCDateTime, nullable=False),
    sa.Column("source", sa.String(300), nullable=False),
    sa.Column("rows", sa.Integer, nullable=False),
)

# slack_sdk's OAuth stores (`bot.slack.installations`) keep installations, bot tokens
# and OAuth states in these tables of the app's database. They are declared here with
# slack_sdk's own builders so that migrations and the schema check know them.
INSTALLATIONS_TABLE = "slack_installations"
BOTS_TABLE = "slack_bots"
OAUTH_STATES_TABLE = "slack_oauth_states"


def _slack_tables(into: sa.MetaData) -> None:
    from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
    from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore

    SQLAlchemyInstallationStore.build_installations_table(into, INSTALLATIONS_TABLE)
    SQLAlchemyInstallationStore.build_bots_table(into, BOTS_TABLE)
    SQLAlchemyOAuthStateStore.build_oauth_states_table(into, OAUTH_STATES_TABLE)


_slack_tables(metadata)

# The next pacing slot of each channel, shared by every process posting to it
# (`bot.store.channel_slots`): ``next_at`` in seconds since the epoch (a float, so the
# same arithmetic runs on both databases).
channel_slots = sa.Table(
    "channel_slots",
    metadata,
    sa.Column("channel", sa.String(64), primary_key=True),
    sa.Column("next_at", sa.Float, nullable=False),
)
