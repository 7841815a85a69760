"""How conversations end, in Slack: cancelled (by the person, from Home, by a newer
start), the workspace gone, or idle past their time. What each ending says and does
is `bot.steps.ending`; here the rows are looked up, rendered and committed."""

from __future__ import annotations

from bot.conversation import Conversation, Status
from bot.slack.expiry import BATCH, expire_all
from bot.slack.move_base import MoveBase
from bot.slack.plan import Plan, Turn
from bot.slack.render import render
from bot.steps import end, expire
from bot.steps.ending import Why
from bot.store.models import NOTIFY_USER, ConversationRow


class Endings(MoveBase):
    """Cancel, replace, uninstall and expiry."""

    def cancel_open(self, *, team: str, channel: str, user: str) -> bool:
        """`/llm-cost cancel`: end the caller's open conversation here; False if none."""
        row = self.store.find_open_for_user(team, channel, user)
        if row is None:
            return False
        return self._end(row, Turn(user), "cancelled")

    def cancel_own(self, *, team: str, user: str, conversation_id: str) -> bool:
        """Cancel one of the caller's own open conversations by its id (the App Home's
        Cancel); False when it is not theirs or no longer open."""
        row = self.store.get(conversation_id)
        if row is None or row.team != team or row.user != user or row.status != Status.ACTIVE:
            return False
        return self._end(row, Turn(user), "cancelled")

    def end_workspace(self, team: str, reason: str) -> int:
        """The app was uninstalled from ``team`` (or its tokens revoked): nothing more
        can be posted there, so its conversations end and their queue is dropped."""
        return self.store.end_workspace(team, reason)

    def _end(self, row: ConversationRow, turn: Turn, why: Why, *, edit_root: bool = True) -> bool:
        """End ``row``'s conversation (see `bot.steps.end`); True when committed."""
        conversation = Conversation.restore(self.flows, row.record)
        step = end(conversation, self._scene(row, turn.user), why, edit_root=edit_root)
        return self._carry_out(row, step, turn)

    def expire_idle(self, batch: int = BATCH) -> int:
        """Expire every conversation idle past its time, tidying each thread up
        (`expire_one`), in batches until none is left (`bot.slack.expiry`). Runs on the
        deliverer's maintenance schedule and in `python -m bot retention`."""
        return expire_all(self.store, self.expire_one, batch)

    def expire_one(self, row: ConversationRow) -> bool:
        """Expire one idle conversation and tidy its thread up (what it says:
        `bot.steps.expire`): the open question loses its buttons, a result its Start
        over / Change an answer, and the channel message says so. False when it moved."""
        conversation = Conversation.restore(self.flows, row.record)
        says, unpinned = expire(conversation, self._scene(row, row.user))
        plan = Plan(row.channel, {NOTIFY_USER: row.user})
        render(plan, says, self._thread(row, row.user))
        return self.store.expire(row.id, row.version, plan.messages, unpinned=unpinned)
