"""A click's ``payload=`` form body decoded in C gives exactly what Bolt's own parse
gives; any other body is left to Bolt."""

from __future__ import annotations

import json
import random
from urllib.parse import quote_plus, unquote_plus, urlencode

import pytest
from slack_bolt.request.internals import parse_body

from bot.slack.form_body import payload_json
from bot.testing.slack_requests import block_actions_body

FORM = "application/x-www-form-urlencoded"


def test_a_click_decodes_as_bolt_parses_it() -> None:
    blocks = [
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": "*Which GPU?* 10–100B params & <more> — ✓ 100%"},
        },
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": "answer_0",
                    "text": {"type": "plain_text", "text": 'a "quoted" + plus = sign'},
                    "value": "c1:3:0",
                }
            ],
        },
    ]
    body = block_actions_body(
        action_id="answer_0",
        value="c1:3:0",
        block_id="b",
        message_ts="1.2",
        thread_ts="1.1",
        channel_id="C1",
        user_id="U1",
        team_id="T1",
        message_blocks=blocks,
        button_text="a b",
    ).decode()
    text = payload_json(body)
    assert text is not None
    assert json.loads(text) == parse_body(body, FORM)
    assert json.loads(text)["message"]["blocks"] == blocks


def test_decoding_matches_unquote_plus_on_any_text() -> None:
    rng = random.Random(18)
    alphabet = [chr(c) for c in range(128)] + ["é", "—", "✓", "😀", "\u2028", "\x00"]
    for _ in range(3000):
        raw = "{" + "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        encoded = quote_plus(raw)
        assert payload_json("payload=" + encoded) == unquote_plus(encoded) == raw


@pytest.mark.parametrize(
    "body",
    [
        "",
        "command=%2Fllm-cost&text=hi",  # a slash command: Bolt's parse
        "payload=%7B%7D&x=1",  # another field
        "x=1&payload=%7B%7D",
        "payload=%7B%ZZ%7D",  # a bare "%": unquote keeps it
        "payload=%7B%7",
        "payload=%7Ba=b%7D",  # "=" unescaped
        "payload=%7Bé%7D",  # raw non-ASCII
        "payload=not+json",  # not an object: Bolt refuses it as before
        '{"type": "event_callback"}',  # JSON bodies
    ],
)
def test_other_bodies_are_left_to_bolt(body: str) -> None:
    assert payload_json(body) is None


def test_a_payload_bolt_cannot_read_still_fails_there() -> None:
    body = urlencode({"payload": "{not json"})
    text = payload_json(body)
    assert text == "{not json"
    with pytest.raises(json.JSONDecodeError):
        parse_body(text, FORM)
