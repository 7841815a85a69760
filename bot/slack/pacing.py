"""Per-channel pacing of chat.postMessage: Slack allows about one message per second
per channel with short bursts, and answers faster senders with 429 + Retry-After."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field


@dataclass
class _Channel:
    tokens: float
    updated: float
    blocked_until: float = 0.0
    next_slot: float = 0.0  # the latest time booked for a waiting message
    booked: dict[Hashable, float] = field(default_factory=dict)


class ChannelPacer:
    """A token bucket per channel (`rate` per second, `burst` at once), plus the
    channel-wide pause Slack asks for with a 429. Thread-safe; one per process.

    A message that must wait is booked a slot in a queue (by its key), so a backlog of
    n messages is told to come back at 1/rate, 2/rate, ... n/rate seconds: each waits
    once, instead of all of them asking again every time a token frees up."""

    def __init__(
        self,
        rate: float = 1.0,
        burst: int = 8,
        clock: Callable[[], float] = time.monotonic,
        max_channels: int = 10_000,
    ):
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self.rate = rate
        self.burst = float(burst)
        self.clock = clock
        self.max_channels = max_channels
        self._channels: dict[str, _Channel] = {}
        self._lock = threading.Lock()

    def reserve(self, channel: str, key: Hashable | None = None) -> float:
        """0.0 when a message may go now (and counts it); else seconds to wait."""
        with self._lock:
            now = self.clock()
            state = self._channel(channel, now)
            wait = self._held_or_booked(state, key, now)
            if wait is not None:
                return wait
            if state.tokens >= 1.0 and not state.booked:
                state.tokens -= 1.0
                return 0.0
            slot = self._next_slot(state, now)
            if key is not None:
                state.booked[key] = slot
            return slot - now

    @staticmethod
    def _held_or_booked(state: _Channel, key: Hashable | None, now: float) -> float | None:
        """The wait of a message in a channel held after a 429, or of one whose turn was
        booked (0.0 once it has come: its token was set aside when it was booked, and
        the booking is used up); None when neither applies. Call under the lock."""
        if state.blocked_until > now:
            return state.blocked_until - now
        slot = state.booked.get(key) if key is not None else None
        if slot is None:
            return None
        if slot > now:
            return slot - now
        del state.booked[key]
        return 0.0

    def book_together(self, channel: str, keys: list[Hashable]) -> None:
        """When the channel has a queue already, book consecutive slots for ``keys`` now
        (messages that go out one after the other: a conversation's root and its
        first question), so the later ones do not queue behind everyone who booked
        while the first was waiting. A channel with room for them all books nothing."""
        with self._lock:
            now = self.clock()
            state = self._channel(channel, now)
            congested = state.blocked_until > now or state.booked or state.tokens < len(keys)
            if len(keys) < 2 or not congested:
                return
            for key in keys:
                if key not in state.booked:
                    state.booked[key] = self._next_slot(state, now)
            state.tokens = min(state.tokens, 0.0)

    def _next_slot(self, state: _Channel, now: float) -> float:
        """Book the channel's next free slot (after any pause); the token it would have
        taken is spent."""
        slot = max(now, state.next_slot, state.blocked_until) + 1.0 / self.rate
        state.next_slot = slot
        state.tokens = min(state.tokens, 0.0)
        return slot

    def block(self, channel: str, seconds: float) -> None:
        """Slack said 429: hold every message to this channel for `seconds`."""
        with self._lock:
            now = self.clock()
            state = self._channel(channel, now)
            state.blocked_until = max(state.blocked_until, now + seconds)
            state.tokens = 0.0
            shift = state.blocked_until - now
            state.booked = {k: v + shift for k, v in state.booked.items()}
            state.next_slot = max(state.next_slot, now) + shift

    def _channel(self, channel: str, now: float) -> _Channel:
        state = self._channels.get(channel)
        if state is None:
            if len(self._channels) >= self.max_channels:
                self._forget_idle(now)
            state = self._channels[channel] = _Channel(self.burst, now)
            return state
        if not state.booked:
            state.tokens = min(self.burst, state.tokens + (now - state.updated) * self.rate)
        state.updated = now
        stale = [k for k, slot in state.booked.items() if slot < now - 60]
        for key in stale:  # booked by a message that never came back (its sender died)
            del state.booked[key]
        return state

    def _forget_idle(self, now: float) -> None:
        """Drop channels whose bucket has refilled: they behave like new ones."""
        full = self.burst / self.rate
        for name in [
            n
            for n, c in self._channels.items()
            if now - c.updated >= full and c.blocked_until <= now and not c.booked
        ]:
            del self._channels[name]
