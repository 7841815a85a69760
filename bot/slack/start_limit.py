"""Fairness: one person cannot flood a channel by starting again and again.

Each start posts a root and a question and edits the person's earlier conversation,
so twenty `/llm-cost` in a row made 77 posts and edits and delayed everyone else in
the channel. Starts are limited per person and channel, where the crowding happens
(a token bucket, kept as the generic cell
rate algorithm's one number per person): ``burst`` starts at once, then one more every
``every`` seconds. A start over the limit gets a private
note saying when the person can start again, and nothing is posted.

Per process: with several replicas a person may get up to one bucket per replica,
which still bounds the flood.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

#: People whose buckets are remembered at most (the least recently seen are dropped,
#: which only ever lets someone start sooner).
MAX_PEOPLE = 10_000


class StartLimit:
    """Starts allowed per person and channel: ``burst`` at once, then one per ``every``
    seconds."""

    def __init__(
        self,
        burst: int = 5,
        every: float = 30.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_people: int = MAX_PEOPLE,
    ) -> None:
        if burst < 1 or every <= 0:
            raise ValueError("burst must be >= 1 and every > 0")
        self.burst = burst
        self.every = every
        self._clock = clock
        self._max_people = max_people
        # (team, channel, user) -> when the person's bucket is full again (the "theoretical
        # arrival time"): a start is allowed while that is at most (burst - 1) starts ahead.
        self._full_at: OrderedDict[tuple[str, str, str], float] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, team: str, channel: str, user: str) -> float:
        """Take one start for the person in the channel: 0 when it is allowed, else the
        seconds until the next one will be (nothing is taken then)."""
        now = self._clock()
        key = (team, channel, user)
        ahead = (self.burst - 1) * self.every
        with self._lock:
            full_at = max(self._full_at.pop(key, now), now)
            wait = full_at - now - ahead
            if wait <= 0:
                full_at += self.every
                wait = 0.0
            self._full_at[key] = full_at
            while len(self._full_at) > self._max_people:
                self._full_at.popitem(last=False)
        return wait


def too_soon(wait: float, command: str) -> str:
    """The private note for a start over the limit: when the person can start again."""
    seconds = max(1, math.ceil(wait))
    when = f"{seconds} seconds" if seconds < 90 else f"{math.ceil(seconds / 60)} minutes"
    return (
        f"You've started several plans in a row, so I'm holding this one to keep the "
        f"channel readable. You can start again in {when} with `{command}`; your open "
        "conversation's thread is still there meanwhile."
    )
