"""Retention: expire idle conversations and delete old seen events and outbox rows."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING

from bot.store.models import PurgeCounts

if TYPE_CHECKING:
    from bot.store.store import Store

logger = logging.getLogger(__name__)


def run_retention(
    store: Store,
    *,
    seen_older_than: timedelta = timedelta(days=1),
    delivered_older_than: timedelta = timedelta(days=7),
) -> PurgeCounts:
    """One retention pass (the CLI and the Deliverer loop call this).

    Marks idle conversations expired, then deletes seen events older than
    ``seen_older_than`` and delivered outbox rows older than ``delivered_older_than``.
    """
    expired = store.expire_idle()
    counts = store.purge(seen_older_than=seen_older_than, delivered_older_than=delivered_older_than)
    counts = replace(counts, expired=expired)
    if expired or counts.total:
        logger.info(
            "retention: %d conversations expired, %d seen events and %d outbox rows deleted",
            counts.expired,
            counts.seen_events,
            counts.outbox,
        )
    return counts
