"""Per-channel pacing across replicas: every process posting to a channel takes its
turns from one slot row per channel in PostgreSQL (`bot.store.channel_slots`), so N
replicas together keep Slack's per-channel rate instead of N times it. On SQLite
(one process) the in-memory `ChannelPacer` paces alone.

The slots follow the generic cell rate algorithm: the channel's row holds its next
theoretical slot ``t``; a post takes ``max(t, now) + 1/rate`` and may go ``burst``
intervals before that, so an idle channel takes a burst at once and a busy one one
post per interval, whichever process asks.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Protocol

from bot.slack.pacing import ChannelPacer
from bot.store.store import Store


class ChannelSlots(Protocol):
    """The store's shared slots (`bot.store.channel_slots.ChannelSlotStore`)."""

    def take_channel_slots(
        self, channel: str, now: float, interval: float, count: int = 1
    ) -> float: ...

    def hold_channel(self, channel: str, until: float) -> float: ...


class SharedChannelPacer(ChannelPacer):
    """A `ChannelPacer` whose turns come from slots shared through the database. A
    message that must wait keeps the turn it was given (booked by its key, here), so
    it waits once; should another process send it instead, that one takes a new turn
    (a turn wasted, never one shared). ``clock``: seconds since the epoch, the same
    on every replica (NTP keeps them within milliseconds of each other)."""

    def __init__(
        self,
        slots: ChannelSlots,
        rate: float = 1.0,
        burst: int = 8,
        clock: Callable[[], float] = time.time,
        max_channels: int = 10_000,
    ):
        super().__init__(rate, burst, clock, max_channels)
        self.slots = slots
        self.interval = 1.0 / rate

    def reserve(self, channel: str, key: Hashable | None = None) -> float:
        """0.0 when a message may go now; else seconds to wait for its turn."""
        with self._lock:
            now = self.clock()
            wait = self._held_or_booked(self._channel(channel, now), key, now)
            if wait is not None:
                return wait
        slot = self._turns(channel, now, 1)[0]
        if slot <= now:
            return 0.0
        if key is not None:
            with self._lock:
                self._channel(channel, now).booked[key] = slot
        return slot - now

    def book_together(self, channel: str, keys: list[Hashable]) -> None:
        """Neighbouring turns for messages that go one after the other (a conversation's
        root and its first question), taken at once so nobody's come between them."""
        with self._lock:
            now = self.clock()
            state = self._channel(channel, now)
            keys = [key for key in keys if key not in state.booked]
        if len(keys) < 2:
            return
        turns = self._turns(channel, now, len(keys))
        with self._lock:
            self._channel(channel, now).booked.update(zip(keys, turns, strict=True))

    def block(self, channel: str, seconds: float) -> None:
        """Slack said 429: no process posts to the channel for ``seconds``; then one post
        per interval (no burst)."""
        super().block(channel, seconds)
        now = self.clock()
        self.slots.hold_channel(channel, now + seconds + (self.burst - 1) * self.interval)

    def _turns(self, channel: str, now: float, count: int) -> list[float]:
        """Take ``count`` consecutive slots; when each message may go."""
        end = self.slots.take_channel_slots(channel, now, self.interval, count)
        lead = self.burst * self.interval  # how far ahead of its slot a burst may go
        return [end - (count - 1 - k) * self.interval - lead for k in range(count)]


def channel_pacer(store: Store, rate: float, burst: int) -> ChannelPacer:
    """The pacer for ``store``: shared slots on PostgreSQL (several replicas may post to
    one channel), in memory on SQLite (one process)."""
    if store.engine.dialect.name == "postgresql":
        return SharedChannelPacer(store, rate, burst)
    return ChannelPacer(rate, burst)
