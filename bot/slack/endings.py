"""How conversations end: cancelled (by the person, from Home, by a newer start), the
workspace gone, or idle past their time. Each ending tidies its thread up: the open
question says so in place (an edit, pinging nobody), the channel message says how it
ended, a result it had leaves history, and a pin of it comes down."""

from __future__ import annotations

from bot.conversation import Conversation, Refused, Status
from bot.slack import blocks
from bot.slack.move_base import MoveBase
from bot.slack.plan import Plan, Turn
from bot.store.models import NOTIFY_USER, ConversationRow, ResultChange


class Endings(MoveBase):
    """Cancel, replace, uninstall and expiry."""

    def cancel_open(self, *, team: str, channel: str, user: str) -> bool:
        """`/llm-cost cancel`: end the caller's open conversation here; False if none."""
        row = self.store.find_open_for_user(team, channel, user)
        if row is None:
            return False
        return self._end(row, Turn(user), self._cancelled(row, user))

    def cancel_own(self, *, team: str, user: str, conversation_id: str) -> bool:
        """Cancel one of the caller's own open conversations by its id (the App Home's
        Cancel); False when it is not theirs or no longer open."""
        row = self.store.get(conversation_id)
        if row is None or row.team != team or row.user != user or row.status != Status.ACTIVE:
            return False
        return self._end(row, Turn(user), self._cancelled(row, user))

    def end_workspace(self, team: str, reason: str) -> int:
        """The app was uninstalled from ``team`` (or its tokens revoked): nothing more
        can be posted there, so its conversations end and their queue is dropped."""
        return self.store.end_workspace(team, reason)

    def _end(
        self,
        row: ConversationRow,
        turn: Turn,
        what: str,
        conversation: Conversation | None = None,
        *,
        edit_root: bool = True,
    ) -> bool:
        """Cancel: the open question says so in place (an edit: no new post, no ping),
        and so does the channel message (unless the newer conversation does:
        ``edit_root``); a result it had leaves history, and its pin comes down."""
        conversation = conversation or Conversation.restore(self.flows, row.record)
        question = conversation.question()
        number = len(conversation.record.answers) + 1
        step = conversation.step
        if isinstance(conversation.run("cancel"), Refused):
            return False
        plan = self._plan(row.channel, row.user, turn)
        told = f"{what} Start again any time with `{self.command}`."
        if question is not None:
            plan.close(f"q{step}", blocks.closed_message(question.text, number, told))
        else:  # a new post: it names nobody, or it would ping them
            said = what if "<@" not in what else "This plan was cancelled."
            plan.post(blocks.note_message(f"{said} Start again any time with `{self.command}`."))
        pinned = self._tidy_root(plan, row, told, edit=edit_root)
        change = ResultChange(drop=True, pinned=False if pinned else None)
        return self._commit(row, conversation, plan, turn, change)

    def _tidy_root(self, plan: Plan, row: ConversationRow, what: str, edit: bool = True) -> bool:
        """The channel message says how the conversation ended; a result of it still
        pinned there (one being revised) comes down. True when it had the pin."""
        if plan.dm:
            return False  # the greeting needs no epitaph, and nothing is pinned
        if edit:
            flow = self.flows.current(row.flow_name)
            plan.update("root", blocks.ended_root_message(row.user, flow.title, what))
        pinned = self._pinned(row)
        if pinned is None or pinned.conversation_id != row.id:
            return False
        plan.unpin()
        return True

    def expire_idle(self, limit: int = 100) -> int:
        """Expire conversations idle past their time, tidying each thread up: the open
        question loses its buttons, a result its Start over / Change an answer, and the
        channel message says so (a pinned result no longer offers an estimate). Runs on
        the deliverer's maintenance schedule."""
        expired = 0
        rows = self.store.idle_conversations(limit)
        for row in rows:
            conversation = Conversation.restore(self.flows, row.record)
            plan = Plan(row.channel, {NOTIFY_USER: row.user})
            what = self._ended(Status.EXPIRED)
            question = conversation.question()
            recommendation = conversation.recommendation()
            unpinned = False
            if question is not None:
                number = len(conversation.record.answers) + 1
                closed = blocks.closed_message(question.text, number, what)
                plan.update(f"q{conversation.step}", closed)
                unpinned = self._tidy_root(plan, row, what)
            elif recommendation is not None:
                user = None if plan.dm else row.user
                closed = blocks.recommendation_message(recommendation, user=user, footer=what)
                plan.update(f"r{conversation.step}", closed)
                if not plan.dm:
                    root = blocks.result_root_message(
                        recommendation, row.user, row.permalink, expired=True
                    )
                    plan.update("root", root)
            expired += self.store.expire(row.id, row.version, plan.messages, unpinned=unpinned)
        return expired
