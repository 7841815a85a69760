"""One expiry: every conversation idle past its time is expired with its thread tidied
up (the open question loses its buttons, the channel message says so), batch after
batch until none is left. Retention only purges; nothing else marks a conversation
expired, so no thread keeps live buttons for a conversation that is over."""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.store.models import ConversationRow
from bot.store.store import Store

log = logging.getLogger(__name__)

#: Conversations read and tidied per batch: one query and one transaction each.
BATCH = 100


def expire_all(store: Store, tidy: Callable[[ConversationRow], bool], batch: int = BATCH) -> int:
    """Expire every idle conversation through ``tidy`` (`Endings.expire`: it queues the
    tidy-up and marks the conversation expired in one transaction; False when the
    conversation moved meanwhile), ``batch`` at a time, until none is left; returns
    how many expired. One that cannot be tidied (its flow is gone, say) is still
    expired, bare, so it stops taking clicks, and the log says which. A batch that
    expires nothing ends the pass (everything in it moved, or another process took
    it), so a pass always ends."""
    if batch < 1:
        raise ValueError("batch must be at least 1")
    expired = 0
    while True:
        rows = store.idle_conversations(batch)
        done = sum(_expire(store, tidy, row) for row in rows)
        expired += done
        if len(rows) < batch or not done:
            return expired


def _expire(store: Store, tidy: Callable[[ConversationRow], bool], row: ConversationRow) -> bool:
    try:
        return tidy(row)
    except Exception:
        log.exception(
            "expiry: could not tidy up conversation %s (channel %s); expiring it without "
            "the tidy-up, so its thread keeps its buttons (a click on them says it expired)",
            row.id,
            row.channel,
        )
        return store.expire(row.id, row.version, [])
