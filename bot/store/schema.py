"""Tables, column types and the schema-version upgrade path.

Times are stored as UTC (naive on SQLite, ``timestamptz`` on PostgreSQL) and always
come back as timezone-aware UTC datetimes. JSON columns are plain text holding
``json.dumps`` output, so both databases store exactly the same bytes.

To change the schema: edit the tables below, bump :data:`SCHEMA_VERSION`, and add
an idempotent ``_upgrade_to_<n>(conn)`` to :data:`UPGRADES` that takes a database
at version ``n - 1`` to version ``n`` (``ALTER TABLE ...``). Step 1 creates
whatever tables are missing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator

from bot.store.engine import write_transaction
from bot.store.errors import StoreConfigError

SCHEMA_VERSION = 1


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

schema_version = sa.Table(
    "schema_version",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

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
    sa.Index("uq_conversations_thread", "team", "channel", "thread_ts", unique=True),
    sa.Index("ix_conversations_open", "team", "channel", "user", "status", "expires_at"),
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
    sa.Index("ix_recommendations_channel", "team", "channel", "created_at"),
)


def _upgrade_to_1(conn: sa.Connection) -> None:
    metadata.create_all(conn, checkfirst=True)


UPGRADES: dict[int, Callable[[sa.Connection], None]] = {1: _upgrade_to_1}
"""Target version -> function taking the schema there from the version before."""


def ensure_schema(engine: sa.Engine) -> int:
    """Create or upgrade the tables and record the schema version; returns it.

    Safe to call from several processes at once: on SQLite the write transaction
    (BEGIN IMMEDIATE) serializes callers, on PostgreSQL a transaction-scoped
    advisory lock does.
    """
    with write_transaction(engine) as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('llm-cost-bot schema'))"))
        schema_version.create(conn, checkfirst=True)
        current = conn.execute(
            sa.select(schema_version.c.version).where(schema_version.c.id == 1)
        ).scalar()
        current = current or 0
        if current > SCHEMA_VERSION:
            raise StoreConfigError(
                f"the database schema is at version {current}, newer than this code "
                f"understands ({SCHEMA_VERSION}); upgrade llm-cost-bot or point DATABASE_URL "
                "at another database"
            )
        if current == SCHEMA_VERSION:
            return current
        for version in range(current + 1, SCHEMA_VERSION + 1):
            UPGRADES[version](conn)
        now = datetime.now(UTC)
        if current == 0:
            conn.execute(
                schema_version.insert().values(id=1, version=SCHEMA_VERSION, updated_at=now)
            )
        else:
            conn.execute(
                schema_version.update()
                .where(schema_version.c.id == 1)
                .values(version=SCHEMA_VERSION, updated_at=now)
            )
        return SCHEMA_VERSION


def current_schema_version(engine: sa.Engine) -> int | None:
    """The recorded schema version, or None when the table is missing."""
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table(schema_version.name):
            return None
        return conn.execute(
            sa.select(schema_version.c.version).where(schema_version.c.id == 1)
        ).scalar()
