"""Durable conversation store: conversations, outbox queue, seen events, recommendations.

SQL only (SQLAlchemy Core on SQLite, the embedded default, or PostgreSQL via
``DATABASE_URL``): no threads, no clocks of its own. `bot.delivery` sends the queue.
"""

from bot.store.claiming import claiming, current_claims
from bot.store.engine import make_engine, write_transaction
from bot.store.errors import ConversationNotFound, StoreConfigError, StoreError
from bot.store.migrate import upgrade as upgrade_schema
from bot.store.models import (
    ACTIVE,
    CANCELLED,
    EXPIRED,
    FINISHED,
    ConversationRow,
    HistoryPage,
    HistoryRow,
    OutboxMessage,
    OutboxRow,
    Outcome,
    Page,
    PurgeCounts,
    ResultChange,
    StepResult,
    utcnow,
)
from bot.store.retention import run_retention
from bot.store.store import Store

__all__ = [
    "ACTIVE",
    "CANCELLED",
    "EXPIRED",
    "FINISHED",
    "ConversationNotFound",
    "ConversationRow",
    "HistoryPage",
    "HistoryRow",
    "OutboxMessage",
    "OutboxRow",
    "Outcome",
    "Page",
    "PurgeCounts",
    "ResultChange",
    "StepResult",
    "Store",
    "StoreConfigError",
    "StoreError",
    "claiming",
    "current_claims",
    "make_engine",
    "run_retention",
    "upgrade_schema",
    "utcnow",
    "write_transaction",
]
