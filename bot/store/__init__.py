"""Durable conversation store: conversations, outbox, seen events, recommendations.

SQLAlchemy Core on SQLite (embedded default, WAL) or PostgreSQL (``DATABASE_URL``).
"""

from bot.store.engine import make_engine, write_transaction
from bot.store.errors import ConversationNotFound, StoreConfigError, StoreError
from bot.store.models import (
    ACTIVE,
    CANCELLED,
    EXPIRED,
    FINISHED,
    ConversationRow,
    OutboxMessage,
    OutboxRow,
    Outcome,
    PurgeCounts,
    RecommendationRow,
    StepResult,
    utcnow,
)
from bot.store.outbox import (
    UNRESOLVED_REF,
    Deliverer,
    PermanentFailure,
    Postpone,
    RetryLater,
    Sender,
    resolve_refs,
)
from bot.store.retention import purge, run_retention
from bot.store.schema import SCHEMA_VERSION, current_schema_version, ensure_schema
from bot.store.store import Store

__all__ = [
    "ACTIVE",
    "CANCELLED",
    "EXPIRED",
    "FINISHED",
    "SCHEMA_VERSION",
    "UNRESOLVED_REF",
    "ConversationNotFound",
    "ConversationRow",
    "Deliverer",
    "OutboxMessage",
    "OutboxRow",
    "Outcome",
    "PermanentFailure",
    "Postpone",
    "PurgeCounts",
    "RecommendationRow",
    "RetryLater",
    "Sender",
    "StepResult",
    "Store",
    "StoreConfigError",
    "StoreError",
    "current_schema_version",
    "ensure_schema",
    "make_engine",
    "purge",
    "resolve_refs",
    "run_retention",
    "utcnow",
    "write_transaction",
]
