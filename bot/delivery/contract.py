"""The contract between the deliverer and a sender: what a sender implements, what a
send gives back, the three ways a send can fail, as types, and the hooks the
application registers for what follows a send or a failure.

The deliverer knows nothing of Slack; a sender knows nothing of the database and
calls nothing above it: it sends and returns what Slack gave back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from bot.store.models import OutboxMessage, OutboxRow

MIN_POSTPONE = 0.02  # seconds; keeps a zero Retry-After from spinning


class Sender(Protocol):
    """Sends one outbox message to Slack.

    A sender may also have ``plan(rows)``, called with a conversation's claimed rows
    before they are sent (e.g. to book rate-limit slots for them together), and
    ``repeatable``: the kinds whose sending twice does no harm (an edit, a pin).
    Their success is recorded together with the next message's, which saves a
    transaction; every other kind is recorded as soon as it is sent, so a crash
    can repeat at most repeatable ones.
    """

    def send(self, row: OutboxRow, payload: dict[str, Any]) -> str | Delivered | None:
        """Send ``payload`` (refs resolved); return the message ts, if there is one, or
        a :class:`Delivered` when there is more to keep than a ts.

        Raise :class:`Postpone` to wait without it counting as an attempt (pacing),
        :class:`RetryLater` for transient trouble and :class:`PermanentFailure`
        when retrying cannot help.
        """
        ...


@dataclass(frozen=True)
class Delivered:
    """What a send gave back besides (or instead of) a message ts: ``permalink``, a
    link to the conversation's thread, which the deliverer keeps with the conversation
    (history and the App Home link to it); ``channel``, a channel the send opened (a
    direct message)."""

    ts: str | None = None
    permalink: str | None = None
    channel: str | None = None


#: Work that follows a sent row, registered per kind by the application (see
#: `Deliverer.after_send`): given the row and what its send gave back, it may act (start
#: a conversation in a DM just opened) and returns messages to queue for the row's
#: conversation (ordinary outbox rows, e.g. an edit linking to a thread).
AfterSend = Callable[[OutboxRow, Delivered], Sequence[OutboxMessage]]
#: What to queue when a row is given up (e.g. a note telling the person what to do);
#: it may set ``failure.reported`` when it told someone.
OnGiveUp = Callable[[OutboxRow, "PermanentFailure"], Sequence[OutboxMessage]]


class Outcome(StrEnum):
    """What one attempt at a row came to, in the deliverer."""

    DELIVERED = "delivered"  # sent, not yet recorded
    SENT = "sent"  # sent and recorded
    FAILED = "failed"  # given up; the conversation goes on
    ENDED = "ended"  # given up, and the conversation with it
    RETRY = "retry"  # put back for a later attempt
    LOST = "lost"  # the claim was lost: whoever holds it now goes on


class RetryLater(Exception):
    """Transient failure (429, 5xx, timeout); ``retry_after`` seconds if Slack said.

    ``unconfirmed``: the request may have taken effect (a post may exist), so the
    next attempt looks for it first. ``unanswered``: no answer came at all (a timeout,
    a dropped connection), so Slack may still be working on it: the policy waits long
    enough for it to show before that look.
    """

    def __init__(
        self,
        error: str,
        retry_after: float | None = None,
        *,
        unconfirmed: bool = False,
        unanswered: bool = False,
    ) -> None:
        super().__init__(error)
        self.error = error
        self.retry_after = retry_after
        self.unconfirmed = unconfirmed or unanswered
        self.unanswered = unanswered


class Postpone(Exception):
    """Not a failure: send again after ``delay`` seconds (rate-limit pacing, a 429).

    Unlike :class:`RetryLater` it does not count as an attempt, so a long backlog
    under rate limiting is delivered in full instead of being given up.
    ``unconfirmed``: the refused request may have taken effect all the same (a service
    that applied a call and answered 429), so the next attempt looks for it first.
    """

    def __init__(self, reason: str, delay: float, *, unconfirmed: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.delay = max(MIN_POSTPONE, delay)
        self.unconfirmed = unconfirmed


class PermanentFailure(Exception):
    """A failure retrying cannot fix (e.g. ``not_in_channel``).

    ``code`` names the cause for whoever handles it (Slack's error code,
    :data:`UNRESOLVED_REF`, or empty); ``error`` is the text kept on the row. With
    ``ends_conversation`` none of the conversation's messages can be delivered any
    more (the app left the channel, its token was revoked): the conversation is
    cancelled and its queued messages with it. ``call``: the service call that refused
    it, when known. ``reported``: the give-up hook (`OnGiveUp`) told someone (the person,
    or the log with what to fix), so the deliverer's own line about it stays at INFO.
    """

    def __init__(
        self, error: str, *, code: str = "", ends_conversation: bool = False, call: str = ""
    ) -> None:
        super().__init__(error)
        self.error = error
        self.code = code
        self.ends_conversation = ends_conversation
        self.call = call
        self.reported = False


#: The code of a row given up because a message it points at failed.
UNRESOLVED_REF = "unresolved_ref"
