"""The estimate in Slack: follow-up questions, the table, and the chart uploaded once."""

from __future__ import annotations

from pathlib import Path

import pytest
from slack_sdk.models.blocks import Block

from tests.fakes.slack_api import FakeSlack
from tests.slack.harness import ALICE, CHANNEL, Slack, running, settings_for, text_of
from tests.slack.test_no_double_post import HangUpOnFirstPost
from tests.slack.test_scenarios import start

PNG = b"\x89PNG\r\n\x1a\n"


def the_table(message: dict) -> dict:
    (table,) = [b for b in message["blocks"] if b["type"] == "table"]
    Block.parse(table).validate_json()
    assert Block.parse(table).to_dict() == table
    return table


def cells(table: dict) -> list[list[str]]:
    return [[c["text"] for c in row] for row in table["rows"]]


def estimate_posts(slack: Slack) -> list[dict]:
    return [m for m in slack.thread() if any(b["type"] == "table" for b in m.get("blocks", []))]


def reply(slack: Slack, text: str, **kw: object) -> None:
    status, _ = slack.say(text, thread_ts=slack.root()["ts"], **kw)
    assert status == 200
    slack.settle()


def test_a_training_estimate_asks_what_it_lacks_then_posts_the_table_and_chart(
    slack: Slack,
) -> None:
    start(slack)
    for label in ("Training", "10-100B params", "Active"):
        slack.answer(label)
    result = slack.current()
    slack.click(result, "Estimate the cost")
    slack.settle()
    # Chosen by button: the exact size is unknown, so it is asked first.
    assert "How many parameters" in text_of(slack.thread()[-1])
    reply(slack, "70B")
    assert "How many tokens" in text_of(slack.thread()[-1])
    reply(slack, "2T tokens")

    (posted,) = estimate_posts(slack)
    rows = cells(the_table(posted))
    assert rows[0] == ["Offering", "Instances", "Wall-clock", "Accelerator-hours", "Cost per run"]
    assert rows[1][0] == "p5en.48xlarge (recommended)"
    assert rows[1][4].startswith("$") and "on-demand" in rows[1][4]
    assert {r[0] for r in rows[2:]} == {
        "p5e.48xlarge",
        "p4d.24xlarge",
        "trn2.48xlarge",
        "u-p6e-gb200x72",
    }
    text = text_of(posted)
    assert "6 × N × D" in text and "MFU likely 33% (range 28%-35%) on NVIDIA H200" in text
    card = "https://github.com/meta-llama/llama3/blob/main/MODEL_CARD.md"
    assert f"<{card}|Meta Llama 3 model card" in text  # linked
    assert "FSx for Lustre" in text  # more than one instance: shared data, not gp3

    # The result's headline now says how many and how much; no more Estimate button.
    updated = slack.fake.message(CHANNEL, result["ts"])
    assert updated is not None
    assert "× p5en.48xlarge for" in updated["text"] and "per run" in updated["text"]
    assert "Estimate the cost" not in text_of(updated)
    assert "× p5en.48xlarge for" in slack.root()["text"]

    # The chart: drawn by the sender, uploaded into the thread with files v2.
    (chart,) = slack.fake.files(CHANNEL)
    assert chart["content"].startswith(PNG)
    assert chart["thread_ts"] == slack.root()["ts"]
    assert chart["alt_txt"].startswith("Bar chart of the estimated cost per run")
    assert rows[1][4].split(" ")[0] in chart["alt_txt"]  # the alt text states the numbers
    methods = [c.method for c in slack.fake.calls() if "file" in c.method or c.method == "upload"]
    assert methods == ["files.getUploadURLExternal", "upload", "files.completeUploadExternal"]


