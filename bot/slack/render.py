"""A step's semantic messages (`bot.steps.messages`) as Block Kit, on a `Plan`'s outbox
rows. The one module that knows the messages' names inside a conversation:

- ``root``: the first message (in a channel, the one its thread hangs on, which
  becomes the result's pinned copy);
- ``q<step>``: the question asked at that step; ``r<step>``: the result shown at that
  step; ``e<step>``: its estimate.

A click edits the question it answered into what comes next (the next question, or
the result), which then goes by the new name.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.slack import blocks, estimate_blocks, start_messages
from bot.slack.native_chart import has_native_chart
from bot.slack.plan import HOME_FOR, REPLACES, ROOT, Plan
from bot.steps.messages import (
    Ask,
    AskEstimate,
    Chart,
    CloseQuestion,
    CloseResult,
    EndRoot,
    Greet,
    Head,
    Help,
    Message,
    Note,
    Pin,
    Reprompt,
    RepromptEstimate,
    ShowEstimate,
    ShowResult,
    Supersede,
    Tell,
    Took,
    Unpin,
)
from bot.store import OutboxMessage

ROOT_REF = ROOT["$ref"]  # "root"


def question_ref(step: int) -> str:
    return f"q{step}"


def result_ref(step: int) -> str:
    return f"r{step}"


def estimate_ref(step: int) -> str:
    return f"e{step}"


@dataclass(frozen=True)
class Thread:
    """What rendering needs of the conversation beyond the messages: its id (in the
    buttons), whose it is, who acted (private messages go to them), its thread link,
    the slash command, and whether Slack draws the estimate's chart in the card."""

    conversation_id: str
    starter: str
    actor: str
    permalink: str | None = None
    command: str = "/llm-cost"
    native_charts: bool = False


def render(plan: Plan, says: Iterable[Message], thread: Thread) -> None:
    """Append each message's outbox rows to ``plan``, in order."""
    drawn = False  # the estimate card carries Slack's own chart
    for message in says:
        if isinstance(message, ShowEstimate):
            drawn = _estimate(plan, message, thread)
        elif isinstance(message, Chart):
            if not drawn:
                plan.chart(estimate_blocks.chart_payload(message.estimate))
        else:
            _one(plan, message, thread)


def _one(plan: Plan, message: Message, thread: Thread) -> None:
    starter, cid = thread.starter, thread.conversation_id
    if isinstance(message, Greet):
        greeting = blocks.root_message(starter, message.title, dm=plan.dm)
        root = {"channel": plan.channel, **greeting, **plan.notify}
        plan.messages.append(OutboxMessage("post", root, ref=ROOT_REF, sets_thread=True))
    elif isinstance(message, Took):
        plan.post(start_messages.took_message(starter, message.typed, list(message.taken)))
    elif isinstance(message, Ask):
        taken = _head(message.head) if message.head else None
        asked = blocks.question_message(
            message.question, cid, message.step, message.progress, taken=taken, dm=plan.dm
        )
        if message.replaces is None:
            plan.post(asked, ref=question_ref(message.step))
        else:
            plan.close(question_ref(message.replaces), asked, becomes=question_ref(message.step))
    elif isinstance(message, CloseQuestion):
        before = blocks.answers_line(message.before) if message.before else None
        closed = blocks.closed_message(message.text, message.number, message.why, before)
        plan.close(question_ref(message.step), closed)
    elif isinstance(message, ShowResult):
        _result(plan, message, thread)
    elif isinstance(message, Pin):
        plan.pin_root()
    elif isinstance(message, Unpin):
        plan.unpin(message.thread_ts or ROOT)
    elif isinstance(message, Supersede):
        rec, step, why = message.recommendation, message.step, message.why
        plan.close(result_ref(step), blocks.superseded_result_message(rec, why))
        if rec.estimate is not None:
            plan.update(estimate_ref(step), blocks.superseded_estimate_message(rec, why))
        if not plan.dm:
            plan.update(ROOT_REF, blocks.revising_root_message(rec, starter, thread.permalink))
    elif isinstance(message, EndRoot):
        plan.update(ROOT_REF, blocks.ended_root_message(starter, message.title, message.why))
    elif isinstance(message, Tell):
        plan.post(blocks.note_message(message.text))
    elif isinstance(message, AskEstimate):
        plan.post(estimate_blocks.estimate_question_message(message.follow_up, message.asked))
    elif isinstance(message, CloseResult):
        rec, user = message.recommendation, None if plan.dm else starter
        closed = blocks.recommendation_message(rec, user=user, footer=message.why)
        plan.update(result_ref(message.step), closed)
        if not plan.dm:
            root = blocks.result_root_message(rec, starter, thread.permalink, expired=True)
            plan.update(ROOT_REF, root)
    else:
        plan.ephemeral(thread.actor, _private(message, thread))


