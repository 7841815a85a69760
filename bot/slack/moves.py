"""What each thing a person does in Slack becomes: one committed step and its outbox.

A listener calls one method here; it restores the conversation, makes the
move with the pure engine, and commits the new record together with the
messages to send (`Store.apply_step`). Nothing here calls Slack: the outbox
deliverer does, after the ack.

Message names inside a conversation: `root` is the channel message; `q<step>`
is the question asked at that step and `r<step>` the recommendation shown at
that step. A move from step s closes the message of step s (its buttons go)
and posts the message of step s + 1, except the answer that finishes: its
question is edited into the result, which then goes by `r<step>`.
"""

from __future__ import annotations

import logging
import uuid
from typing import Literal

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
from bot.flow.loader import FlowRegistry
from bot.slack import blocks, estimate_blocks
from bot.slack.blocks import mention
from bot.slack.inputs import parse_button_value
from bot.slack.native_chart import has_native_chart
from bot.slack.plan import REPLACES, ROOT, Click, DirectMessage, Plan, Turn
from bot.store import OutboxMessage, Store
from bot.store.models import (
    NOTIFY_RESPONSE_URL,
    NOTIFY_USER,
    Claims,
    ConversationRow,
    Outcome,
    utcnow,
)

log = logging.getLogger(__name__)

Policy = Literal["starter", "anyone"]
REPLACED = "Replaced by a newer conversation."
ENDED = {
    Status.CANCELLED: "This conversation was cancelled.",
    Status.EXPIRED: "This conversation expired after being idle.",
}


