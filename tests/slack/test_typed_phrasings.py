"""Issue 19's phrasings, typed in Slack as people typed them: each ends where the person
meant (over signed HTTP against the fake, text escaped as Slack escapes it)."""

from __future__ import annotations

import json

import pytest

from tests.slack.harness import ALICE, CHANNEL, Slack, sqlite_only, text_of
from tests.slack.test_estimate import estimate_posts, reply
from tests.slack.test_scenarios import start

# Reading what people type is the conversation's work, the same on either database: the
# PostgreSQL runs of typed answers over two processes are in test_scenarios.py
# (test_a_path_by_typed_answers, test_one_message_answers_several_questions).
pytestmark = sqlite_only


def asked(slack: Slack) -> str:
    return text_of(slack.current())


def last_private(slack: Slack) -> str:
    return text_of(slack.fake.ephemerals(CHANNEL, ALICE)[-1])


def ask_for_an_estimate(slack: Slack) -> None:
    """A training result picked by buttons (so the size is unknown), then *Estimate*."""
    start(slack)
    for label in ("Training", "10-100B params", "Active"):
        slack.answer(label)
    slack.click(slack.current(), "Estimate the cost")
    slack.settle()


def test_a_latency_budget_answers_latency_and_not_cost(slack: Slack) -> None:
    start(slack)
    slack.answer("Inference")
    reply(slack, "our p99 latency budget is 250ms")
    assert "What should the deployment optimise for?" in asked(slack)
    assert not slack.fake.pins(CHANNEL)


def test_no_cache_is_no_answer_to_the_distillation_question(slack: Slack) -> None:
    start(slack)
    for label in ("Inference", "Standard 100-500ms", "Cost"):
        slack.answer(label)
    reply(slack, "no cache")
    assert "Can you use model optimisation" in asked(slack)
    assert "answer a different question" in last_private(slack)


def test_from_scratch_answers_no_storage_question(slack: Slack) -> None:
    root = start(slack)
    slack.say("we're pre-training a 405B model from scratch", thread_ts=root["ts"])
    slack.settle()
    assert "Which storage need are you planning for?" in asked(slack)
    assert not slack.fake.pins(CHANNEL)
    # What the reply gave is said under it, at the head of the next question.
    assert "2. Model Size? → *100B+ params*" in asked(slack)
    assert "undoes a misread" in asked(slack)


@pytest.mark.parametrize(
    ("text", "next_question"),
    [
        ("not training, we just need to serve a 70B model", "What response latency"),
        ("real-time voice assistant for millions of users", "Which caching would help"),
    ],
)
def test_sentences_that_were_refused(slack: Slack, text: str, next_question: str) -> None:
    root = start(slack)
    slack.say(text, thread_ts=root["ts"])
    slack.settle()
    assert next_question in asked(slack)
    assert not slack.fake.ephemerals(CHANNEL, ALICE)


@pytest.mark.parametrize("text", ["latency doesn't really matter", "sub-second is fine"])
def test_a_loose_latency_takes_the_most_relaxed_band_with_a_note(slack: Slack, text: str) -> None:
    start(slack)
    slack.answer("Inference")
    reply(slack, text)
    assert "What should the deployment optimise for?" in asked(slack)
    answered = asked(slack)  # what the reply gave heads the next question
    assert "*Standard 100-500ms*" in answered and "most relaxed" in answered


def test_not_sure_gets_the_two_paths_explained(slack: Slack) -> None:
    start(slack)
    reply(slack, "no idea, just exploring")
    said = last_private(slack)
    assert "No problem." in said and "inference runs a trained model" in said
    assert "Is this workload training or inference?" in asked(slack)


def test_the_slash_command_text_is_the_first_reply(slack: Slack) -> None:
    status, body = slack.command("fine-tune a 7B on a budget")
    assert status == 200 and body in (b"", b"{}"), body
    slack.settle()
    took = text_of(slack.thread()[0])
    assert "From “fine-tune a 7B on a budget” I took:" in took  # the person's own case
    assert "*Training*" in took and "*1-10B params*" in took and "*Cost*" in took
    assert "Which storage need are you planning for?" in asked(slack)
    slack.answer("Checkpoints")
    assert "p4d.24xlarge" in text_of(slack.root())


@pytest.mark.parametrize("text", ["help", "what can you do", "What can you do?"])
def test_help_and_questions_about_the_app_show_help(slack: Slack, text: str) -> None:
    status, body = slack.command(text)
    assert status == 200
    assert "How this works" in json.dumps(json.loads(body))
    slack.settle()
    assert not slack.fake.messages(CHANNEL)  # nothing was started


def test_tokens_typed_for_the_size_are_kept_as_tokens(slack: Slack) -> None:
    ask_for_an_estimate(slack)
    assert "How many parameters" in text_of(slack.thread()[-1])
    reply(slack, "2T tokens")
    assert "I noted 2T training tokens" in last_private(slack)
    assert not estimate_posts(slack)  # the size is still asked for
    reply(slack, "70B")  # the tokens are not asked again
    (posted,) = estimate_posts(slack)
    assert "Estimate: full training of a 70B-parameter model on 2T tokens" in text_of(posted)
    assert not [m for m in slack.thread() if "How many tokens" in text_of(m)]
    assert "× p5en.48xlarge for" in slack.root()["text"]


def test_one_reply_gives_the_size_and_the_tokens(slack: Slack) -> None:
    ask_for_an_estimate(slack)
    reply(slack, "70B on 2T tokens")
    assert len(estimate_posts(slack)) == 1
    assert not [m for m in slack.thread() if "How many tokens" in text_of(m)]


@pytest.mark.parametrize(
    "text",
    ["1" * 400 + "B", "1" * 50_000 + "x tokens", "1e99T tokens", "70B on 1e99T tokens"],
)
def test_absurd_estimate_amounts_get_the_range_privately(slack: Slack, text: str) -> None:
    ask_for_an_estimate(slack)
    status, _ = slack.say(text, thread_ts=slack.root()["ts"])
    assert status == 200
    slack.settle()
    said = last_private(slack)
    assert "beyond what I can plan for" in said and "I noted" not in said
    assert not estimate_posts(slack)
    reply(slack, "70B and 2T tokens")  # the conversation goes on
    assert len(estimate_posts(slack)) == 1


def test_a_start_with_text_while_a_plan_is_open_asks_first(slack: Slack) -> None:
    start(slack)
    slack.answer("Training")
    status, body = slack.command("fine-tune a 7B on a budget")
    asked = json.loads(body)
    assert status == 200 and asked["text"] == "Resume or start new?"
    assert "`/llm-cost new fine-tune a 7B on a budget`" in json.dumps(asked)
    slack.settle()
    assert "How large is the model" in asked_now(slack)  # the open plan is untouched
    status, body = slack.command("new fine-tune a 7B on a budget")
    assert status == 200 and body in (b"", b"{}"), body
    slack.settle()
    assert "From “fine-tune a 7B on a budget” I took:" in text_of(slack.thread()[0])
    assert "Which storage need are you planning for?" in asked_now(slack)


def asked_now(slack: Slack) -> str:
    return text_of(slack.current())