def _private(message: Message, thread: Thread) -> dict:
    """A message for the person who acted only: the thread stays for questions and
    answers."""
    if isinstance(message, Note):
        return blocks.note_message(message.text)
    if isinstance(message, Reprompt):
        return blocks.reprompt_message(message.question, message.reason, message.typed)
    if isinstance(message, Help):
        return blocks.help_message(message.question, thread.command)
    if isinstance(message, RepromptEstimate):
        return estimate_blocks.estimate_reprompt_message(message.follow_up, message.reason)
    raise TypeError(f"no rendering for {type(message).__name__}")


def _head(head: Head) -> str:
    """What heads a question (safe mrkdwn)."""
    if head.lead is not None:
        return f"{head.lead} {blocks.answers_line(head.answers)}".strip()
    return blocks.taken_text(head.answers, head.typed, head.notes)


def _result(plan: Plan, message: ShowResult, thread: Thread) -> None:
    """The result, posted or in place of the question a click answered; in a channel its
    copy replaces the first message (the pin is its own message)."""
    rec, step = message.recommendation, message.step
    # Whose it is goes into an edit only: a new post naming them would ping them.
    user = None if plan.dm or message.replaces is None else thread.starter
    shown = blocks.recommendation_message(rec, thread.conversation_id, step, user)
    if message.replaces is None:
        plan.post(shown, ref=result_ref(step))
    else:
        plan.update(question_ref(message.replaces), shown, becomes=result_ref(step))
    if not plan.dm:
        plan.update(ROOT_REF, blocks.result_root_message(rec, thread.starter, thread.permalink))


def _estimate(plan: Plan, message: ShowEstimate, thread: Thread) -> bool:
    """The estimate's card, and the result's headline with the count and the cost. True
    when the card carries Slack's own chart (no chart to upload)."""
    rec, step = message.recommendation, message.step
    card = estimate_blocks.estimate_message(
        message.estimate, rec, native_chart=thread.native_charts
    )
    plan.post(card, ref=estimate_ref(step))
    user = None if plan.dm else thread.starter
    shown = blocks.recommendation_message(rec, thread.conversation_id, step, user)
    plan.update(result_ref(step), shown)
    if not plan.dm:
        plan.update(ROOT_REF, blocks.result_root_message(rec, thread.starter, thread.permalink))
    return has_native_chart(card)


def link_rows(plan: Plan, replaced: dict | None, team: str, user: str, home: bool) -> None:
    """After a start's first question: the thread's link, for history and the App Home
    (``replaced``: the earlier conversation's first message to edit to link here), and
    with ``home`` the App Home published again once that link is known (by an
    after-send hook, with the view built then: `bot.slack.after_send.publish_home`)."""
    link: dict = {"channel": plan.channel, "message_ts": ROOT}
    if replaced is not None:
        link[REPLACES] = replaced
    if home:
        link[HOME_FOR] = {"team": team, "user": user}
    plan.messages.append(OutboxMessage("permalink", link))
