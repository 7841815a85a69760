"""The estimate in Slack: follow-up questions, the table, and the chart uploaded once."""

from __future__ import annotations

from pathlib import Path

import pytest
from slack_sdk.models.blocks import Block

from bot.testing.slack_api import FakeSlack
from tests.slack.conftest import assert_every_message_is_valid
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


def money_value(cell: str) -> float:
    """ "$4.91M" → 4.91e6, "$37,905" → 37905."""
    number = cell.split("\n")[0].removeprefix("$").replace(",", "")  # the likely value
    return float(number[:-1]) * 1e6 if number.endswith("M") else float(number)


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
    # Four columns, cost second, cheapest first; the flowchart's pick said in words.
    assert rows[0] == ["Offering", "Cost per run", "Instances", "Wall-clock"]
    costs = [money_value(r[1]) for r in rows[1:]]
    assert costs == sorted(costs)
    (pick,) = [r for r in rows[1:] if "(flowchart's pick)" in r[0]]
    assert pick[0] == "p5en.48xlarge (flowchart's pick)" and pick[1].startswith("$")
    assert {r[0] for r in rows[1:]} - {pick[0]} == {
        "p5e.48xlarge",
        "p4d.24xlarge",
        "trn2.48xlarge",
        "u-p6e-gb200x72",
        # compared with the pick as the words file says (nodes.P5en.compare)
        "p5.48xlarge",
        "p4de.24xlarge",
        "trn1.32xlarge",
    }
    text = text_of(posted)
    # The other purchase option is a note under the table, not a second price per cell.
    assert "As a Capacity Block instead: p5en.48xlarge $" in text
    on_demand = text.split("At on-demand prices: ", 1)[1].split(". A", 1)[0].split(", ")
    rows_on_demand = {"p5en.48xlarge", "p4d.24xlarge", "p5.48xlarge", "p4de.24xlarge"}
    assert rows_on_demand | {"trn1.32xlarge"} <= set(on_demand)
    # The working is folded under "How this was calculated", links named for what they prove.
    folded = [b for b in posted["blocks"] if b.get("expand") is False]
    assert folded and folded[0]["text"]["text"].startswith("*How this was calculated*")
    working = "\n".join(b["text"]["text"] for b in folded)
    assert "6 × N × D" in working and "MFU likely 33% (range 28%-35%) on NVIDIA H200" in working
    card = "https://github.com/meta-llama/llama3/blob/main/MODEL_CARD.md"
    assert f"<{card}|" in working  # the band's published runs, linked
    assert "|p5en.48xlarge, trn1.32xlarge and p4d.24xlarge on-demand price>" in working
    assert "|p5.48xlarge and p4de.24xlarge on-demand price>" in working
    assert "|NVIDIA H200 memory, peak FLOPs and memory bandwidth>" in working
    assert "FSx for Lustre" in working  # more than one instance: shared data, not gp3
    for block in posted["blocks"]:
        Block.parse(block).to_dict()  # valid, lengths included

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
    assert chart["alt_txt"].startswith("Bar chart of the estimated cost per run, cheapest first")
    likely = pick[1].splitlines()[0]
    assert f"{pick[0]} likely {likely} (range $" in chart["alt_txt"]  # it states the numbers
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
    assert rows[0] == ["Offering", "Cost per month", "Instances", "Tokens/s"]
    assert "p6-b200.48xlarge (flowchart's pick)" in [r[0] for r in rows]
    assert all(r[1].startswith("$") for r in rows[1:])
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


@pytest.mark.realtime
def test_a_chart_survives_a_restart_between_upload_and_completion(
    fake: FakeSlack, tmp_path: Path
) -> None:
    """The upload went through, then completing it failed and the app stopped; the next
    start shares the chart once (the lone uploaded file was never shared). The restarted
    app looks for the upload once an unanswered call could have shown (two API timeouts:
    2 s here, real time)."""
    settings = settings_for(fake, tmp_path / "data", slack_api_timeout=1.0)
    fake.fail_next("files.completeUploadExternal", status=500, times=1000)
    with running(settings, fake) as slack:
        run_to_the_chart(slack)
        fake.wait_for("files.completeUploadExternal", timeout=30)
    assert not fake.files(CHANNEL)
    fake.clear_failures()
    with running(settings, fake) as slack:
        slack.settle(timeout=30)
        assert len(fake.files(CHANNEL)) == 1


def test_with_native_charts_the_card_carries_slacks_own_chart_and_nothing_is_uploaded(
    fake: FakeSlack, tmp_path: Path
) -> None:
    """Costs within ten times of each other: Slack's data_visualization block shows every
    bar, so it replaces the PNG (no files calls)."""
    with running(settings_for(fake, tmp_path / "data", slack_native_charts=True), fake) as slack:
        start(slack)
        for label in ("Training", "10-100B params", "Active"):
            slack.answer(label)
        slack.click(slack.current(), "Estimate the cost")
        slack.settle()
        reply(slack, "70B")
        reply(slack, "2T tokens")
        (posted,) = estimate_posts(slack)
        (chart,) = [b for b in posted["blocks"] if b["type"] == "data_visualization"]
        assert chart["title"] == "Cost per run (pick: p5en.48xlarge)"
        offerings = [row[0].split(" (")[0] for row in cells(the_table(posted))[1:]]
        assert chart["chart"]["axis_config"]["categories"] == offerings  # the table's order
        assert not fake.files(CHANNEL)
        assert not fake.calls("files.getUploadURLExternal")
    assert_every_message_is_valid(fake)


def test_with_native_charts_a_wide_spread_of_costs_still_gets_the_png(
    fake: FakeSlack, tmp_path: Path
) -> None:
    """$37,905 beside $14.03M: a linear native chart would hide the small bars, so the
    PNG (logarithmic) is uploaded instead."""
    with running(settings_for(fake, tmp_path / "data", slack_native_charts=True), fake) as slack:
        start(slack)
        for text in ("we serve a chatbot", "under 80 ms", "high", "prompt cache", "estimate"):
            reply(slack, text)
        reply(slack, "70B in fp8")
        reply(slack, "40 requests/s, 800 tokens each")
        (posted,) = estimate_posts(slack)
        assert not [b for b in posted["blocks"] if b["type"] == "data_visualization"]
        (png,) = fake.files(CHANNEL)
        assert png["content"].startswith(PNG)