def test_an_inference_estimate_from_typed_answers(slack: Slack) -> None:
    root = start(slack)
    for text in ("we serve a chatbot", "under 80 ms", "high", "prompt cache"):
        reply(slack, text)
    result = slack.thread()[-1]
    assert "Bedrock prompt caching applies to models served on Amazon Bedrock" in text_of(result)
    reply(slack, "estimate")
    assert "How many parameters" in text_of(slack.thread()[-1])
    reply(slack, "70B in fp8")
    assert "How much traffic" in text_of(slack.thread()[-1])
    reply(slack, "40 requests/s, 800 tokens each")

    (posted,) = estimate_posts(slack)
    rows = cells(the_table(posted))
    assert rows[0][-1] == "Cost per month"
    assert rows[1][0] == "p6-b200.48xlarge (recommended)" and rows[1][4].startswith("$")
    assert "serving a 70B-parameter model at fp8, 32,000 tokens/s" in text_of(posted)
    assert [f["thread_ts"] for f in slack.fake.files(CHANNEL)] == [root["ts"]]


def test_an_unreadable_reply_is_asked_again_privately(slack: Slack) -> None:
    start(slack)
    for label in ("Training", "10-100B params", "Checkpoints"):
        slack.answer(label)
    slack.click(slack.current(), "Estimate the cost")
    slack.settle()
    before = len(slack.thread())
    reply(slack, "lots")
    assert len(slack.thread()) == before  # nothing public
    (note,) = slack.fake.ephemerals(CHANNEL, ALICE)[-1:]
    assert "could not read a model size" in text_of(note)
    assert not slack.fake.files(CHANNEL)


def test_a_second_click_on_estimate_does_not_ask_twice(slack: Slack) -> None:
    start(slack)
    for label in ("Training", "100B+ params", "Archive"):
        slack.answer(label)
    result = slack.current()
    slack.click(result, "Estimate the cost")
    slack.settle()
    before = len(slack.thread())
    slack.click(result, "Estimate the cost")
    slack.settle()
    assert len(slack.thread()) == before
    assert "asked for what the estimate still needs" in text_of(
        slack.fake.ephemerals(CHANNEL, ALICE)[-1]
    )


def run_to_the_chart(slack: Slack) -> None:
    """A run whose last reply completes the estimate; its outbox is left sending."""
    start(slack)
    for text in ("we pre-train a 7B model", "cost", "checkpoints", "estimate"):
        reply(slack, text)
    status, _ = slack.say("1T tokens", thread_ts=slack.root()["ts"])
    assert status == 200


@pytest.mark.parametrize("forward_it", [True, False], ids=["slack-shared-it", "slack-never-saw-it"])
def test_a_chart_whose_completion_answer_is_lost_is_shared_exactly_once(
    fake: FakeSlack, tmp_path: Path, forward_it: bool
) -> None:
    hop = HangUpOnFirstPost(fake, forward_it, method="files.completeUploadExternal")
    settings = settings_for(fake, tmp_path / "data", slack_api_timeout=1.0)
    settings = settings.model_copy(update={"slack_api_url": hop.base_url})
    try:
        with running(settings, fake) as slack:
            run_to_the_chart(slack)
            assert hop.hung_up.wait(10), "the chart was never completed"
            slack.settle(timeout=30)
            shared = fake.files(CHANNEL)
            assert len(shared) == 1, shared
            assert shared[0]["content"].startswith(PNG)
            uploads = len([c for c in fake.calls("files.getUploadURLExternal")])
            assert uploads == (1 if forward_it else 2)  # found by its name: not uploaded again
    finally:
        hop.close()


def test_a_chart_survives_a_restart_between_upload_and_completion(
    fake: FakeSlack, tmp_path: Path
) -> None:
    """The upload went through, then completing it failed and the app stopped; the next
    start shares the chart once (the lone uploaded file was never shared)."""
    settings = settings_for(fake, tmp_path / "data")
    fake.fail_next("files.completeUploadExternal", status=500, times=1000)
    with running(settings, fake) as slack:
        run_to_the_chart(slack)
        fake.wait_for("files.completeUploadExternal", timeout=30)
    assert not fake.files(CHANNEL)
    fake.clear_failures()
    with running(settings, fake) as slack:
        slack.settle(timeout=30)
        assert len(fake.files(CHANNEL)) == 1
