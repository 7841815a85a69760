"""Retention: delete old seen events, finished outbox rows and channels' pacing slots.
It only purges: idle conversations are expired, their threads tidied up, by
`bot.slack.expiry`."""

from __future__ import annotations

import logging
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

    Deletes seen events older than ``seen_older_than``, finished outbox rows older
    than ``delivered_older_than``, and pacing slots of channels nobody posted to for
    ``seen_older_than`` (they pace like new channels).
    """
    counts = store.purge(seen_older_than=seen_older_than, delivered_older_than=delivered_older_than)
    store.purge_channel_slots((store.clock() - seen_older_than).timestamp())
    if counts.total:
        logger.info(
            "retention: %d seen events and %d outbox rows deleted",
            counts.seen_events,
            counts.outbox,
        )
    return counts
