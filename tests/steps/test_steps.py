"""The application layer, pure: a conversation and what a person did in, the semantic
plan and the commit out. No Slack, no database."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest

import bot.conversation.core
from bot import steps
from bot.conversation import Conversation, Status
from bot.flow.loader import load_flow
from bot.steps import Scene, wording
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
    Note,
    Pin,
    Reprompt,
    ResultEffect,
    ShowEstimate,
    ShowResult,
    Supersede,
    Took,
    Unpin,
)

FLOW = load_flow("llm_cost")
ALICE, BOB = "U0ALICE", "U0BOB"
TO_RESULT = ("Training", "10-100B params", "Active")  # a result with an estimate


@dataclass(frozen=True)
class PinnedAt:
    conversation_id: str
    thread_ts: str | None


def scene(actor: str = ALICE, **kw: object) -> Scene:
    base = Scene("c1", ALICE, actor, "/llm-cost", name=lambda user: f"@{user}")
    return replace(base, **kw)


def index(conversation: Conversation, label: str) -> int:
    question = conversation.question()
    assert question is not None
    option = question.option(label)
    assert option is not None, label
    return option.index


def answered(*labels: str) -> Conversation:
    conversation = Conversation.start(FLOW)
    for label in labels:
        conversation.answer(index(conversation, label))
    return conversation


def test_a_start_greets_and_asks_the_first_question() -> None:
    conversation = Conversation.start(FLOW)
    made = steps.start(conversation, scene())
    greet, ask = made.says
    assert greet == Greet(FLOW.title)
    assert isinstance(ask, Ask) and ask.replaces is None and ask.head is None
    assert ask.step == conversation.step and ask.question == conversation.question()
    assert made.commit is not None
    assert made.commit.status is Status.ACTIVE and made.commit.summary is None


def test_a_first_reply_says_what_it_took_before_the_next_question() -> None:
    made = steps.start(Conversation.start(FLOW), scene(), "we fine-tune a 70B model")
    took = made.says[1]
    assert isinstance(took, Took) and took.typed == "we fine-tune a 70B model"
    assert [t for t, _, _ in took.taken][:1] == ["Training or Inference?"]
    assert isinstance(made.says[2], Ask)


def test_a_first_reply_it_cannot_read_is_said_privately() -> None:
    made = steps.start(Conversation.start(FLOW), scene(), "banana")
    assert isinstance(made.says[1], Reprompt) and made.says[1].typed == "banana"


def test_a_click_asks_the_next_question_in_place_headed_by_the_answers() -> None:
    conversation = Conversation.start(FLOW)
    asked = conversation.step
    made = steps.click(conversation, scene(), "answer", asked, index(conversation, "Training"))
    [ask] = made.says
    assert isinstance(ask, Ask) and ask.replaces == asked and ask.step == asked + 1
    assert ask.head == Head(((1, "Training or Inference?", "Training"),), None, ("",))
    assert made.commit is not None and made.commit.record["step"] == asked + 1


def test_a_typed_answer_closes_its_question_and_asks_under_the_reply() -> None:
    conversation = Conversation.start(FLOW)
    asked, question = conversation.step, conversation.question()
    assert question is not None
    made = steps.typed(conversation, scene(), "we train")
    closed, ask = made.says
    assert closed == CloseQuestion(asked, question.text, 1, wording.ANSWERED_BELOW)
    assert isinstance(ask, Ask) and ask.replaces is None and ask.head is not None
    assert ask.head.typed == "we train"
    assert ask.head.answers == ((1, question.title, "Training"),)


def test_the_last_click_shows_the_result_and_pins_it_taking_the_older_pin() -> None:
    conversation = answered(*TO_RESULT[:-1])
    older = PinnedAt("c0", "111.1")
    made = steps.click(
        conversation,
        scene(pinned=lambda: older),
        "answer",
        conversation.step,
        index(conversation, TO_RESULT[-1]),
    )
    shown, unpin, pin = made.says
    assert isinstance(shown, ShowResult) and shown.replaces == conversation.step - 1
    assert (unpin, pin) == (Unpin("111.1"), Pin())
    assert made.commit is not None
    assert made.commit.result == ResultEffect(pinned=True)
    assert made.commit.summary == shown.recommendation.summary()


def test_a_result_already_pinned_or_in_a_direct_message_is_not_pinned_again() -> None:
    conversation = answered(*TO_RESULT[:-1])
    mine = scene(pinned=lambda: PinnedAt("c1", "1.1"))
    last = index(conversation, TO_RESULT[-1])
    made = steps.click(conversation, mine, "answer", conversation.step, last)
    assert [type(m) for m in made.says] == [ShowResult]
    conversation = answered(*TO_RESULT[:-1])
    made = steps.click(conversation, scene(private=True), "answer", conversation.step, last)
    assert [type(m) for m in made.says] == [ShowResult]
    assert made.commit is not None and made.commit.result == ResultEffect()


def test_someone_elses_click_gets_a_note_and_changes_nothing() -> None:
    conversation = Conversation.start(FLOW)
    made = steps.click(conversation, scene(BOB), "answer", conversation.step, 1)
    assert made.says == (Note(wording.only_starter("@U0ALICE", "/llm-cost")),)
    assert made.commit is None
    assert conversation.step == 0


def test_a_stale_click_and_an_ended_conversation_get_notes() -> None:
    conversation = answered("Training")
    made = steps.click(conversation, scene(), "answer", conversation.step - 1, 1)
    assert made.says == (Note(wording.ALREADY_ANSWERED),) and made.commit is None
    expired = scene(stored=Status.EXPIRED)
    made = steps.click(conversation, expired, "back", conversation.step, None)
    assert made.says == (Note(wording.ended(Status.EXPIRED, "/llm-cost")),)
    assert steps.typed(conversation, expired, "70B").says == made.says
    assert steps.typed(conversation, replace(expired, actor=BOB), "70B").says == ()


def test_typed_back_under_a_result_supersedes_it_and_asks_again() -> None:
    conversation = answered(*TO_RESULT)
    result_step = conversation.step
    made = steps.typed(conversation, scene(), "back")
    superseded, ask = made.says
    assert isinstance(superseded, Supersede) and superseded.step == result_step
    assert superseded.why == "@U0ALICE went back to change an answer."
    assert isinstance(ask, Ask) and ask.head is not None
    assert ask.head.lead == "Went back to change an answer."
    assert made.commit is not None and made.commit.summary is None


def test_back_by_click_replaces_the_question_in_place() -> None:
    conversation = answered("Training")
    step = conversation.step
    made = steps.click(conversation, scene(private=True), "back", step, None)
    [ask] = made.says
    assert isinstance(ask, Ask) and ask.replaces == step and ask.step == step + 1


def test_back_on_the_first_question_is_refused_privately() -> None:
    conversation = Conversation.start(FLOW)
    made = steps.click(conversation, scene(), "back", conversation.step, None)
    assert made.says == (Note(bot.conversation.core.NOTHING_BEFORE),) and made.commit is None


def test_cancel_closes_the_question_and_says_so_on_the_first_message() -> None:
    conversation = answered("Training")
    step = conversation.step
    made = steps.click(conversation, scene(pinned=lambda: None), "cancel", step, None)
    closed, root = made.says
    told = wording.start_again("Cancelled by @U0ALICE.", "/llm-cost")
    assert isinstance(closed, CloseQuestion) and closed.step == step and closed.why == told
    assert root == EndRoot(FLOW.title, told)
    assert made.commit is not None and made.commit.status is Status.CANCELLED
    assert made.commit.result == ResultEffect(drop=True)


def test_a_newer_start_replaces_a_result_being_revised_and_takes_its_pin_down() -> None:
    conversation = answered(*TO_RESULT)
    conversation.back()  # revising: its result is still pinned
    mine = scene(pinned=lambda: PinnedAt("c1", "1.1"))
    step = conversation.step
    made = steps.end(conversation, mine, "replaced", edit_root=False)
    told = wording.start_again(wording.REPLACED, "/llm-cost")
    closed, unpin = made.says
    assert isinstance(closed, CloseQuestion) and (closed.step, closed.why) == (step, told)
    assert unpin == Unpin()
    assert made.commit is not None and made.commit.result == ResultEffect(drop=True, pinned=False)
    assert steps.end(conversation, mine, "cancelled").commit is None  # ended already


def test_help_is_private_and_commits_nothing() -> None:
    conversation = Conversation.start(FLOW)
    made = steps.typed(conversation, scene(), "help")
    assert made.says == (Help(conversation.question()),) and made.commit is None


def test_the_estimate_asks_then_shows_computing_it_once(monkeypatch: pytest.MonkeyPatch) -> None:
    conversation = answered(*TO_RESULT)
    step = conversation.step
    built: list[str] = []
    build, compute = Conversation.recommendation, bot.conversation.core.compute
    monkeypatch.setattr(Conversation, "recommendation", lambda c: built.append("r") or build(c))
    monkeypatch.setattr(
        bot.conversation.core, "compute", lambda *a: built.append("e") or compute(*a)
    )
    made = steps.click(conversation, scene(), "estimate", step, None)
    [asked] = made.says
    assert isinstance(asked, AskEstimate)
    assert made.commit is not None and made.commit.summary is None  # the stored one stands
    assert built == ["r"]
    built.clear()
    made = steps.typed(conversation, scene(), "70B on 2T tokens")
    shown, chart = made.says
    assert isinstance(shown, ShowEstimate) and shown.step == step
    assert chart == Chart(shown.estimate)
    assert shown.recommendation.estimate is shown.estimate
    assert made.commit is not None and made.commit.summary == shown.recommendation.summary()
    assert built == ["r", "e"]


def test_a_click_to_the_result_builds_it_once(monkeypatch: pytest.MonkeyPatch) -> None:
    conversation = answered(*TO_RESULT[:-1])
    built: list[int] = []
    original = Conversation.recommendation
    monkeypatch.setattr(
        Conversation, "recommendation", lambda self: built.append(1) or original(self)
    )
    last = index(conversation, TO_RESULT[-1])
    steps.click(conversation, scene(), "answer", conversation.step, last)
    assert built == [1]


def test_expiry_closes_the_open_question_or_the_result() -> None:
    conversation = answered("Training")
    says, unpinned = steps.expire(conversation, scene())
    why = wording.ended(Status.EXPIRED, "/llm-cost")
    assert says == [
        CloseQuestion(conversation.step, conversation.question().text, 2, why),  # type: ignore[union-attr]
        EndRoot(FLOW.title, why),
    ]
    assert unpinned is False
    conversation = answered(*TO_RESULT)
    says, unpinned = steps.expire(conversation, scene(private=True))
    [closed] = says
    assert isinstance(closed, CloseResult) and closed.step == conversation.step
    assert closed.why == why and unpinned is False
