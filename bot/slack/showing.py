"""What a step shows in the thread, as outbox messages on a `Plan`: the next question
(edited in place of the one just answered when nothing came between them), the result
and its pinned channel copy, and the marks on what an answer change superseded.

Pure functions of the conversation, the plan and what the store said (which result of
the person is pinned); `Moves` commits what they build. How a thread reads:

- A click answers in place: the question message becomes the next question, headed by
  the answers so far. Nothing was said under it, so the thread still reads top-down,
  and a run by buttons is one message, edited, instead of one post per question.
- A typed reply sits under the question it answers, so that question only loses its
  buttons ("Answered below") and the next question is posted under the reply, headed
  by what the reply was taken to say, every number shown (no gaps when one reply
  answered several questions).
- At most one result per person and channel is pinned: a newer one takes the pin, and
  no pin or unpin is sent that would change nothing (the store knows which is pinned).
"""

from __future__ import annotations

from typing import NamedTuple

from bot.conversation import Advanced, Conversation
from bot.conversation.recommendation import Recommendation
from bot.slack import blocks
from bot.slack.plan import Plan
from bot.store.models import ConversationRow, PinnedResult, ResultChange

ANSWERED_BELOW = "Answered below."


class Where(NamedTuple):
    """The conversation a result belongs to, before it has a stored row."""

    id: str
    user: str
    permalink: str | None


def answered(conversation: Conversation) -> list[tuple[int, str, str]]:
    """The answers so far as (number, question title, option)."""
    questions = conversation.flow.questions
    return [
        (n, questions[a.decision].title if a.decision in questions else a.decision, a.option)
        for n, a in enumerate(conversation.record.answers, start=1)
    ]


def taken(conversation: Conversation, result: Advanced, typed: str | None) -> str:
    """The head of the next message: after a typed reply, what it gave (each answer it
    gave, numbered); after a click, every answer so far."""
    so_far = answered(conversation)
    if typed is None:
        return blocks.taken_text(so_far, None, [result.answer.note or ""])
    steps = (result, *result.more)
    notes = [step.answer.note or "" for step in steps]
    return blocks.taken_text(so_far[len(so_far) - len(steps) :], typed, notes)


def ask(
    plan: Plan,
    conversation: Conversation,
    conversation_id: str,
    *,
    in_place: str | None = None,
    taken: str | None = None,
) -> None:
    """The current question: posted, or ``in_place`` of that message (a question just
    answered by a click), which then goes by the new question's name."""
    step = conversation.step
    question = conversation.question()
    if question is None:
        return
    message = blocks.question_message(
        question, conversation_id, step, conversation.progress(), taken=taken, dm=plan.dm
    )
    if in_place is None:
        plan.post(message, ref=f"q{step}")
    else:
        plan.close(in_place, message, becomes=f"q{step}")


def show_result(
    plan: Plan,
    row: ConversationRow | Where,
    rec: Recommendation,
    step: int,
    pinned: PinnedResult | None,
    *,
    in_place: str | None = None,
) -> ResultChange:
    """The result: posted, or ``in_place`` of the question a click just answered. In a
    channel its copy replaces the channel message and is pinned, unless it already is;
    the person's older result pinned there comes down. A direct message has no copy
    and no pin: the result is right there in the conversation."""
    # Whose it is goes into an edit only: a new post naming them would ping them.
    user = None if plan.dm or in_place is None else row.user
    result = blocks.recommendation_message(rec, row.id, step, user)
    if in_place is None:
        plan.post(result, ref=f"r{step}")
    else:
        plan.update(in_place, result, becomes=f"r{step}")
    if plan.dm:
        return ResultChange()
    plan.update("root", blocks.result_root_message(rec, row.user, row.permalink))
    if pinned is not None and pinned.conversation_id == row.id:
        return ResultChange(pinned=True)  # the channel message is pinned already
    if pinned is not None and pinned.thread_ts:
        plan.unpin(pinned.thread_ts)
    plan.pin_root()
    return ResultChange(pinned=True)


def supersede(plan: Plan, row: ConversationRow, rec: Recommendation, step: int, what: str) -> None:
    """Going back from a result: the result and its estimate collapse to a line saying
    they no longer stand, and the pinned copy says the result is being revised (it
    keeps its pin: the new result takes it over with an edit, no pin call)."""
    plan.close(f"r{step}", blocks.superseded_result_message(rec, what))
    if rec.estimate is not None:
        plan.update(f"e{step}", blocks.superseded_estimate_message(rec, what))
    if not plan.dm:
        plan.update("root", blocks.revising_root_message(rec, row.user, row.permalink))
