"""How a conversation ends: cancelled (by the person, or by a newer start of theirs)
or idle past its time. Each ending tidies its thread up: the open question says so in
place, the first message says how it ended, a result it had leaves history, and a
pin of it comes down."""

from __future__ import annotations

from typing import Literal

from bot.conversation import Conversation, Refused, Status
from bot.steps import wording
from bot.steps.messages import (
    CloseQuestion,
    CloseResult,
    EndRoot,
    Message,
    ResultEffect,
    Scene,
    Step,
    Tell,
    Unpin,
)
from bot.steps.showing import commit

Why = Literal["cancelled", "replaced"]


def end(conversation: Conversation, scene: Scene, why: Why, *, edit_root: bool = True) -> Step:
    """Cancel: ``cancelled`` by the person acting, or ``replaced`` by their newer start
    (whose own first message says so unless ``edit_root``). Nothing (no commit) when
    the conversation had ended already."""
    question = conversation.question()
    number = len(conversation.record.answers) + 1
    step = conversation.step
    if isinstance(conversation.run("cancel"), Refused):
        return Step()
    if why == "replaced":
        what, named = wording.REPLACED, False
    else:
        what = wording.cancelled(scene.name(scene.actor), scene.private)
        named = not scene.private
    told = wording.start_again(what, scene.command)
    says: list[Message]
    if question is not None:  # an edit: the name in it pings nobody
        says = [CloseQuestion(step, question.text, number, told)]
    else:  # a new post: it names nobody, or it would ping them
        says = [
            Tell(wording.start_again(wording.CANCELLED_UNNAMED if named else what, scene.command))
        ]
    tidied, unpinned = tidy_root(conversation, scene, told, edit=edit_root)
    effect = ResultEffect(drop=True, pinned=False if unpinned else None)
    return Step((*says, *tidied), commit(conversation, None, effect))


def tidy_root(
    conversation: Conversation, scene: Scene, why: str, *, edit: bool = True
) -> tuple[list[Message], bool]:
    """The first message says how the conversation ended; a result of it still pinned
    (one being revised) comes down: (messages, whether it had the pin)."""
    if scene.private:
        return [], False  # the greeting needs no epitaph, and nothing is pinned
    says: list[Message] = [EndRoot(conversation.flow.title, why)] if edit else []
    pinned = scene.pinned()
    if pinned is None or pinned.conversation_id != scene.conversation_id:
        return says, False
    return [*says, Unpin()], True


def expire(conversation: Conversation, scene: Scene) -> tuple[list[Message], bool]:
    """A conversation idle past its time (the store marks it expired): the open question
    loses its buttons, or the result its Start over / Change an answer, and the first
    message says so. (messages, whether a pin came down)."""
    why = wording.ended(Status.EXPIRED, scene.command)
    question = conversation.question()
    if question is not None:
        number = len(conversation.record.answers) + 1
        closed = CloseQuestion(conversation.step, question.text, number, why)
        tidied, unpinned = tidy_root(conversation, scene, why)
        return [closed, *tidied], unpinned
    rec = conversation.recommendation()
    if rec is None:
        return [], False
    return [CloseResult(rec, conversation.step, why)], False
