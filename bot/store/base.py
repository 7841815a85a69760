"""What both halves of the store share: the engine, the clock, the compiled statements,
and the deliverer's fast path (rows claimed in the transaction that queues them)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa

from bot.store import health
from bot.store.engine import prepare_sqlite
from bot.store.models import OutboxRow, utcnow
from bot.store.statements import HotStatements

logger = logging.getLogger(__name__)

ClaimReceiver = Callable[[str, list[OutboxRow]], None]


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
        self._direct: tuple[ClaimReceiver, timedelta] | None = None
        self._hot = HotStatements(engine.dialect)
        self._opened_file = health.sqlite_file(engine)

    def hand_claims_to(
        self, receiver: ClaimReceiver | None, lease: timedelta | None = None
    ) -> None:
        """The deliverer's fast path. While a receiver is set, messages enqueued at the
        head of their conversation's queue (nothing earlier still pending) are claimed
        for ``lease`` in the very transaction that commits them, and handed to
        ``receiver`` after the commit, so no claim query stands between a step and its
        messages. Messages queued behind pending rows that someone holds are taken by
        that holder when it records its last sends (:meth:`record_sent_and_claim_next`);
        the receiver is not called. Behind pending rows nobody holds (a retry waiting),
        they are left for the claim queries; the receiver then gets an empty list,
        meaning "this conversation has new work"."""
        if receiver is not None and (lease is None or lease <= timedelta(0)):
            raise ValueError("a claim receiver needs a positive lease")
        self._direct = None if receiver is None else (receiver, lease)  # type: ignore[assignment]

    def _hand_off(
        self,
        direct: tuple[ClaimReceiver, timedelta] | None,
        conversation_id: str,
        rows: list[OutboxRow] | None,
    ) -> None:
        """After a commit that enqueued messages: give the claimed rows to the receiver
        (None: queued behind rows being sent, whose sender takes them next)."""
        if direct is None or rows is None:
            return
        try:
            direct[0](conversation_id, rows)
        except Exception:  # the claims then run out with their lease; nothing is lost
            logger.exception("outbox: handing claimed rows to the deliverer failed")

    def dispose(self) -> None:
        """Close pooled connections."""
        self.engine.dispose()

    def _now(self) -> datetime:
        now = self.clock()
        if now.tzinfo is None:
            raise ValueError("Store clock must return timezone-aware datetimes")
        return now


def lease_of(direct: tuple[ClaimReceiver, timedelta] | None) -> timedelta | None:
    return None if direct is None else direct[1]
