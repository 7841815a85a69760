"""What each thing a person does in Slack becomes: one committed step and its outbox.

A listener calls one method here. It looks the conversation up and restores it, asks
the application layer (`bot.steps`) for the step (the pure move and what to say),
renders that into Block Kit and outbox rows (`bot.slack.render`, which alone knows
the rows' names) and commits the new record together with them (`Store.apply_step`).
Nothing here calls Slack: the outbox deliverer does, after the ack.
"""

from __future__ import annotations

import logging
import uuid

from bot import steps
from bot.conversation import Conversation
from bot.slack import blocks, start_messages
from bot.slack.endings import Endings
from bot.slack.inputs import parse_button_value
from bot.slack.move_base import Policy
from bot.slack.plan import Click, DirectMessage, Turn
from bot.slack.render import Thread, link_rows, render
from bot.store import OutboxMessage
from bot.store.models import ConversationRow, ResultChange

log = logging.getLogger(__name__)

__all__ = ["Moves", "Policy"]


class Moves(Endings):
    """The app's behaviour, independent of how requests arrive."""

    # -- slash command ------------------------------------------------------------------

    def start(
        self,
        *,
        team: str,
        channel: str,
        user: str,
        response_url: str | None,
        trigger_id: str | None = None,
        first_reply: str | None = None,
    ) -> str | None:
        """Open a thread: root message in the channel, first question in its thread.
        A person's earlier open conversation in the same channel is ended first.
        ``first_reply`` (`/llm-cost fine-tune a 7B on a budget`) answers what it can,
        as a reply in the thread would. A command whose ``trigger_id`` came before (a
        replayed request) does nothing: None."""
        once = f"command:{trigger_id}" if trigger_id else None
        return self._start(team, channel, user, response_url, once, first_reply)

    def start_in_dm(self, opened: DirectMessage) -> str | None:
        """The normal start, in the direct message opened for a plan asked for from the
        App Home or the shortcut; once per opening (``opened.key``)."""
        return self._start(opened.team, opened.channel, opened.user, None, opened.key, home=True)

    def _start(
        self,
        team: str,
        channel: str,
        user: str,
        response_url: str | None,
        once: str | None,
        first_reply: str | None = None,
        *,
        home: bool = False,
    ) -> str | None:
        """``first_reply``: see `start`. ``home``: the person asked from the App Home (or
        the shortcut), which is published again once the thread's link is known."""
        # Marked seen with the new conversation, in one transaction: a start that fails
        # half-way (and is retried, as a New plan's outbox row is) starts afresh.
        if once and self.store.was_seen(once):
            log.warning("ignoring a replayed start (%s)", once.split(":", 1)[0])
            return None
        turn = Turn(user, response_url)
        previous = self.store.find_open_for_user(team, channel, user)
        flow = self.flows.current(self.flow_name)
        # The earlier conversation's channel message is edited to say it was replaced, by
        # this conversation, with this thread's link once that exists (the permalink
        # row). Only an edit the earlier one had queued and not yet sent (a backlog)
        # could land after it; the earlier queue unpins that message if a result of it
        # was pinned there.
        replaced = None
        if previous is not None:
            root_ts = previous.thread_ts
            if self._end(previous, turn, "replaced", edit_root=root_ts is None) and root_ts:
                replaced = {"ts": root_ts, "user": user, "title": flow.title}
        conversation = Conversation.start(flow)
        conversation_id = uuid.uuid4().hex
        scene = self._scene_at(conversation_id, team, channel, user, user)
        step = steps.start(conversation, scene, first_reply)
        plan = self._plan(channel, user, turn)
        render(plan, step.says, Thread(conversation_id, user, user, None, self.command))
        # The thread's link, for history and the App Home; after the first question so
        # that it never delays that one (the next question may wait behind it).
        link_rows(plan, replaced, team, user, home)
        commit = step.commit
        assert commit is not None  # a start always makes a conversation
        created = self.store.create_conversation(
            conversation_id=conversation_id,
            team=team,
            channel=channel,
            user=user,
            flow_name=flow.name,
            flow_hash=flow.source_hash,
            record=commit.record,
            status=commit.status.value,
            outbox=plan.messages,
            seen=once,
        )
        if created is None:
            log.warning("ignoring a replayed start (%s)", str(once).split(":", 1)[0])
            return None
        if commit.summary is not None:  # the first reply answered it all: history, the pin
            effect = commit.result
            self.store.apply_step(
                conversation_id,
                created.version,
                commit.record,
                recommendation=commit.summary,
                result=ResultChange(effect.keeps_time, effect.drop, effect.pinned),
            )
        return conversation_id

    def plan_in_dm(self, *, team: str, user: str, key: str) -> None:
        """*New plan* (App Home) or the shortcut: open a direct message with the person
        and start there. Opening it is a Slack call, so it goes through the person's own
        queue (an after-send hook then calls `start_in_dm`); ``key`` makes a replay do nothing."""
        queue = self.store.person_queue(team, user)
        message = OutboxMessage("open_dm", {"user": user, "_team": team})
        if not self.store.enqueue(queue, [message], seen=key):
            log.warning("ignoring a replayed request for a new plan")

    # -- buttons ------------------------------------------------------------------------

    def click(self, click: Click) -> None:
        """A button on a question or a recommendation."""
        parsed = parse_button_value(click.value)
        if parsed is None:
            log.warning("ignoring a button with a malformed value")
            return
        conversation_id, step, choice = parsed
        row = self.store.get(conversation_id)
        if row is None or row.team != click.team or row.channel != click.channel:
            log.warning("ignoring a button that points at no conversation of this channel")
            return
        if click.action_id in (blocks.START_NEW_ACTION, blocks.RESUME_ACTION):
            self._resume_or_new(row, click, step)
            return
        action = _action(click.action_id)
        if action is None:
            return
        conversation = Conversation.restore(self.flows, row.record)
        made = steps.click(conversation, self._scene(row, click.user), action, step, choice)
        self._carry_out(row, made, Turn(click.user, click.response_url))

    # -- typed replies in a thread --------------------------------------------------------

    def typed(
        self,
        *,
        team: str,
        channel: str,
        thread_ts: str | None,
        user: str,
        text: str,
        event_key: str,
    ) -> None:
        """A person's reply in a thread, or (``thread_ts`` None) in the main stream of
        their direct message with the app, where it answers their latest conversation.
        Unrelated threads cost one indexed read. The event is marked seen by the
        transaction that commits (or refuses) its step, so a Slack retry after a
        failure is still handled."""
        if thread_ts is None:
            row = self.store.latest_in_channel(team, channel, user)
        else:
            row = self.store.find_by_thread(team, channel, thread_ts)
        if row is None:
            return
        conversation = Conversation.restore(self.flows, row.record)
        made = steps.typed(conversation, self._scene(row, user), text)
        self._carry_out(row, made, Turn(user, seen=event_key))

    # -- a second start while a plan is open ----------------------------------------------

    def ask_resume_or_new(
        self, *, team: str, channel: str, user: str, typed: str | None = None
    ) -> dict | None:
        """`/llm-cost` while the person has a plan open here: the private "Resume or
        start new?" message (its *Start new* ends the open plan, see `_resume_or_new`);
        None when nothing is open, and the caller starts as usual."""
        row = self.store.find_open_for_user(team, channel, user)
        if row is None:
            return None
        conversation = Conversation.restore(self.flows, row.record)
        question = conversation.question()
        return start_messages.resume_or_new_message(
            row.id,
            conversation.step,
            row.permalink,
            question.text if question else None,
            typed,
            self.command,
        )

    def _resume_or_new(self, row: ConversationRow, click: Click, step: int) -> None:
        """The buttons of "Resume or start new?": *Resume* is a link (nothing to do);
        *Start new* starts afresh, ending the open plan, once however often it is
        clicked."""
        if click.action_id != blocks.START_NEW_ACTION or click.user != row.user:
            return
        once = f"start_new:{row.id}:{step}"
        self._start(row.team, row.channel, row.user, click.response_url, once)


_ACTIONS: dict[str, steps.Action] = {
    blocks.RESTART_ACTION: "restart",
    blocks.BACK_ACTION: "back",
    blocks.CHANGE_ACTION: "change",
    blocks.CANCEL_ACTION: "cancel",
    blocks.ESTIMATE_ACTION: "estimate",
}


def _action(action_id: str) -> steps.Action | None:
    """What a button's ``action_id`` asks for (an option's button: `answer`)."""
    if action_id.startswith(blocks.ANSWER_ACTION):
        return "answer"
    return _ACTIONS.get(action_id)
