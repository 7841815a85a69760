"""What every move shares: the store and flows, where a step happens (`Scene`), and
carrying a step out: rendering it (`bot.slack.render`) and committing it with its
outbox rows. `bot.slack.endings` and `bot.slack.moves` build on it."""

from __future__ import annotations

import logging
from typing import Literal

from bot.conversation import Status
from bot.flow.loader import FlowRegistry
from bot.slack.blocks import mention
from bot.slack.plan import Plan, Turn
from bot.slack.render import Thread, render
from bot.steps import Scene, Step, wording
from bot.steps.messages import Note
from bot.store import Store
from bot.store.models import (
    NOTIFY_RESPONSE_URL,
    NOTIFY_USER,
    ConversationRow,
    Outcome,
    ResultChange,
    utcnow,
)

log = logging.getLogger(__name__)

Policy = Literal["starter", "anyone"]


class MoveBase:
    """The store, the flows and carrying a step out."""

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

    def _scene(self, row: ConversationRow, actor: str) -> Scene:
        """Where a step of ``row``'s conversation happens, ``actor`` acting."""
        return self._scene_at(row.id, row.team, row.channel, row.user, actor, Status(row.status))

    def _scene_at(
        self,
        conversation_id: str,
        team: str,
        channel: str,
        starter: str,
        actor: str,
        stored: Status | None = None,
    ) -> Scene:
        """The same, for a conversation not stored yet (a start)."""
        return Scene(
            conversation_id=conversation_id,
            starter=starter,
            actor=actor,
            command=self.command,
            name=mention,
            private=channel.startswith("D"),
            anyone_answers=self.policy == "anyone",
            pinned=lambda: self.store.pinned_result(team, channel, starter),
            stored=stored,
        )

    def _thread(self, row: ConversationRow, actor: str) -> Thread:
        return Thread(
            row.id, row.user, actor, row.permalink, self.command, native_charts=self.native_charts
        )

    def _plan(self, channel: str, starter: str, turn: Turn) -> Plan:
        notify = {NOTIFY_USER: starter}
        if turn.response_url:
            notify[NOTIFY_RESPONSE_URL] = turn.response_url
        closes_until = (utcnow() + self.store.idle_timeout).isoformat()
        return Plan(channel, notify, closes_until)

    def _carry_out(self, row: ConversationRow, step: Step, turn: Turn) -> bool:
        """Render the step and commit it with its messages, compare-and-set on the row's
        version; a step that changed nothing only queues its messages (a note, a
        reprompt). False when nothing was committed: a refusal is told privately."""
        plan = self._plan(row.channel, row.user, turn)
        render(plan, step.says, self._thread(row, turn.user))
        commit = step.commit
        if commit is None:
            if plan.messages:
                self.store.enqueue(row.id, plan.messages, seen=turn.seen)
            return False
        result = self.store.apply_step(
            row.id,
            row.version,
            commit.record,
            plan.messages,
            status=commit.status.value,
            recommendation=commit.summary,
            seen=turn.seen,
            result=ResultChange(commit.result.keeps_time, commit.result.drop, commit.result.pinned),
        )
        if result.outcome is Outcome.APPLIED:
            return True
        refusal = Turn(turn.user, turn.response_url)  # seen by now
        if result.outcome is Outcome.EXPIRED:
            self._note(row, refusal, wording.ended(Status.EXPIRED, self.command))
        elif result.outcome is Outcome.STALE:
            self._note(row, refusal, wording.SAME_MOMENT)
        return False

    def _note(self, row: ConversationRow, turn: Turn, text: str) -> None:
        """A private note to the person who acted, outside any step."""
        self._carry_out(row, Step((Note(text),)), turn)
