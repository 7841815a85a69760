"""`/llm-cost history`: time, who, answers, headline and a permalink per result;
`mine`; pages past 10."""

from __future__ import annotations

import json
import re

from tests.slack.harness import ALICE, BOB, CHANNEL, Slack, text_of
from tests.slack.test_scenarios import headline, start

SHORT_PATH = ("Training", "Trillion+ params", "Archive")  # P6e + S3 Glacier


def finish(slack: Slack, user: str = ALICE, channel: str = CHANNEL) -> dict:
    """Run the short path by buttons; the conversation's root message."""
    root = start(slack, user=user, channel=channel)
    for label in SHORT_PATH:
        slack.answer(label, user=user, channel=channel)
    return root


def history(slack: Slack, text: str = "history", user: str = ALICE) -> dict:
    status, body = slack.command(text, user=user)
    assert status == 200
    reply = json.loads(body)
    assert reply["response_type"] == "ephemeral"
    return reply


def test_history_shows_time_who_answers_headline_and_a_link_to_the_thread(slack: Slack) -> None:
    root = finish(slack)
    reply = history(slack)
    text = text_of(reply)
    assert re.search(
        r"<!date\^\d+\^\{date_short_pretty\} \{time\}\|\d{4}-\d\d-\d\d \d\d:\d\d UTC>", text
    )
    assert f"<@{ALICE}>" in text
    assert f"*{headline('P6e', 'S3Glacier').removeprefix('Recommendation: ')}*" in text
    assert "Training · Trillion+ params · Archive" in text
    link = slack.fake.permalink(CHANNEL, root["ts"])
    assert f"<{link}|Open the thread>" in text
    assert [c.params["message_ts"] for c in slack.fake.calls("chat.getPermalink")] == [root["ts"]]


def test_history_mine_shows_only_the_callers_results(slack: Slack) -> None:
    finish(slack, user=ALICE)
    finish(slack, user=BOB)
    everyone = text_of(history(slack))
    assert f"<@{ALICE}>" in everyone and f"<@{BOB}>" in everyone
    mine = history(slack, "history mine", user=BOB)
    assert "Your results in this channel" in text_of(mine)
    assert len([b for b in mine["blocks"] if "date_short_pretty" in json.dumps(b)]) == 1
    assert f"<@{ALICE}>" not in text_of(mine)


def test_history_pages_past_ten(slack: Slack) -> None:
    for i in range(12):
        finish(slack, user=ALICE if i % 2 else BOB)
    first = history(slack)
    rows = [b for b in first["blocks"] if "date_short_pretty" in json.dumps(b)]
    assert len(rows) == 10
    assert "`/llm-cost history 2`" in text_of(first)
    second = history(slack, "history 2")
    rows = [b for b in second["blocks"] if "date_short_pretty" in json.dumps(b)]
    assert len(rows) == 2 and "page 2" in text_of(second)
    assert "history 3" not in text_of(second)
    third = history(slack, "history 3")
    assert "nothing on page 3" in text_of(third)


def test_history_of_a_quiet_channel(slack: Slack) -> None:
    reply = history(slack)
    assert "none yet" in text_of(reply) and "/llm-cost" in text_of(reply)
