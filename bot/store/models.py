"""Plain value types the store takes and returns (frozen dataclasses)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from bot.status import Status

# A conversation's status column holds `Status` values (one vocabulary with the logic).
ACTIVE: Final = Status.ACTIVE
FINISHED: Final = Status.FINISHED
CANCELLED: Final = Status.CANCELLED
EXPIRED: Final = Status.EXPIRED
CONVERSATION_STATUSES: Final = frozenset(Status)


class OutboxStatus(StrEnum):
    """An outbox row's status: waiting, sent, given up, or dropped with its conversation."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


PENDING: Final = OutboxStatus.PENDING
SENT: Final = OutboxStatus.SENT
FAILED: Final = OutboxStatus.FAILED

# Delivery metadata: keys of an outbox message's ``meta`` (its own column, never sent to
# Slack), read by the sender, the failure notes and the retry policy. They keep their
# leading "_" so that a payload key that has one is recognisably metadata (see
# `OutboxMessage`).
#: Whom to tell privately when Slack refuses the message: a ``response_url``, a user id.
NOTIFY_RESPONSE_URL: Final = "_response_url"
NOTIFY_USER: Final = "_user"
#: ISO time until which the message is retried however often it fails (not just
#: the deliverer's usual number of attempts): an edit that takes buttons away.
RETRY_UNTIL: Final = "_retry_until"
#: The workspace a message is for, where its payload names none (a Home view, a DM).
TEAM: Final = "_team"


def split_meta(payload: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``payload`` as (what goes to Slack, delivery metadata): keys with a leading "_"
    are metadata. Top level only: the Slack API has no such argument."""
    slack = {k: v for k, v in payload.items() if not k.startswith("_")}
    if len(slack) == len(payload):
        return payload, {}
    return slack, {k: v for k, v in payload.items() if k.startswith("_")}


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class Outcome(StrEnum):
    """What happened to a compare-and-set step; compares equal to its string value."""

    APPLIED = "applied"
    STALE = "stale"
    EXPIRED = "expired"
    MISSING = "missing"
    DUPLICATE = "duplicate"  # the Slack event it answers was seen before


@dataclass(frozen=True, slots=True)
class StepResult:
    """Result of :meth:`Store.apply_step` / :meth:`Store.cancel`.

    ``version`` is the new version when applied, the current version otherwise,
    and None when the conversation does not exist.
    """

    outcome: Outcome
    version: int | None

    @property
    def ok(self) -> bool:
        """True when the step was applied."""
        return self.outcome is Outcome.APPLIED


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """A message to enqueue: ``kind`` is opaque to the store, ``payload`` a JSON dict.

    ``ref`` names the message within its conversation so later payloads can point
    at its Slack ts with ``{"$ref": name}``; ``sets_thread`` makes its ts the
    conversation's ``thread_ts`` once sent. ``meta``: delivery metadata (whom to tell
    of a refusal, how long to retry, ...), stored in a column of its own and never
    sent. A payload key with a leading "_" is metadata too: it is moved into ``meta``
    here, so the payload stored and sent holds only Slack's arguments.
    """

    kind: str
    payload: dict[str, Any]
    ref: str | None = None
    sets_thread: bool = False
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.kind, str) or not self.kind:
            raise ValueError("OutboxMessage.kind must be a non-empty string")
        if not isinstance(self.payload, dict):
            raise TypeError("OutboxMessage.payload must be a dict")
        if not isinstance(self.meta, dict):
            raise TypeError("OutboxMessage.meta must be a dict")
        payload, meta = split_meta(self.payload)
        if meta:
            object.__setattr__(self, "payload", payload)
            object.__setattr__(self, "meta", {**self.meta, **meta})
        if self.ref is not None and (not isinstance(self.ref, str) or not self.ref):
            raise ValueError("OutboxMessage.ref must be a non-empty string or None")


@dataclass(frozen=True, slots=True)
class ConversationRow:
    """A stored conversation; ``record`` is the engine's opaque dict."""

    id: str
    team: str
    channel: str
    thread_ts: str | None
    user: str
    flow_name: str
    flow_hash: str
    record: dict[str, Any]
    version: int
    status: str
    created_at: datetime
    updated_at: datetime
    expires_at: datetime
    permalink: str | None = None  # the thread's link, once Slack gave it


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """A stored outbox message (``payload`` still holds unresolved ``$ref`` markers;
    ``meta``: its delivery metadata, see `OutboxMessage`). ``unconfirmed``: its last
    attempt may have reached Slack, so the sender looks for it before sending again."""

    id: int
    conversation_id: str
    seq: int
    kind: str
    ref: str | None
    sets_thread: bool
    payload: dict[str, Any]
    status: str
    attempts: int
    next_attempt_at: datetime
    claimed_until: datetime | None
    slack_ts: str | None
    error: str | None
    created_at: datetime
    sent_at: datetime | None
    claim_token: str | None = field(default=None, repr=False)
    team: str | None = None  # the workspace it goes to (its token sends it)
    enterprise: str | None = None  # the workspace's Enterprise Grid organisation, if any
    meta: dict[str, Any] = field(default_factory=dict)
    unconfirmed: bool = False


@dataclass(frozen=True, slots=True)
class ResultChange:
    """What a step does to its conversation's result in history, beyond storing the
    summary it passes: ``keeps_time`` (an estimate added: the result keeps the moment
    it was reached), ``drop`` (a cancelled result leaves history and the App Home),
    ``pinned`` (True: it is now its person's one pinned result in the channel, any
    other is not; False: it was taken down; None: no change)."""

    keeps_time: bool = False
    drop: bool = False
    pinned: bool | None = None


@dataclass(frozen=True, slots=True)
class PinnedResult:
    """A person's pinned result in a channel: its conversation and channel message."""

    conversation_id: str
    thread_ts: str | None


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """A finished result as history shows it: when, whose, what, and its thread link
    (None until Slack gave one)."""

    conversation_id: str
    channel: str
    user: str
    summary: dict[str, Any]
    created_at: datetime
    permalink: str | None


@dataclass(frozen=True, slots=True)
class HistoryPage:
    """One page of history; ``more``: an older page follows."""

    rows: list[HistoryRow]
    more: bool


@dataclass(frozen=True, slots=True)
class Page:
    """Which slice of a list: ``number`` from 1, ``size`` rows each."""

    number: int = 1
    size: int = 10

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size


@dataclass(frozen=True, slots=True)
class PurgeCounts:
    """Rows removed by a retention pass."""

    seen_events: int = 0
    outbox: int = 0

    @property
    def total(self) -> int:
        """All rows removed."""
        return self.seen_events + self.outbox


@dataclass(frozen=True, slots=True)
class RefTarget:
    """What a ``{"$ref": name}`` points at: the latest earlier row with that ref."""

    seq: int
    status: str
    slack_ts: str | None
    error: str | None


@dataclass(slots=True)
class Claims:
    """A write's request to claim the outbox rows it queues, for ``lease``, so that they
    go straight to a sender with no claim query in between; the write fills ``taken``.

    Rows queued at the head of their conversation's queue are claimed and listed. Rows
    queued behind a run someone is sending are left to that sender, which takes them
    when it records its last sends: nothing is listed. Rows queued behind a row waiting
    for its retry are left to the claim loop: the conversation is listed with no rows,
    meaning "it has new work".
    """

    lease: timedelta
    taken: list[tuple[str, list[OutboxRow]]] = field(default_factory=list)

    def add(self, conversation_id: str, rows: list[OutboxRow] | None) -> None:
        if rows is not None:
            self.taken.append((conversation_id, rows))
