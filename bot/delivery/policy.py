"""One retry policy: every decision about trying a message again is made here, a
failed attempt's backoff and a pause alike (the channel's pacing turn, Slack's 429).

Nothing under it retries on its own (the Slack client's retry handlers are off and
its keep-alive connections never resend), so a post is never sent twice behind the
back of the lookup that keeps it from appearing twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from bot.store.models import RETRY_UNTIL, OutboxRow


@dataclass(frozen=True)
class RetryPolicy:
    """``max_attempts`` tries per message, waiting ``base_backoff`` doubled per attempt up
    to ``max_backoff`` (or longer when the service says so); a message whose ``meta``
    carries ``RETRY_UNTIL`` (an edit that takes a question's buttons away) is tried,
    at the capped backoff, until that time instead. ``unconfirmed_after``: how long
    before looking for a post whose attempt ended without an answer (it may yet
    appear). ``transient``: the service's error codes worth trying again.
    ``max_pause``: the longest a row waits for its channel's pacing turn or for a 429's
    ``Retry-After`` before it is tried again (see `pause`)."""

    max_attempts: int = 8
    base_backoff: float = 0.5
    max_backoff: float = 60.0
    unconfirmed_after: float = 20.0
    transient: frozenset[str] = field(default_factory=frozenset)
    max_pause: float = 300.0

    def __post_init__(self) -> None:
        backoffs = (self.base_backoff, self.max_backoff, self.max_pause)
        if self.max_attempts < 1 or min(backoffs) <= 0:
            raise ValueError("max_attempts must be >= 1 and the backoffs and max_pause > 0")

    @classmethod
    def for_api(cls, *, timeout: float, transient: Iterable[str] = (), **kw: float) -> RetryPolicy:
        """A policy for an API whose calls time out after ``timeout`` seconds: an uncertain
        post is looked for two timeouts later, when it would show if it was made."""
        return cls(unconfirmed_after=2 * timeout, transient=frozenset(transient), **kw)  # type: ignore[arg-type]

    def retries(self, status: int, error: str) -> bool:
        """Whether a call that failed with HTTP ``status`` and ``error`` may succeed later."""
        return status >= 500 or error in self.transient

    def delay(
        self, row: OutboxRow, now: datetime, *, retry_after: float | None, unanswered: bool
    ) -> float | None:
        """Seconds to wait before trying ``row`` again after its failed attempt, or None to
        give it up. An attempt that got no answer waits ``unconfirmed_after`` at least;
        a ``retry_after`` the service asked for counts up to ``max_pause``."""
        attempts = row.attempts + 1
        if attempts >= self.max_attempts and not self.worth_more(row, now):
            return None
        backoff = min(self.max_backoff, self.base_backoff * 2 ** min(attempts - 1, 30))
        wait = max(min(retry_after or 0.0, self.max_pause), backoff)
        return max(wait, self.unconfirmed_after) if unanswered else wait

    def pause(self, wait: float, *, unconfirmed: bool = False) -> float:
        """Seconds to hold a row that is not failing but must wait: its channel's pacing
        turn, or Slack's ``Retry-After`` on a 429 (which holds the whole channel for
        that long). Not an attempt: a long backlog is delivered in full. At most
        ``max_pause`` (``unconfirmed_after`` at least, when the refused call may have
        taken effect and is looked for first), so a long queue or a bogus
        ``Retry-After`` never parks a row beyond it: the row is asked again then (the
        pacer keeps its booked turn; Slack answers a fresh ``Retry-After``)."""
        limit = max(self.max_pause, self.unconfirmed_after) if unconfirmed else self.max_pause
        return min(max(wait, 0.0), limit)

    @staticmethod
    def worth_more(row: OutboxRow, now: datetime) -> bool:
        """A row marked to be retried until a time (``RETRY_UNTIL``) before it."""
        until = row.meta.get(RETRY_UNTIL)
        try:
            return isinstance(until, str) and now < datetime.fromisoformat(until)
        except ValueError:
            return False
