"""What each thing a person does in Slack becomes: one committed step and its outbox.

A listener calls one method here; it restores the conversation, makes the
move with the pure engine, and commits the new record together with the
messages to send (`Store.apply_step`). Nothing here calls Slack: the outbox
deliverer does, after the ack.

Message names inside a conversation: `root` is the channel message; `q<step>`
is the question asked at that step, `r<step>` the recommendation shown at that
step and `e<step>` its estimate. A click edits the question it answered into
what comes next (the next question, or the result), which then goes by the new
name; a typed reply gets what comes next posted under it (see `bot.slack.showing`).
"""

from __future__ import annotations

import logging
import uuid

from bot.answers import CommandName
from bot.conversation import (
    Advanced,
    CommandGiven,
    CommandOutcome,
    Conversation,
    EstimateAsk,
    EstimateReady,
    NotActive,
    Refused,
    Reprompt,
    Status,
)
from bot.slack import blocks, estimate_blocks, showing, start_messages
from bot.slack.blocks import mention
from bot.slack.endings import Endings
from bot.slack.inputs import parse_button_value
from bot.slack.move_base import ENDED, REPLACED, Policy
from bot.slack.native_chart import has_native_chart
from bot.slack.plan import REPLACES, ROOT, Click, DirectMessage, Plan, Turn
from bot.store import OutboxMessage
from bot.store.models import ConversationRow

log = logging.getLogger(__name__)