class Moves:
    """The app's behaviour, independent of how requests arrive."""

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
        self.store = store
        self.native_charts = native_charts
        self.flows = flows
        self.flow_name = flow_name
        self.command = command
        self.policy = policy

    # -- slash command ------------------------------------------------------------------

    def start(
        self,
        *,
        team: str,
        channel: str,
        user: str,
        response_url: str | None,
        trigger_id: str | None = None,
        claims: Claims | None = None,
        first_reply: str | None = None,
    ) -> str | None:
        """Open a thread: root message in the channel, first question in its thread.
        A person's earlier open conversation in the same channel is ended first.
        ``first_reply`` (`/llm-cost fine-tune a 7B on a budget`) answers what it can,
        as a reply in the thread would. A command whose ``trigger_id`` came before (a
        replayed request) does nothing: None."""
        once = f"command:{trigger_id}" if trigger_id else None
        return self._start(team, channel, user, response_url, once, claims, first_reply)

    def start_in_dm(self, opened: DirectMessage, claims: Claims | None = None) -> str | None:
        """The normal start, in the direct message opened for a plan asked for from the
        App Home or the shortcut; once per opening (``opened.key``)."""
        return self._start(opened.team, opened.channel, opened.user, None, opened.key, claims)

    def _start(
        self,
        team: str,
        channel: str,
        user: str,
        response_url: str | None,
        once: str | None,
        claims: Claims | None,
        first_reply: str | None = None,
    ) -> str | None:
        # Marked seen with the new conversation, in one transaction: a start that fails
        # half-way (and is retried, as a New plan's outbox row is) starts afresh.
        if once and self.store.was_seen(once):
            log.warning("ignoring a replayed start (%s)", once.split(":", 1)[0])
            return None
        turn = Turn(user, response_url, claims=claims)
        previous = self.store.find_open_for_user(team, channel, user)
        # The earlier conversation's channel message is edited to say it was replaced, by
        # this conversation, with this thread's link once that exists (the permalink
        # row below). Only an edit the earlier one had queued and not yet sent (a
        # backlog) could land after it; the earlier queue unpins that message.
        replaces = None
        if previous is not None:
            root_ts = previous.thread_ts
            if self._end(previous, turn, REPLACED, edit_root=root_ts is None):
                replaces = root_ts
        flow = self.flows.current(self.flow_name)
        conversation = Conversation.start(flow)
        conversation_id = uuid.uuid4().hex
        plan = self._plan(channel, user, turn)
        root = {"channel": channel, **blocks.root_message(user, flow.title), **plan.notify}
        plan.messages.append(OutboxMessage("post", root, ref="root", sets_thread=True))
        if first_reply:
            self._first_reply(plan, conversation, user, first_reply)
        self._open(plan, conversation, conversation_id, user)
        # The thread's link, for history and the App Home; after the first question so
        # that it never delays that one (the next question may wait behind it).
        link: dict = {"channel": channel, "message_ts": ROOT}
        if replaces is not None:
            link[REPLACES] = {"ts": replaces, "user": user, "title": flow.title}
        plan.messages.append(OutboxMessage("permalink", link))
        created = self.store.create_conversation(
            conversation_id=conversation_id,
            team=team,
            channel=channel,
            user=user,
            flow_name=flow.name,
            flow_hash=flow.source_hash,
            record=conversation.to_dict(),
            outbox=plan.messages,
            claims=claims,
            seen=once,
        )
        if created is None:
            log.warning("ignoring a replayed start (%s)", str(once).split(":", 1)[0])
            return None
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
            plan.post(blocks.took_message(user, text, taken))
        elif isinstance(result, Reprompt) and question is not None:
            plan.ephemeral(user, blocks.reprompt_message(question, result.reason, text))

    def cancel_open(
        self, *, team: str, channel: str, user: str, claims: Claims | None = None
    ) -> bool:
        """`/llm-cost cancel`: end the caller's open conversation here; False if none."""
        row = self.store.find_open_for_user(team, channel, user)
        if row is None:
            return False
        return self._end(row, Turn(user, claims=claims), f"Cancelled by {mention(user)}.")

    def cancel_own(
        self, *, team: str, user: str, conversation_id: str, claims: Claims | None = None
    ) -> bool:
        """Cancel one of the caller's own open conversations by its id (the App Home's
        Cancel); False when it is not theirs or no longer open."""
        row = self.store.get(conversation_id)
        if row is None or row.team != team or row.user != user or row.status != Status.ACTIVE:
            return False
        return self._end(row, Turn(user, claims=claims), f"Cancelled by {mention(user)}.")

    def plan_in_dm(self, *, team: str, user: str, key: str, claims: Claims | None = None) -> None:
        """*New plan* (App Home) or the shortcut: open a direct message with the person
        and start there. Opening it is a Slack call, so it goes through the person's own
        queue (`SlackSender` then calls `start_in_dm`); ``key`` makes a replay do nothing."""
        queue = self.store.person_queue(team, user)
        message = OutboxMessage("open_dm", {"user": user, "_team": team})
        if not self.store.enqueue(queue, [message], seen=key, claims=claims):
            log.warning("ignoring a replayed request for a new plan")

    def end_workspace(self, team: str, reason: str) -> int:
        """The app was uninstalled from ``team`` (or its tokens revoked): nothing more
        can be posted there, so its conversations end and their queue is dropped."""
        return self.store.end_workspace(team, reason)

    # -- buttons ------------------------------------------------------------------------

    def click(self, click: Click, claims: Claims | None = None) -> None:
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
        turn = Turn(click.user, click.response_url, claims=claims)
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
            self._move(row, conversation, turn, "restart")
        elif click.action_id == blocks.BACK_ACTION:
            self._move(row, conversation, turn, "back")
        elif click.action_id == blocks.CHANGE_ACTION and choice is not None:
            self._move(row, conversation, turn, "back", to=choice)
        elif click.action_id == blocks.CANCEL_ACTION:
            self._end(row, turn, f"Cancelled by {mention(turn.user)}.", conversation)
        elif click.action_id == blocks.ESTIMATE_ACTION:
            self._estimate(row, conversation, turn, conversation.run("estimate"))

    # -- typed replies in a thread --------------------------------------------------------

    def typed(
        self,
        *,
        team: str,
        channel: str,
        thread_ts: str,
        user: str,
        text: str,
        event_key: str,
        claims: Claims | None = None,
    ) -> None:
        """A person's reply in a thread. Unrelated threads cost one indexed read. The
        event is marked seen by the transaction that commits (or refuses) its step, so
        a Slack retry after a failure is still handled."""
        row = self.store.find_by_thread(team, channel, thread_ts)
        if row is None:
            return
        turn = Turn(user, seen=event_key, claims=claims)
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

    def _plan(self, channel: str, starter: str, turn: Turn) -> Plan:
        notify = {NOTIFY_USER: starter}
        if turn.response_url:
            notify[NOTIFY_RESPONSE_URL] = turn.response_url
        closes_until = (utcnow() + self.store.idle_timeout).isoformat()
        return Plan(channel, notify, closes_until)

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
        elif isinstance(result, EstimateAsk | EstimateReady):
            self._estimate(row, conversation, turn, result)
        elif isinstance(result, CommandGiven):
            if result.name == "estimate":
                self._estimate(row, conversation, turn, conversation.run("estimate"))
            elif result.name == "help":
                self._tell(row, turn, blocks.help_message(conversation.question(), self.command))
            elif result.name == "cancel":
                if conversation.status is Status.ACTIVE:
                    self._end(row, turn, f"Cancelled by {mention(turn.user)}.", conversation)
            else:
                self._move(row, conversation, turn, result.name)
        elif isinstance(result, Advanced):
            plan = self._plan(row.channel, row.user, turn)
            asked = f"q{conversation.step - 1 - len(result.more)}"
            if conversation.recommendation() is not None:
                # The last answer: its question becomes the result (one edit, no new post).
                self._open(plan, conversation, row.id, row.user, asked, permalink=row.permalink)
                self._commit(row, conversation, plan, turn)
                return
            # The question asked, and any after it the same reply answered too.
            number = len(conversation.record.answers) - len(result.more)
            plan.close(
                asked,
                blocks.answered_message(
                    result.question,
                    number,
                    turn.user,
                    result.answer.option,
                    typed,
                    result.answer.note,
                    also=[(a.question.title, a.answer.option, a.answer.note) for a in result.more],
                ),
            )
            self._open(plan, conversation, row.id, row.user, permalink=row.permalink)
            self._commit(row, conversation, plan, turn)

    def _move(
        self,
        row: ConversationRow,
        conversation: Conversation,
        turn: Turn,
        move: CommandName,
        to: int | None = None,
    ) -> None:
        """`back` or `restart`: close the current message, post the new current one."""
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
        what = (
            f"{mention(turn.user)} went back to change an answer."
            if move == "back"
            else f"{mention(turn.user)} started over."
        )
        if before_status is Status.FINISHED and recommendation is not None:
            closed = blocks.recommendation_message(recommendation, user=row.user, footer=what)
            plan.close(f"r{before_step}", closed)
        elif question is not None:
            plan.close(f"q{before_step}", blocks.closed_message(question.text, number, what))
        self._open(plan, conversation, row.id, row.user, permalink=row.permalink)
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
        plan.post(card)
        # The result's headline now carries the count and the cost.
        plan.update(
            f"r{step}", blocks.recommendation_message(recommendation, row.id, step, row.user)
        )
        plan.update("root", blocks.result_root_message(recommendation, row.user, row.permalink))
        if not has_native_chart(card):  # Slack draws its own chart in the card
            plan.chart(estimate_blocks.chart_payload(outcome.estimate))  # last: the slowest
        self._commit(row, conversation, plan, turn)

    def _open(
        self,
        plan: Plan,
        conversation: Conversation,
        conversation_id: str,
        starter: str,
        replacing: str | None = None,
        permalink: str | None = None,
    ) -> None:
        """Post what the current step shows: the next question, or the result (pinned).
        With ``replacing`` (the question just answered), the result is that message
        edited rather than a new post: the thread stays one message shorter. The
        channel's copy links to the thread (``permalink``) once Slack gave the link."""
        step = conversation.step
        question = conversation.question()
        if question is not None:
            message = blocks.question_message(
                question, conversation_id, step, conversation.progress()
            )
            plan.post(message, ref=f"q{step}")
            return
        recommendation = conversation.recommendation()
        if recommendation is None:
            return
        result = blocks.recommendation_message(recommendation, conversation_id, step, starter)
        if replacing is None:
            plan.post(result, ref=f"r{step}")
        else:
            plan.update(replacing, result, becomes=f"r{step}")
        plan.update("root", blocks.result_root_message(recommendation, starter, permalink))
        plan.pin_root()

    def _end(
        self,
        row: ConversationRow,
        turn: Turn,
        what: str,
        conversation: Conversation | None = None,
        *,
        edit_root: bool = True,
    ) -> bool:
        """Cancel: close the current message and say so in the thread (and in the
        channel message, unless the newer conversation does: ``edit_root``)."""
        conversation = conversation or Conversation.restore(self.flows, row.record)
        question = conversation.question()
        number = len(conversation.record.answers) + 1
        step = conversation.step
        if isinstance(conversation.run("cancel"), Refused):
            return False
        plan = self._plan(row.channel, row.user, turn)
        if question is not None:
            plan.close(f"q{step}", blocks.closed_message(question.text, number, what))
        again = f"Start again any time with `{self.command}`."
        plan.post(blocks.note_message(f"{what} {again}"))
        self._tidy_root(plan, row, f"{what} {again}", edit=edit_root)
        return self._commit(row, conversation, plan, turn)

    def _tidy_root(self, plan: Plan, row: ConversationRow, what: str, edit: bool = True) -> None:
        """The channel message says how the conversation ended; a result that was
        pinned there before a Start over comes down (unpinning nothing does nothing)."""
        if edit:
            flow = self.flows.current(row.flow_name)
            plan.update("root", blocks.ended_root_message(row.user, flow.title, what))
        plan.unpin_root()

    def expire_idle(self, limit: int = 100) -> int:
        """Expire conversations idle past their time, tidying each thread up: the open
        question loses its buttons, a result its Start over / Change an answer, and the
        channel message says so. Runs on the deliverer's maintenance schedule."""
        expired = 0
        rows = self.store.idle_conversations(limit)
        for row in rows:
            conversation = Conversation.restore(self.flows, row.record)
            plan = Plan(row.channel, {NOTIFY_USER: row.user})
            what = self._ended(Status.EXPIRED)
            question = conversation.question()
            recommendation = conversation.recommendation()
            if question is not None:
                number = len(conversation.record.answers) + 1
                closed = blocks.closed_message(question.text, number, what)
                plan.update(f"q{conversation.step}", closed)
                self._tidy_root(plan, row, what)
            elif recommendation is not None:
                closed = blocks.recommendation_message(recommendation, user=row.user, footer=what)
                plan.update(f"r{conversation.step}", closed)
            expired += self.store.expire(row.id, row.version, plan.messages)
        return expired

    def _commit(
        self, row: ConversationRow, conversation: Conversation, plan: Plan, turn: Turn
    ) -> bool:
        recommendation = conversation.recommendation()
        result = self.store.apply_step(
            row.id,
            row.version,
            conversation.to_dict(),
            plan.messages,
            status=conversation.status.value,
            recommendation=recommendation.summary() if recommendation else None,
            seen=turn.seen,
            claims=turn.claims,
        )
        if result.outcome is Outcome.APPLIED:
            return True
        refusal = Turn(turn.user, turn.response_url, claims=turn.claims)  # seen by now
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
        self.store.enqueue(row.id, messages, seen=turn.seen, claims=turn.claims)
