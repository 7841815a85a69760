"""What both halves of the store share: the engine, the clock, the compiled statements."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa

from bot.store import health
from bot.store.engine import prepare_sqlite
from bot.store.models import utcnow
from bot.store.statements import HotStatements

logger = logging.getLogger(__name__)


class StoreBase:
    """State shared by `ConversationStore` and `OutboxQueue`."""

    def __init__(
        self,
        engine: sa.Engine,
        *,
        idle_timeout: timedelta = timedelta(hours=24),
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        prepare_sqlite(engine)
        self.engine = engine
        self.idle_timeout = idle_timeout
        self.clock = clock
        self._postgres = engine.dialect.name == "postgresql"
        self._hot = HotStatements(engine.dialect)
        self._opened_file = health.sqlite_file(engine)

    def dispose(self) -> None:
        """Close pooled connections."""
        self.engine.dispose()

    def _now(self) -> datetime:
        now = self.clock()
        if now.tzinfo is None:
            raise ValueError("Store clock must return timezone-aware datetimes")
        return now
