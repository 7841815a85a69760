"""What a start, a click and a typed reply do to a conversation, and what to say.

Each function takes a restored conversation and where it happens (`Scene`), makes the
pure move, and returns the `Step`: the messages and the commit. The recommendation
and the estimate are computed once per step and handed along.
"""

from __future__ import annotations

from typing import Literal

from bot.conversation import (
    Advanced,
    CommandGiven,
    Conversation,
    EstimateAsk,
    EstimateReady,
    NotActive,
    Refused,
    Status,
)
from bot.conversation.answers import CommandName
from bot.conversation.outcomes import AnswerResult
from bot.conversation.outcomes import Reprompt as Unread
from bot.steps import wording
from bot.steps.ending import end
from bot.steps.estimating import estimate
from bot.steps.messages import (
    CloseQuestion,
    Greet,
    Head,
    Help,
    Message,
    Reprompt,
    Scene,
    Step,
    Supersede,
    Took,
)
from bot.steps.showing import answered, ask, commit, note, show_result, taken

Action = Literal["answer", "back", "change", "restart", "cancel", "estimate"]


def start(conversation: Conversation, scene: Scene, first_reply: str | None = None) -> Step:
    """A new conversation: its first message, then the first question. ``first_reply``
    (the text typed with the start) answers what it can, as a reply would: what it
    answered is said before the next question, what it could not is said privately; it
    may reach the result. The commit is the new conversation's."""
    says: list[Message] = [Greet(conversation.flow.title)]
    if first_reply:
        question = conversation.question()
        result = conversation.answer(first_reply, user=scene.actor)
        if isinstance(result, Advanced):
            given = (result, *result.more)
            said = tuple((a.question.title, a.answer.option, a.answer.note) for a in given)
            says.append(Took(first_reply, said))
        elif isinstance(result, Unread) and question is not None:
            says.append(Reprompt(question, result.reason, first_reply))
    says += ask(conversation)
    rec = conversation.recommendation()  # the first reply answered it all
    if rec is None:
        return Step(tuple(says), commit(conversation, None))
    shown, effect = show_result(scene, rec, conversation.step)
    return Step((*says, *shown), commit(conversation, rec, effect))


def click(
    conversation: Conversation, scene: Scene, action: Action, step: int, choice: int | None
) -> Step:
    """A button of the question or the result of ``step`` (``choice``: the option, or
    for `change` the answer to change)."""
    if not scene.may_answer:
        return note(wording.only_starter(scene.name(scene.starter), scene.command))
    ended = scene.stored if scene.stored in wording.ENDED else conversation.status
    if ended in wording.ENDED:
        return note(wording.ended(ended, scene.command))
    if step != conversation.step:
        return note(wording.ALREADY_ANSWERED)
    if action == "answer":
        if choice is None or conversation.question() is None:
            return Step()
        result = conversation.answer(choice, user=scene.actor)
        return _after_answer(conversation, scene, result, typed=None)
    if action in ("back", "restart"):
        return _move(conversation, scene, action, in_place=True)
    if action == "change" and choice is not None:
        return _move(conversation, scene, "back", choice, in_place=True)
    if action == "cancel":
        return end(conversation, scene, "cancelled")
    if action == "estimate":
        return estimate(conversation, conversation.run("estimate"))
    return Step()


def typed(conversation: Conversation, scene: Scene, text: str) -> Step:
    """A reply typed in the conversation: an answer, a command, or an estimate's amount.
    Under a finished result, others' replies (and chatter) are just conversation."""
    if scene.stored in wording.ENDED:
        if scene.actor != scene.starter:
            return Step()
        return note(wording.ended(scene.stored, scene.command))
    if not scene.may_answer:
        if conversation.question() is None:
            return Step()
        return note(wording.only_starter(scene.name(scene.starter), scene.command))
    result = conversation.answer(text, user=scene.actor)
    if isinstance(result, NotActive):
        return Step()
    return _after_answer(conversation, scene, result, typed=text)


def _after_answer(
    conversation: Conversation, scene: Scene, result: AnswerResult, typed: str | None
) -> Step:
    if isinstance(result, Unread):
        return Step((Reprompt(result.question, result.reason, typed),))
    if isinstance(result, EstimateAsk | EstimateReady | Refused):
        return estimate(conversation, result)
    if isinstance(result, CommandGiven):
        if result.name == "estimate":
            return estimate(conversation, conversation.run("estimate"))
        if result.name == "help":
            return Step((Help(conversation.question()),))
        if result.name == "cancel":
            active = conversation.status is Status.ACTIVE
            return end(conversation, scene, "cancelled") if active else Step()
        return _move(conversation, scene, result.name, in_place=False)
    if isinstance(result, Advanced):
        return _advanced(conversation, scene, result, typed)
    return Step()


def _advanced(
    conversation: Conversation, scene: Scene, result: Advanced, typed: str | None
) -> Step:
    """An answer taken. A click: what comes next replaces the question. A typed reply
    sits under the question: that loses its buttons, and what comes next goes under it."""
    asked = conversation.step - 1 - len(result.more)
    replaces = asked if typed is None else None
    says: list[Message] = []
    if typed is not None:
        number = len(conversation.record.answers) - len(result.more)
        before = answered(conversation)[: number - 1]
        why = wording.ANSWERED_BELOW
        says.append(CloseQuestion(asked, result.question.text, number, why, before))
    rec = conversation.recommendation()
    if rec is not None:
        shown, effect = show_result(scene, rec, conversation.step, replaces)
        return Step((*says, *shown), commit(conversation, rec, effect))
    says += ask(conversation, replaces=replaces, head=taken(conversation, result, typed))
    return Step(tuple(says), commit(conversation, None))


def _move(
    conversation: Conversation,
    scene: Scene,
    move: CommandName,
    to: int | None = None,
    *,
    in_place: bool,
) -> Step:
    """`back` or `restart`: the question asked again replaces the open one (a click)
    or goes under the reply (typed); a result it leaves is marked superseded."""
    before_step = conversation.step
    finished = conversation.status is Status.FINISHED
    question = conversation.question()
    number = len(conversation.record.answers) + 1
    rec = conversation.recommendation() if finished else None
    outcome = conversation.run(move, to)
    if isinstance(outcome, Refused):
        return note(outcome.reason)
    who = "You" if scene.private else scene.name(scene.actor)
    what = wording.moved(move, who)
    says: list[Message] = []
    replaces = None
    if rec is not None:
        says.append(Supersede(rec, before_step, what))
    elif question is not None and in_place:
        replaces = before_step
    elif question is not None:
        says.append(CloseQuestion(before_step, question.text, number, what))
    head = Head(answered(conversation), lead=wording.moved_head(move))
    says += ask(conversation, replaces=replaces, head=head)
    # Back or restart leaves a question open: there is no result to summarise.
    return Step(tuple(says), commit(conversation, None))
