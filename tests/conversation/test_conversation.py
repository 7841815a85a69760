"""Conversation moves on the shipped flow: answer, back, restart, cancel, restore, migrate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import transitions

from bot.conversation import (
    Advanced,
    CommandGiven,
    Conversation,
    NotActive,
    Reprompt,
    Status,
)
from bot.flow.loader import DEFAULT_FLOWS_DIR, FlowRegistry, flow_from_text, load_flow

FLOW = load_flow()
REGISTRY = FlowRegistry([FLOW])
OFFERINGS = (DEFAULT_FLOWS_DIR / "offerings.toml").read_text()


def walk(conversation: Conversation, *replies: str) -> None:
    for reply in replies:
        assert isinstance(conversation.answer(reply), Advanced), reply


def test_start_asks_the_first_decision() -> None:
    conversation = Conversation.start(FLOW)
    question = conversation.question()
    assert question is not None and question.node_id == "Type"
    assert [o.label for o in question.options] == ["Training", "Inference"]
    assert conversation.step == 0
    assert conversation.status is Status.ACTIVE


def test_answers_record_the_text_and_bump_the_step() -> None:
    conversation = Conversation.start(FLOW)
    result = conversation.answer("we train our own model", user="U1")
    assert isinstance(result, Advanced)
    assert result.answer.option == "Training"
    assert result.answer.text == "we train our own model"
    assert result.answer.user == "U1"
    assert result.more == ()
    assert conversation.step == 1
    assert conversation.record.state == "TrainSize"


def test_one_reply_answers_the_questions_it_gives_answers_to() -> None:
    """ "we pre-train a 70B model" says training and the size: the storage question is
    next. Only strong evidence counts for the questions after the first."""
    conversation = Conversation.start(FLOW)
    result = conversation.answer("we pre-train a 70B model", user="U1")
    assert isinstance(result, Advanced)
    assert [result.answer.option, *(m.answer.option for m in result.more)] == [
        "Training",
        "10-100B params",
    ]
    assert conversation.step == 2 and len(conversation.record.answers) == 2
    question = conversation.question()
    assert question is not None and "storage" in question.text
    # A bare number is not a size given in passing: only the first question is answered.
    other = Conversation.start(FLOW)
    assert other.answer("1").more == ()  # type: ignore[union-attr]


def test_a_reprompt_or_command_changes_nothing() -> None:
    conversation = Conversation.start(FLOW)
    before = conversation.dump()
    assert isinstance(conversation.answer("banana"), Reprompt)
    assert isinstance(conversation.answer("help"), CommandGiven)
    assert isinstance(conversation.answer(9), Reprompt)
    assert conversation.dump() == before


def test_back_undoes_the_last_answer_and_everything_after_it() -> None:
    conversation = Conversation.start(FLOW)
    walk(conversation, "training", "7B", "cost", "archive")
    assert conversation.status is Status.FINISHED
    assert conversation.back() is True
    assert conversation.status is Status.ACTIVE
    assert conversation.record.state == "Storage"
    assert [a.option for a in conversation.record.answers] == ["Training", "1-10B params", "Cost"]
    assert conversation.back() is True
    assert conversation.record.state == "TrainOpt"
    walk(conversation, "performance", "checkpoints")
    recommendation = conversation.recommendation()
    assert recommendation is not None
    assert [n.node.id for n in recommendation.nodes] == ["P5e", "S3Std"]


def test_back_at_the_first_question_does_nothing() -> None:
    conversation = Conversation.start(FLOW)
    assert conversation.back() is False
    assert conversation.step == 0


def test_restart_drops_every_answer() -> None:
    conversation = Conversation.start(FLOW)
    walk(conversation, "inference", "80ms")
    conversation.restart()
    assert conversation.record.answers == []
    assert conversation.record.state == "Type"
    assert conversation.step == 3


def test_cancel_ends_and_nothing_more_is_answered() -> None:
    conversation = Conversation.start(FLOW)
    assert conversation.cancel() is True
    assert conversation.status is Status.CANCELLED
    assert isinstance(conversation.answer("training"), NotActive)
    assert conversation.cancel() is False
    assert conversation.back() is False


def test_a_finished_conversation_takes_no_more_answers() -> None:
    conversation = Conversation.start(FLOW)
    walk(conversation, "inference", "0.3 s", "cost", "no", "no cache")
    assert isinstance(conversation.answer("yes"), NotActive)
    recommendation = conversation.recommendation()
    assert recommendation is not None
    assert recommendation.instance.node.id == "C7g"
    assert recommendation.follow_up.node.id == "Direct"
    assert recommendation.instance.details and recommendation.instance.details.claims
    assert any("c7g.16xlarge holds a model of at most" in n.text for n in recommendation.notes)
    assert recommendation.summary()["nodes"] == ["C7g", "Direct"]


def test_out_of_range_notes_are_kept_with_the_answer() -> None:
    conversation = Conversation.start(FLOW)
    walk(conversation, "training", "a 300M model")
    note = conversation.record.answers[-1].note
    assert note is not None and "nearest branch" in note


def test_the_record_is_plain_json() -> None:
    conversation = Conversation.start(FLOW)
    walk(conversation, "training", "70B")
    data = json.loads(conversation.dump())
    assert data["flow"] == "llm_cost"
    assert data["flow_hash"] == FLOW.source_hash
    assert data["state"] == "Storage"
    assert data["step"] == 2
    assert data["status"] == "active"
    assert data["answers"][1]["option"] == "10-100B params"


def test_restore_and_answer_build_no_machine_and_add_no_model(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = Conversation.start(FLOW).dump()

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("a Machine was built or a model added on the request path")

    monkeypatch.setattr(transitions.Machine, "__init__", forbidden)
    monkeypatch.setattr(transitions.Machine, "add_model", forbidden)
    for reply in ("inference", "80 ms", "high", "prompt cache"):
        conversation = Conversation.restore(REGISTRY, data)
        assert isinstance(conversation.answer(reply), Advanced)
        data = conversation.dump()
    assert Conversation.restore(REGISTRY, data).status is Status.FINISHED
    assert FLOW.machine.models == []


def test_a_known_older_flow_version_keeps_running_after_an_edit() -> None:
    mmd = (DEFAULT_FLOWS_DIR / "llm_cost.mmd").read_text()
    toml = (DEFAULT_FLOWS_DIR / "llm_cost.toml").read_text()
    edited = flow_from_text(
        "llm_cost", mmd, toml.replace("How large is the model", "What size is the model"), OFFERINGS
    )
    registry = FlowRegistry([FLOW, edited])
    assert registry.current().source_hash == edited.source_hash
    old = Conversation.start(FLOW)
    walk(old, "training")
    resumed = Conversation.restore(registry, old.dump())
    assert resumed.flow is FLOW
    question = resumed.question()
    assert question is not None and question.text.startswith("How large")


def test_an_unknown_flow_version_replays_the_answers_that_still_fit(tmp_path: Path) -> None:
    mmd = (DEFAULT_FLOWS_DIR / "llm_cost.mmd").read_text()
    toml = (DEFAULT_FLOWS_DIR / "llm_cost.toml").read_text()
    conversation = Conversation.start(FLOW)
    walk(conversation, "training", "7B", "cost")
    # The new flow renames the "Cost" option of TrainOpt: that answer no longer fits.
    new_mmd = mmd.replace("TrainOpt -->|Cost| P4d", "TrainOpt -->|Budget| P4d")
    new_toml = toml.replace(
        "[decisions.TrainOpt.options.Cost]", "[decisions.TrainOpt.options.Budget]"
    )
    registry = FlowRegistry([flow_from_text("llm_cost", new_mmd, new_toml, OFFERINGS)])
    resumed = Conversation.restore(registry, conversation.dump())
    assert resumed.record.flow_hash == registry.current().source_hash
    assert [a.option for a in resumed.record.answers] == ["Training", "1-10B params"]
    assert resumed.record.state == "TrainOpt"
    walk(resumed, "budget", "active")
    recommendation = resumed.recommendation()
    assert recommendation is not None and recommendation.instance.node.id == "P4d"
