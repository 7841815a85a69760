"""What an estimate still needs and how replies fill it in (bot/estimate/dialog.py), on
the shipped flow, without a conversation store or Slack: what the flowchart's answers
already give, the order of the follow-up questions, a reply that answers more than it
was asked or the wrong thing, and replies refused whole."""

from __future__ import annotations

import pytest

from bot.conversation import Advanced, Conversation
from bot.estimate import PRECISIONS, largest_model
from bot.estimate.dialog import (
    ASK_AGAIN,
    UNREAD,
    EstimateInputs,
    capacity_note,
    compute,
    inputs_from_answers,
    region_problem,
    still_needed,
    take_reply,
)
from bot.flow.loader import load_flow
from bot.quantities import params_text

FLOW = load_flow()


def answers(*replies: str) -> tuple:
    conversation = Conversation.start(FLOW)
    for reply in replies:
        assert isinstance(conversation.answer(reply), Advanced), reply
    return tuple(conversation.record.answers)


def test_the_flowcharts_answers_give_size_tokens_and_method() -> None:
    given = answers("we pre-train a 70B model on 2T tokens with LoRA")
    inputs = inputs_from_answers(FLOW, "training", given)
    assert (inputs.params, inputs.tokens, inputs.method) == (70e9, 2e12, "lora")
    assert inputs.precision == "bf16" and inputs.region is None
    assert still_needed(inputs) is None


def test_answers_without_amounts_leave_them_to_be_asked() -> None:
    inputs = inputs_from_answers(FLOW, "training", answers("Training", "10-100B params"))
    assert inputs.params is None and inputs.tokens is None
    assert inputs.method == "full" and still_needed(inputs) == "params"


@pytest.mark.parametrize(
    ("inputs", "next_field"),
    [
        (EstimateInputs(kind="training"), "params"),
        (EstimateInputs(kind="training", tokens=2e12), "params"),
        (EstimateInputs(kind="training", params=7e10), "tokens"),
        (EstimateInputs(kind="training", params=7e10, tokens=2e12), None),
        (EstimateInputs(kind="inference", params=7e10), "traffic"),
        (EstimateInputs(kind="inference", params=7e10, tokens_per_second=5000.0), None),
        # an amount no real job has (stored before amounts were bounded) is asked again
        (EstimateInputs(kind="training", params=1e30, tokens=2e12), "params"),
    ],
)
def test_what_is_asked_next(inputs: EstimateInputs, next_field: str | None) -> None:
    assert still_needed(inputs) == next_field


def test_one_reply_gives_both_amounts_and_names_what_it_kept_beyond_the_question() -> None:
    inputs = EstimateInputs(kind="training")
    read = take_reply(inputs, "params", "70B on 2T tokens", FLOW)
    assert read.missing is None
    assert read.kept == ("2T training tokens",)
    assert (inputs.params, inputs.tokens) == (70e9, 2e12)


def test_a_reply_to_the_wrong_question_is_kept_and_the_question_asked_again() -> None:
    inputs = EstimateInputs(kind="training")
    read = take_reply(inputs, "params", "2T tokens", FLOW)
    assert inputs.tokens == 2e12 and inputs.params is None
    assert read.missing == f"I noted 2T training tokens. {ASK_AGAIN['params']}"
    assert still_needed(inputs) == "params"


def test_a_bare_number_answers_the_field_asked() -> None:
    inputs = EstimateInputs(kind="training", params=7e10)
    assert take_reply(inputs, "tokens", "2T", FLOW).missing is None
    assert inputs.tokens == 2e12 and inputs.params == 7e10


def test_an_unreadable_reply_says_how_to_give_it_and_changes_nothing() -> None:
    inputs = EstimateInputs(kind="training")
    before = inputs.model_copy()
    read = take_reply(inputs, "params", "about as big as the last one", FLOW)
    assert read.missing == UNREAD["params"] and read.kept == ()
    assert inputs == before


def test_an_amount_beyond_any_real_job_refuses_the_whole_reply() -> None:
    inputs = EstimateInputs(kind="training")
    read = take_reply(inputs, "params", "900000T parameters on 2T tokens", FLOW)
    assert read.missing is not None and "parameters" in read.missing
    assert inputs == EstimateInputs(kind="training")


def test_traffic_is_read_for_serving() -> None:
    inputs = EstimateInputs(kind="inference", params=7e10)
    assert take_reply(inputs, "traffic", "500M tokens a day", FLOW).missing is None
    assert inputs.tokens_per_second == pytest.approx(500e6 / 86_400)
    assert inputs.traffic and "500M tokens" in inputs.traffic
    assert still_needed(inputs) is None


def test_a_region_without_prices_is_refused_naming_where_there_are_prices() -> None:
    problem = region_problem(FLOW, "training", "eu-west-1")
    assert problem is not None and "eu-west-1" in problem
    assert "Regions with prices:" in problem and "prices refresh" in problem
    assert region_problem(FLOW, "training", "us-east-1") is None
    inputs = EstimateInputs(kind="training", params=7e10)
    assert take_reply(inputs, "tokens", "2T in eu-west-1", FLOW).missing == problem
    assert inputs.tokens is None and inputs.region is None


def test_no_estimate_while_something_is_missing() -> None:
    assert compute(FLOW, EstimateInputs(kind="training", params=7e10), None) is None


def test_a_complete_training_estimate_prices_every_offering_of_its_kind() -> None:
    estimate = compute(FLOW, EstimateInputs(kind="training", params=7e10, tokens=2e12), None)
    assert estimate is not None
    offered = {n for _, group in FLOW.estimate_groups("training", None) for n in group}
    assert estimate.recommended.instance in offered
    assert estimate.recommended.fits and estimate.recommended.cost_usd > 0


def test_capacity_note_says_plainly_whether_the_model_fits() -> None:
    words = FLOW.words.estimate
    assert words is not None
    instance = FLOW.catalogue.instances["p5.48xlarge"]
    acc = FLOW.catalogue.accelerators[instance.accelerator]
    largest = {p: largest_model(acc, instance.accelerators, p, words) for p in PRECISIONS}
    small, source = capacity_note(FLOW, "p5.48xlarge", largest["bf16"] / 2, "bf16") or ("", "")
    assert source == acc.memory_gb.source
    assert f"at most about {params_text(largest['bf16'])} at bf16" in small
    assert "does not fit" not in small
    too_big = largest["bf16"] * 2
    big, _ = capacity_note(FLOW, "p5.48xlarge", too_big, "bf16") or ("", "")
    assert big.startswith(f"Your {params_text(too_big)} model does not fit at bf16.")
