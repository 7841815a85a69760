"""The next posting slot of each channel, shared by every process posting to it.

One row per channel holds the channel's theoretical next slot (``next_at``, seconds
since the epoch on the processes' clocks): taking slots moves it on atomically in
one ``INSERT … ON CONFLICT DO UPDATE`` (the row lock orders concurrent takers), so
however many replicas post to a channel they get distinct slots, one interval
apart. `bot.slack.shared_pacing.SharedChannelPacer` turns slots into waits.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect

from bot.store.base import StoreBase
from bot.store.engine import write_transaction
from bot.store.schema import channel_slots

_slot = channel_slots.c


class ChannelSlotStore(StoreBase):
    """Per-channel pacing slots (PostgreSQL's replicas share them; SQLite's one process
    paces in memory and leaves this table empty)."""

    def take_channel_slots(
        self, channel: str, now: float, interval: float, count: int = 1
    ) -> float:
        """Take ``count`` consecutive slots of ``channel``, ``interval`` seconds apart: the
        channel's next slot becomes ``max(next slot, now) + count * interval``, which
        is returned (the slots taken end there)."""
        if count < 1 or interval <= 0:
            raise ValueError("count must be >= 1 and interval > 0")
        span = count * interval
        return self._advance(channel, now + span, span)

    def hold_channel(self, channel: str, until: float) -> float:
        """No slot of ``channel`` before ``until`` (Slack answered 429): its next slot
        becomes at least ``until``; returns it."""
        return self._advance(channel, until, 0.0)

    def _advance(self, channel: str, at_least: float, span: float) -> float:
        """One statement: insert the channel's row at ``at_least``, or move it to
        ``max(next_at + span, at_least)``."""
        insert = pg_dialect.insert if self._postgres else sqlite_dialect.insert
        greatest = sa.func.greatest if self._postgres else sa.func.max
        stmt = insert(channel_slots).values(channel=channel, next_at=at_least)
        stmt = stmt.on_conflict_do_update(
            index_elements=[_slot.channel],
            set_={"next_at": greatest(_slot.next_at + span, stmt.excluded.next_at)},
        ).returning(_slot.next_at)
        with write_transaction(self.engine) as conn:
            return float(conn.execute(stmt).scalar_one())

    def purge_channel_slots(self, older_than: float) -> int:
        """Forget channels whose next slot is before ``older_than`` (seconds since the
        epoch): they behave like new ones. Returns how many."""
        with write_transaction(self.engine) as conn:
            return conn.execute(channel_slots.delete().where(_slot.next_at < older_than)).rowcount
