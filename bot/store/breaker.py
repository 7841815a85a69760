"""While the database seems stalled, one request at a time finds out; the rest are
told "couldn't save that" at once.

Each request waits up to its whole budget on a stalled database, holding a request
thread all that time; with a few threads and more requests than that, those in line
would answer after Slack's 3 s. So once a connection was cut at its deadline or a
connection attempt failed, a request may touch the database only as the one probe in
flight; a probe that gets a working connection ends the trouble, and one that fails
hands the turn to the next request when it ends. Work after the ack is never held back
(it may wait), and its successes end the trouble as well.
"""

from __future__ import annotations

import threading


class Breaker:
    """The trouble state of one database and its one probe (any object naming a request)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._trouble = False
        self._probe: object | None = None

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
        probe (it becomes the probe if there is none); then `done` must follow."""
        if not self._trouble:
            return True
        with self._lock:
            if self._probe is None:
                self._probe = request
            return self._probe is request

    def done(self, request: object) -> None:
        """``request`` ended; if it was the probe, the next request may probe."""
        with self._lock:
            if self._probe is request:
                self._probe = None