__all__ = ["ENDED", "REPLACED", "Moves", "Policy"]


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
        # The earlier conversation's channel message is edited to say it was replaced, by
        # this conversation, with this thread's link once that exists (the permalink
        # row below). Only an edit the earlier one had queued and not yet sent (a
        # backlog) could land after it; the earlier queue unpins that message if a
        # result of it was pinned there.
        replaces = None
        if previous is not None:
            root_ts = previous.thread_ts
            if self._end(previous, turn, REPLACED, edit_root=root_ts is None):
                replaces = root_ts
        flow = self.flows.current(self.flow_name)
        conversation = Conversation.start(flow)
        conversation_id = uuid.uuid4().hex
        plan = self._plan(channel, user, turn)
        greeting = blocks.root_message(user, flow.title, dm=plan.dm)
        root = {"channel": channel, **greeting, **plan.notify}
        plan.messages.append(OutboxMessage("post", root, ref="root", sets_thread=True))
        if first_reply:
            self._first_reply(plan, conversation, user, first_reply)
        showing.ask(plan, conversation, conversation_id)
        recommendation = conversation.recommendation()  # the first reply answered it all
        change = None
        if recommendation is not None:
            pinned = None if plan.dm else self.store.pinned_result(team, channel, user)
            where = showing.Where(conversation_id, user, None)
            change = showing.show_result(plan, where, recommendation, conversation.step, pinned)
        # The thread's link, for history and the App Home; after the first question so
        # that it never delays that one (the next question may wait behind it).
        link: dict = {"channel": channel, "message_ts": ROOT}
        if replaces is not None:
            link[REPLACES] = {"ts": replaces, "user": user, "title": flow.title}
        plan.messages.append(OutboxMessage("permalink", link))
        if home:  # built when sent, after the link: the newest state, with the link
            plan.messages.append(OutboxMessage("publish", {"user_id": user, "_team": team}))
        created = self.store.create_conversation(
            conversation_id=conversation_id,
            team=team,
            channel=channel,
            user=user,
            flow_name=flow.name,
            flow_hash=flow.source_hash,
            record=conversation.to_dict(),
            status=conversation.status.value,
            outbox=plan.messages,
            seen=once,
        )
        if created is None:
            log.warning("ignoring a replayed start (%s)", str(once).split(":", 1)[0])
            return None
        if recommendation is not None:  # history and the pin learn of the result
            self.store.apply_step(
                conversation_id,
                created.version,
                conversation.to_dict(),
                recommendation=recommendation.summary(),
                result=change,
            )
        return conversation_id

    def _first_reply(self, plan: Plan, conversation: Conversation, user: str, text: str) -> None:
        """The slash command's text, read as the first reply: what it answered is said
        in the thread before the next question; what it could not answer is said to
        the person alone, beside the first question."""
        question = conversation.question()
        result = conversation.answer(text, user=user)
        if isinstance(result, Advanced):
            taken = [
                (a.question.title, a.answer.option, a.answer.note) for a in (result, *result.more)
            ]
            plan.post(start_messages.took_message(user, text, taken))
        elif isinstance(result, Reprompt) and question is not None:
            plan.ephemeral(user, blocks.reprompt_message(question, result.reason, text))

    def plan_in_dm(self, *, team: str, user: str, key: str) -> None:
        """*New plan* (App Home) or the shortcut: open a direct message with the person
        and start there. Opening it is a Slack call, so it goes through the person's own
        queue (`SlackSender` then calls `start_in_dm`); ``key`` makes a replay do nothing."""
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
        turn = Turn(click.user, click.response_url)
        if click.action_id in (blocks.START_NEW_ACTION, blocks.RESUME_ACTION):
            self._resume_or_new(row, click, step)
            return
        if not self._may_answer(row, click.user):
            self._note(row, turn, self._only_starter(row))
            return
        conversation = Conversation.restore(self.flows, row.record)
        ended = Status(row.status) if row.status in ENDED else conversation.status
        if ended in ENDED:
            self._note(row, turn, self._ended(ended))
            return
        if step != conversation.step:
            self._note(
                row, turn, "That was already answered; the thread shows the current question."
            )
            return
        if click.action_id.startswith(blocks.ANSWER_ACTION):
            if choice is None or conversation.question() is None:
                return
            result = conversation.answer(choice, user=click.user)
            self._after_answer(row, conversation, result, turn, typed=None)
        elif click.action_id == blocks.RESTART_ACTION:
            self._move(row, conversation, turn, "restart", in_place=True)
        elif click.action_id == blocks.BACK_ACTION:
            self._move(row, conversation, turn, "back", in_place=True)
        elif click.action_id == blocks.CHANGE_ACTION and choice is not None:
            self._move(row, conversation, turn, "back", to=choice, in_place=True)
        elif click.action_id == blocks.CANCEL_ACTION:
            self._end(row, turn, self._cancelled(row, turn.user), conversation)
        elif click.action_id == blocks.ESTIMATE_ACTION:
            self._estimate(row, conversation, turn, conversation.run("estimate"))

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
        turn = Turn(user, seen=event_key)
        if row.status in ENDED:
            if user == row.user:  # answering a conversation that is over: say so, privately
                self._note(row, turn, self._ended(Status(row.status)))
            return
        conversation = Conversation.restore(self.flows, row.record)
        if not self._may_answer(row, user):
            if conversation.question() is not None:
                self._note(row, turn, self._only_starter(row))
            return  # under a finished result, others' replies are conversation
        result = conversation.answer(text, user=user)
        if isinstance(result, NotActive):
            return  # other chatter under a finished result is just conversation
        self._after_answer(row, conversation, result, turn, typed=text)

    # -- shared ---------------------------------------------------------------------------

    def _after_answer(
        self,
        row: ConversationRow,
        conversation: Conversation,
        result: object,
        turn: Turn,
        typed: str | None,
    ) -> None:
        if isinstance(result, Reprompt):
            self._tell(row, turn, blocks.reprompt_message(result.question, result.reason, typed))
        elif isinstance(result, EstimateAsk | EstimateReady | Refused):
            self._estimate(row, conversation, turn, result)
        elif isinstance(result, CommandGiven):
            if result.name == "estimate":
                self._estimate(row, conversation, turn, conversation.run("estimate"))
            elif result.name == "help":
                self._tell(row, turn, blocks.help_message(conversation.question(), self.command))
            elif result.name == "cancel":
                if conversation.status is Status.ACTIVE:
                    self._end(row, turn, self._cancelled(row, turn.user), conversation)
            else:
                self._move(row, conversation, turn, result.name, in_place=False)
        elif isinstance(result, Advanced):
            plan = self._plan(row.channel, row.user, turn)
            asked = f"q{conversation.step - 1 - len(result.more)}"
            # A click: what comes next replaces the question. A typed reply sits under
            # the question: that loses its buttons, and what comes next goes under the reply.
            in_place = asked if typed is None else None
            if typed is not None:
                number = len(conversation.record.answers) - len(result.more)
                before = blocks.answers_line(showing.answered(conversation)[: number - 1])
                closed = blocks.closed_message(
                    result.question.text, number, showing.ANSWERED_BELOW, before
                )
                plan.close(asked, closed)
            recommendation = conversation.recommendation()
            if recommendation is not None:
                pinned = None if plan.dm else self._pinned(row)
                change = showing.show_result(
                    plan, row, recommendation, conversation.step, pinned, in_place=in_place
                )
                self._commit(row, conversation, plan, turn, change)
                return
            taken = showing.taken(conversation, result, typed)
            showing.ask(plan, conversation, row.id, in_place=in_place, taken=taken)
            self._commit(row, conversation, plan, turn)

    def _move(
        self,
        row: ConversationRow,
        conversation: Conversation,
        turn: Turn,
        move: CommandName,
        to: int | None = None,
        *,
        in_place: bool,
    ) -> None:
        """`back` or `restart`: the question asked again replaces the open one (a click)
        or goes under the reply (typed); a result it leaves is marked superseded."""
        before_step = conversation.step
        before_status = conversation.status
        question = conversation.question()
        number = len(conversation.record.answers) + 1
        recommendation = conversation.recommendation()
        outcome = conversation.run(move, to)
        if isinstance(outcome, Refused):
            self._note(row, turn, outcome.reason)
            return
        plan = self._plan(row.channel, row.user, turn)
        who = "You" if plan.dm else mention(turn.user)
        what = f"{who} went back to change an answer." if move == "back" else f"{who} started over."
        replacing = None
        if before_status is Status.FINISHED and recommendation is not None:
            showing.supersede(plan, row, recommendation, before_step, what)
        elif question is not None and in_place:
            replacing = f"q{before_step}"
        elif question is not None:
            plan.close(f"q{before_step}", blocks.closed_message(question.text, number, what))
        # The question's head names nobody: posted under a typed reply, a mention would
        # ping the person who typed it.
        head = "Went back to change an answer." if move == "back" else "Started over."
        taken = f"{head} {blocks.answers_line(showing.answered(conversation))}".strip()
        showing.ask(plan, conversation, row.id, in_place=replacing, taken=taken)
        self._commit(row, conversation, plan, turn)

    def _estimate(
        self,
        row: ConversationRow,
        conversation: Conversation,
        turn: Turn,
        outcome: CommandOutcome,
    ) -> None:
        """*Estimate the cost*, or a reply to its follow-up question: ask what is still
        unknown, or post the table and the chart and put the cost in the result."""
        if isinstance(outcome, Refused):
            self._note(row, turn, outcome.reason)
            return
        words = conversation.flow.words.estimate
        if isinstance(outcome, EstimateAsk) and words is not None:
            follow_up = getattr(words.ask, outcome.field)
            if outcome.reason:  # the reply did not give it: say so privately
                message = estimate_blocks.estimate_reprompt_message(follow_up, outcome.reason)
                if not outcome.kept:
                    self._tell(row, turn, message)
                    return
                plan = self._plan(row.channel, row.user, turn)  # what it gave is kept
                plan.ephemeral(turn.user, message)
                self._commit(row, conversation, plan, turn)
                return
            plan = self._plan(row.channel, row.user, turn)
            plan.post(estimate_blocks.estimate_question_message(follow_up, outcome))
            self._commit(row, conversation, plan, turn)
            return
        recommendation = conversation.recommendation()
        if not isinstance(outcome, EstimateReady) or recommendation is None:
            return
        step = conversation.step
        plan = self._plan(row.channel, row.user, turn)
        card = estimate_blocks.estimate_message(
            outcome.estimate, recommendation, native_chart=self.native_charts
        )
        plan.post(card, ref=f"e{step}")
        # The result's headline now carries the count and the cost.
        user = None if plan.dm else row.user
        plan.update(f"r{step}", blocks.recommendation_message(recommendation, row.id, step, user))
        if not plan.dm:
            root = blocks.result_root_message(recommendation, row.user, row.permalink)
            plan.update("root", root)
        if not has_native_chart(card):  # Slack draws its own chart in the card
            plan.chart(estimate_blocks.chart_payload(outcome.estimate))  # last: the slowest
        self._commit(row, conversation, plan, turn)

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
