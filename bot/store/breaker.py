"""While the database seems stalled, one request at a time finds out; the rest are
told "couldn't save that" at once.

Each request waits up to its whole budget on a stalled database, holding a request
thread all that time; with a few threads and more requests than that, those in line
would answer after Slack's 3 s. So once a connection was cut at its deadline or a
connection attempt failed, a request may touch the database only as the one probe in
flight; a probe that gets a working connection ends the trouble, and one that fails
hands the turn on when it ends. Work after the ack is never held back (it may wait),
and its successes end the trouble as well.

A failed probe is followed by a pause as long as it took, so the next probe cannot
start the moment it ends: a connection attempt to a silent server waits libpq's whole
connect timeout (2 s at least, longer than a request's budget), and requests that
queued behind one probe would otherwise each become the next and answer after
Slack's 3 s. Refused connections fail in milliseconds, so their pause is as short.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Breaker:
    """The trouble state of one database and its one probe (any object naming a request)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._trouble = False
        self._probe: object | None = None
        self._probe_began = 0.0
        self._next_probe_at = 0.0

    @property
    def in_trouble(self) -> bool:
        return self._trouble

    def trouble(self) -> None:
        """A connection was cut at its deadline, or could not be opened."""
        self._trouble = True

    def fine(self) -> None:
        """A connection worked."""
        self._trouble = False

    def admit(self, request: object) -> bool:
        """May ``request`` use the database now? True when all is well or it is the
        probe (it becomes the probe if there is none and the pause after the last
        failed one is over); then `done` must follow."""
        if not self._trouble:
            return True
        with self._lock:
            if self._probe is None:
                now = self._clock()
                if now < self._next_probe_at:
                    return False
                self._probe, self._probe_began = request, now
            return self._probe is request

    def done(self, request: object) -> None:
        """``request`` ended; if it was the probe and the trouble lasts, the next
        request may probe after a pause as long as this probe took."""
        with self._lock:
            if self._probe is request:
                self._probe = None
                if self._trouble:
                    now = self._clock()
                    self._next_probe_at = now + (now - self._probe_began)
