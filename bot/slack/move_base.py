"""What every move shares: the store and flows, how a step's plan is made and
committed, the private notes. `bot.slack.endings` and `bot.slack.moves` build on it."""

from __future__ import annotations

import logging
from typing import Literal

from bot.conversation import Conversation, Status
from bot.flow.loader import FlowRegistry
from bot.slack import blocks
from bot.slack.blocks import mention
from bot.slack.plan import Plan, Turn
from bot.store import OutboxMessage, Store
from bot.store.models import (
    NOTIFY_RESPONSE_URL,
    NOTIFY_USER,
    ConversationRow,
    Outcome,
    PinnedResult,
    ResultChange,
    utcnow,
)

log = logging.getLogger(__name__)

Policy = Literal["starter", "anyone"]
REPLACED = "Replaced by a newer conversation."
ENDED = {
    Status.CANCELLED: "This conversation was cancelled.",
    Status.EXPIRED: "This conversation expired after being idle.",
}


class MoveBase:
    """The store, the flows and the helpers every move uses."""

    def __init__(
        self,
        store: Store,
        flows: FlowRegistry,
        *,
        flow_name: str,
        command: str,
        policy: Policy = "starter",
        native_charts: bool = False,
    ):
        """``native_charts``: the estimate card carries Slack's own bar chart (see
        `bot.slack.native_chart`) instead of an uploaded PNG where it can."""
        self.store = store
        self.native_charts = native_charts
        self.flows = flows
        self.flow_name = flow_name
        self.command = command
        self.policy = policy

    def _plan(self, channel: str, starter: str, turn: Turn) -> Plan:
        notify = {NOTIFY_USER: starter}
        if turn.response_url:
            notify[NOTIFY_RESPONSE_URL] = turn.response_url
        closes_until = (utcnow() + self.store.idle_timeout).isoformat()
        return Plan(channel, notify, closes_until)

    def _cancelled(self, row: ConversationRow, user: str) -> str:
        """How a cancel is told: edited into the open question (never a new post, so the
        mention pings nobody); in a direct message, to the person."""
        return (
            "You cancelled this plan."
            if row.channel.startswith("D")
            else (f"Cancelled by {mention(user)}.")
        )

    def _ended(self, status: Status) -> str:
        """What to tell someone acting on a conversation that has ended."""
        return f"{ENDED[status]} Start a new one with `{self.command}`."

    def _only_starter(self, row: ConversationRow) -> str:
        return (
            f"Only {mention(row.user)} can answer this one. Start your own with `{self.command}`."
        )

    def _tell(self, row: ConversationRow, turn: Turn, message: dict) -> None:
        """A message for the person who typed only (a reprompt, help): the thread stays
        for questions and answers."""
        plan = self._plan(row.channel, row.user, turn)
        plan.ephemeral(turn.user, message)
        self._enqueue(row, plan.messages, turn)

    def _pinned(self, row: ConversationRow) -> PinnedResult | None:
        return self.store.pinned_result(row.team, row.channel, row.user)

    def _commit(
        self,
        row: ConversationRow,
        conversation: Conversation,
        plan: Plan,
        turn: Turn,
        change: ResultChange | None = None,
    ) -> bool:
        """Commit the step. A result's summary is stored with it; only the step that
        reaches the result (``change`` given by `showing.show_result`) sets its time:
        an estimate added later keeps it."""
        recommendation = conversation.recommendation()
        result = self.store.apply_step(
            row.id,
            row.version,
            conversation.to_dict(),
            plan.messages,
            status=conversation.status.value,
            recommendation=recommendation.summary() if recommendation else None,
            seen=turn.seen,
            result=change or ResultChange(keeps_time=True),
        )
        if result.outcome is Outcome.APPLIED:
            return True
        refusal = Turn(turn.user, turn.response_url)  # seen by now
        if result.outcome is Outcome.EXPIRED:
            self._note(row, refusal, self._ended(Status.EXPIRED))
        elif result.outcome is Outcome.STALE:
            self._note(
                row,
                refusal,
                "Someone answered at the same moment; the thread shows the current question.",
            )
        return False

    def _may_answer(self, row: ConversationRow, user: str) -> bool:
        return self.policy == "anyone" or user == row.user

    def _note(self, row: ConversationRow, turn: Turn, text: str) -> None:
        self._tell(row, turn, blocks.note_message(text))

    def _enqueue(self, row: ConversationRow, messages: list[OutboxMessage], turn: Turn) -> None:
        self.store.enqueue(row.id, messages, seen=turn.seen)
