"""What every step shows and commits: the next question, the result and its pin, the
answers so far, and the commit of the conversation as it now stands.

How a thread reads (the renderer keeps to it):

- A click answers in place: the question becomes the next question (or the result),
  headed by the answers so far. Nothing was said under it, so the thread still reads
  top-down, and a run by buttons is one message, edited.
- A typed reply sits under the question it answers, so that question only loses its
  buttons ("Answered below") and the next question is posted under the reply, headed
  by what the reply was taken to say, every number shown.
- At most one result per person and channel is pinned: a newer one takes the pin, and
  no pin or unpin is asked for that would change nothing.
"""

from __future__ import annotations

from bot.conversation import Advanced, Conversation
from bot.conversation.recommendation import Recommendation
from bot.steps.messages import (
    Answered,
    Ask,
    Commit,
    Head,
    Message,
    Note,
    Pin,
    ResultEffect,
    Scene,
    ShowResult,
    Step,
    Unpin,
)

KEEPS_TIME = ResultEffect(keeps_time=True)


def answered(conversation: Conversation) -> tuple[Answered, ...]:
    """The answers so far as (number, question title, option)."""
    questions = conversation.flow.questions
    return tuple(
        (n, questions[a.decision].title if a.decision in questions else a.decision, a.option)
        for n, a in enumerate(conversation.record.answers, start=1)
    )


def taken(conversation: Conversation, result: Advanced, typed: str | None) -> Head:
    """The head of the next question: after a typed reply, what it gave (each answer it
    gave, numbered); after a click, every answer so far."""
    so_far = answered(conversation)
    if typed is None:
        return Head(so_far, None, (result.answer.note or "",))
    steps = (result, *result.more)
    notes = tuple(step.answer.note or "" for step in steps)
    return Head(so_far[len(so_far) - len(steps) :], typed, notes)


def ask(
    conversation: Conversation, *, replaces: int | None = None, head: Head | None = None
) -> list[Message]:
    """The current question (none when the conversation has no question open)."""
    question = conversation.question()
    if question is None:
        return []
    return [Ask(question, conversation.step, conversation.progress(), head, replaces)]


def show_result(
    scene: Scene, rec: Recommendation, step: int, replaces: int | None = None
) -> tuple[list[Message], ResultEffect]:
    """The result, and in a channel its pin: the starter's older result pinned there
    comes down, unless this one is pinned already. A direct message pins nothing."""
    says: list[Message] = [ShowResult(rec, step, replaces)]
    if scene.private:
        return says, ResultEffect()
    pinned = scene.pinned()
    if pinned is not None and pinned.conversation_id == scene.conversation_id:
        return says, ResultEffect(pinned=True)  # the first message is pinned already
    if pinned is not None and pinned.thread_ts:
        says.append(Unpin(pinned.thread_ts))
    says.append(Pin())
    return says, ResultEffect(pinned=True)


def commit(
    conversation: Conversation,
    rec: Recommendation | None,
    result: ResultEffect = KEEPS_TIME,
) -> Commit:
    """The conversation as it now stands, with ``rec`` (its result, computed once by the
    step; None: no result, or the stored summary stands) summarised for history. Only
    the step that reaches the result sets its time (``result`` from `show_result`): an
    estimate added later keeps it."""
    summary = rec.summary() if rec is not None else None
    return Commit(conversation.to_dict(), conversation.status, summary, result)


def note(text: str) -> Step:
    """A private note, and nothing committed."""
    return Step((Note(text),))
