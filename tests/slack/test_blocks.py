"""Block Kit builders on plain data: valid blocks, text fallbacks, escaping, limits."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block

from bot.conversation import Conversation, Progress
from bot.flow.loader import load_flow
from bot.slack import blocks
from bot.slack.history import HistoryQuery, history_message
from bot.store import HistoryPage, HistoryRow
from tests.conversation.test_paths import EXPECTED
from tests.slack.harness import text_of

FLOW = load_flow()


def valid(message: dict) -> dict:
    assert message["text"].strip()
    assert 0 < len(message["blocks"]) <= 50
    for block in message["blocks"]:
        Block.parse(block).validate_json()
        Block.parse(block).to_dict()  # also checks the lengths validate_json() skips
    return message


def finished(answers: tuple[str, ...]) -> Conversation:
    conversation = Conversation.start(FLOW)
    for label in answers:
        question = conversation.question()
        assert question is not None
        option = question.option(label)
        assert option is not None
        conversation.answer(option.index)
    return conversation


def test_escape_stops_mentions_and_links() -> None:
    assert blocks.escape("<!channel> & <@U1|x>") == "&lt;!channel&gt; &amp; &lt;@U1|x&gt;"
    assert blocks.quote("a" * 500).endswith("…”")
    assert blocks.mention("U1>&<!here") == "<@U1here>"


@pytest.mark.parametrize("node", sorted(FLOW.questions))
def test_each_question_has_one_button_per_option(node: str) -> None:
    question = FLOW.questions[node]
    message = valid(blocks.question_message(question, "abc123", 7, Progress(2, 3, 5)))
    actions = [b for b in message["blocks"] if b["type"] == "actions"]
    assert len(actions) == 2  # the options; then Back and Cancel
    assert [e["text"]["text"] for e in actions[1]["elements"]] == ["Back", "Cancel"]
    assert "Question 2 of up to 5" in json.dumps(message)
    values = [e["value"] for e in actions[0]["elements"]]
    assert values == [f"abc123:7:{o.index}" for o in question.options]
    labels = [e["text"]["text"] for e in actions[0]["elements"]]
    assert labels == [o.label for o in question.options]  # plain_text: not escaped


@pytest.mark.parametrize("answers", sorted(EXPECTED), ids=" > ".join)
def test_every_recommendation_is_a_valid_message(answers: tuple[str, ...]) -> None:
    conversation = finished(answers)
    rec = conversation.recommendation()
    assert rec is not None
    message = valid(blocks.recommendation_message(rec, "abc", conversation.step, "U1"))
    text = text_of(message)
    # The headline is the offering; the flowchart's words stay visible as its words.
    assert message["text"].startswith(f"Recommendation: {blocks.escape(rec.instance.offering)}")
    assert blocks.escape(rec.follow_up.offering) in message["text"]
    assert f"Flowchart: *{blocks.escape(rec.instance.node.title)}*" in text
    assert text.count("as of 2026-09-19") == 1
    for item in rec.nodes:
        claims = item.details.claims if item.details else {}
        for line, claim in claims.items():
            if claim.caveat:  # a claim and its caveat share a line
                assert blocks.escape(f"{line} ({claim.caveat})") in text
    links = re.findall(r"<(https://[^|>]+)\|", text)
    assert links and set(links) <= {s.url for s in FLOW.catalogue.sources.values()}
    assert "(C)" not in text and "(S)" not in text and "(U)" not in text
    offered = [blocks.ESTIMATE_ACTION] if rec.estimate_kind else []
    assert [
        e["action_id"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]
    ] == [*offered, blocks.RESTART_ACTION, blocks.CHANGE_ACTION]
    root = valid(blocks.recommendation_message(rec))
    assert not [b for b in root["blocks"] if b["type"] == "actions"]


def test_what_a_reply_gave_is_quoted_escaped_and_numbered() -> None:
    question = FLOW.questions["TrainSize"]
    taken = blocks.taken_text([(2, question.title, "10-100B params")], "<!here> 70B", ["a note"])
    message = valid(blocks.question_message(question, "abc", 3, Progress(3, 3, 3), taken=taken))
    text = text_of(message)
    assert "Took from “&lt;!here&gt; 70B”: 2. Model Size? → *10-100B params*" in text
    assert "<!here>" not in text and "<@" not in text  # nobody is pinged
    assert text.index("Took from") < text.index("3. ")  # what was taken, then what is asked


def test_other_builders_are_valid() -> None:
    question = FLOW.questions["Type"]
    valid(blocks.root_message("U1", FLOW.title))
    valid(blocks.reprompt_message(question, "I could not match that.", "<!channel>"))
    valid(blocks.help_message(question, "/llm-cost"))
    valid(blocks.help_message(None, "/llm-cost"))
    valid(blocks.closed_message(question.text, 1, "went back"))
    valid(blocks.note_message("hello"))
    row = HistoryRow(
        "c1",
        "C1",
        "U1",
        {"titles": ["P5en <Instances>", "EBS gp3"], "answers": [["Type", "Training & co"]]},
        datetime(2026, 11, 27, 9, 30, tzinfo=UTC),
        "https://acme.slack.com/archives/C1/p1700000000000100",
    )
    for query in (HistoryQuery(), HistoryQuery(mine=True, page=3)):
        valid(history_message(HistoryPage([], more=False), query, "/llm-cost"))
        found = valid(history_message(HistoryPage([row] * 10, more=True), query, "/llm-cost"))
        assert "P5en &lt;Instances&gt;" in text_of(found) and "Training &amp; co" in text_of(found)
        assert "<!date^1795771800^{date_short_pretty} {time}|2026-11-27 09:30 UTC>" in text_of(
            found
        )


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=5000))
def test_any_typed_text_makes_a_valid_safe_message(text: str) -> None:
    question = FLOW.questions["Storage"]
    for message in (
        blocks.reprompt_message(question, "reason", text),
        blocks.note_message(blocks.taken_text([(1, question.title, "Active")], text)),
    ):
        valid(message)
        rendered = text_of(message)
        assert "<!" not in rendered.replace("<@U1>", "")


def test_buttons_with_symbols_carry_a_spoken_label() -> None:
    """Screen readers read "<" and "+" badly: those buttons say it in words."""
    question = FLOW.questions["InfLatency"]
    message = valid(blocks.question_message(question, "abc123", 1, Progress(2, 3, 5)))
    buttons = {
        e["text"]["text"]: e
        for b in message["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    }
    assert buttons["Ultra-low <100ms"]["accessibility_label"] == "Ultra-low under 100ms"
    assert buttons["Standard 100-500ms"]["accessibility_label"] == "Standard 100 to 500ms"
    assert "accessibility_label" not in buttons["Cancel"]
    assert blocks.spoken_label("100B+ params") == "100B or more params"
