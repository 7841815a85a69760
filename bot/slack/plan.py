"""A step's outbox messages and who made the step: the values `Moves` builds and the
sender reads (refs such as `ROOT` resolve to a message's ts when it is sent). What only
delivery reads (whom to tell of a refusal, how long to retry) goes into each message's
``meta``, never into what Slack is sent."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.store import OutboxMessage
from bot.store.models import RETRY_UNTIL

ROOT = {"$ref": "root"}
#: Metadata key of a `permalink` row: the channel message of the conversation this one
#: replaced, to be edited to link here ({"ts", "user", "title"}; see
#: `bot.slack.after_send`). A payload key with a leading "_" goes to ``meta``.
REPLACES = "_replaces"
#: Metadata key of a `permalink` row of a start asked for from the App Home: whose Home
#: to publish again once the link is known ({"team", "user"}; see `bot.slack.after_send`).
HOME_FOR = "_home_for"


@dataclass
class Plan:
    """Outbox messages for one step, in the order they must reach Slack.

    ``notify`` (metadata: the starter, the latest ``response_url``) goes with every
    post and edit, in its ``meta``, so that whichever of them Slack refuses, the
    failure notes can still tell someone privately. Edits that close a question are retried until
    ``closes_until`` (the conversation's expiry), so no stale buttons outlive an outage.
    """

    channel: str
    notify: dict[str, str] = field(default_factory=dict)
    closes_until: str | None = None
    messages: list[OutboxMessage] = field(default_factory=list)

    @property
    def dm(self) -> bool:
        """A direct message: the conversation speaks to the person, in the main stream
        (no thread), and pins nothing."""
        return self.channel.startswith("D")

    def _where(self) -> dict:
        return (
            {"channel": self.channel} if self.dm else {"channel": self.channel, "thread_ts": ROOT}
        )

    def post(self, message: dict, ref: str | None = None) -> None:
        payload = {**self._where(), **message}
        self.messages.append(OutboxMessage("post", payload, ref=ref, meta=dict(self.notify)))

    def update(self, ref: str, message: dict, *, becomes: str | None = None) -> None:
        """Edit message ``ref``; with ``becomes``, the edited message goes by that name
        from now on (a question that becomes the result)."""
        payload = {"channel": self.channel, "ts": {"$ref": ref}, **message}
        self.messages.append(OutboxMessage("update", payload, ref=becomes, meta=dict(self.notify)))

    def close(self, ref: str, message: dict, *, becomes: str | None = None) -> None:
        """An edit that takes a question's buttons away (``becomes``: see `update`)."""
        self.update(ref, message, becomes=becomes)
        if self.closes_until:
            self.messages[-1].meta[RETRY_UNTIL] = self.closes_until

    def pin_root(self) -> None:
        self.messages.append(OutboxMessage("pin", {"channel": self.channel, "timestamp": ROOT}))

    def unpin(self, timestamp: str | dict = ROOT) -> None:
        """Take down a result that no longer stands: this conversation's channel message,
        or another's (``timestamp``: an older result of the same person)."""
        payload = {"channel": self.channel, "timestamp": timestamp}
        self.messages.append(OutboxMessage("unpin", payload))

    def chart(self, chart: dict) -> None:
        """The estimate's chart: drawn and uploaded into the thread by the sender."""
        payload = {**self._where(), **chart}
        self.messages.append(OutboxMessage("chart", payload, meta=dict(self.notify)))

    def ephemeral(self, user: str, message: dict) -> None:
        payload = {**self._where(), "user": user, **message}
        self.messages.append(OutboxMessage("ephemeral", payload))


@dataclass(frozen=True)
class Click:
    """A button press, as far as we need it."""

    team: str
    channel: str
    user: str
    action_id: str
    value: str
    response_url: str | None = None


@dataclass(frozen=True)
class DirectMessage:
    """A person's direct message with the app, opened for a plan they asked for outside
    any channel; ``key`` names that opening (a repeat of it starts nothing)."""

    team: str
    user: str
    channel: str
    key: str


@dataclass(frozen=True)
class Turn:
    """Who made a move, how to reach them privately, and the Slack event it answers."""

    user: str
    response_url: str | None = None
    seen: str | None = None  # marked seen in the transaction that commits the move
