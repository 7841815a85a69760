"""Requests that are not Slack's (issue 21 item 6): malformed payload shapes get a 4xx
and no ERROR line; refusals are logged at a bounded rate (one line per interval per
kind, then a count of the ones left out)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from bot.slack.log_throttle import RefusalThrottle, install
from bot.slack.shapes import problem
from bot.testing.slack_api import FakeSlack
from bot.testing.slack_requests import block_actions_payload
from tests.slack.fake_clock import Seconds
from tests.slack.harness import Slack, running, settings_for


def a_click() -> dict:
    return block_actions_payload(
        action_id="llm_cost.answer.1",
        value="c0ffee:1:1",
        block_id="q",
        message_ts="1.0",
        channel_id="C0001",
        user_id="U0ALICE",
        team_id="T0001",
    )


def click(mutate: Callable[[dict], Any]) -> bytes:
    payload = a_click()
    mutate(payload)
    return urlencode({"payload": json.dumps(payload)}).encode()


def event(value: Any) -> bytes:
    body = {"type": "event_callback", "team_id": "T0001", "event_id": "Ev1", "event": value}
    return json.dumps(body).encode()


MALFORMED = {
    "actions=[null]": click(lambda p: p.update(actions=[None])),
    "actions a string": click(lambda p: p.update(actions="x")),
    "actions empty": click(lambda p: p.update(actions=[])),
    "action_id a number": click(lambda p: p.update(actions=[{"action_id": 5}])),
    "value a list": click(lambda p: p["actions"][0].update(value=[1])),
    "user a string": click(lambda p: p.update(user="U0ALICE")),
    "team a list": click(lambda p: p.update(team=[1])),
    "container a string": click(lambda p: p.update(container="x")),
    "type null": click(lambda p: p.update(type=None)),
    "event null": event(None),
    "event a string": event("x"),
    "event a list": event([1]),
    "event type null": event({"type": None}),
    "message text a list": event(
        {"type": "message", "text": [1], "user": "U1", "channel": "C1", "ts": "1.1"}
    ),
    "home user a list": event({"type": "app_home_opened", "tab": "home", "user": [1]}),
    "payload null": urlencode({"payload": "null"}).encode(),
    "payload a list": urlencode({"payload": "[1]"}).encode(),
    "a JSON list": b"[1, 2]",
    "shortcut without callback_id": urlencode(
        {"payload": json.dumps({"type": "shortcut", "user": {"id": "U1"}, "trigger_id": "1.2"})}
    ).encode(),
}


@pytest.fixture
def app(fake: FakeSlack, tmp_path: Path) -> Any:
    with running(settings_for(fake, tmp_path / "data"), fake) as slack:
        yield slack


@pytest.mark.parametrize("name", list(MALFORMED))
def test_a_malformed_shape_gets_a_4xx_and_no_error_line(
    app: Slack, caplog: pytest.LogCaptureFixture, name: str
) -> None:
    status, _ = app.post(MALFORMED[name])
    assert 400 <= status < 500
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    app.settle()
    assert app.fake.calls("chat.postMessage") == []


def test_well_formed_bodies_pass_the_shape_check() -> None:
    assert problem(a_click()) is None
    assert (
        problem(
            {
                "type": "event_callback",
                "event": {"type": "channel_created", "channel": {"id": "C1"}},
            }
        )
        is None
    )  # an event we do not read


def test_refusals_are_logged_once_per_interval_with_a_count(
    app: Slack, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Seconds(100.0)
    install(RefusalThrottle(60, clock=clock))
    caplog.set_level(logging.INFO)

    def refusals() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.getMessage().startswith("refused")]

    for _ in range(50):
        status, _ = app.post(b"command=/llm-cost", secret="not-the-secret")
        assert status == 401
    (first,) = refusals()
    assert first.startswith("refused a request: ") and "more like it" not in first
    clock.now += 30
    app.post(b"command=/llm-cost", secret="not-the-secret")
    assert len(refusals()) == 1  # still the same minute
    clock.now += 30
    app.post(b"command=/llm-cost", secret="not-the-secret")
    second = refusals()[-1]
    assert second.endswith("(and 50 more like it in the last 60 s)")
    # Another kind of refusal has its own line.
    app.post(MALFORMED["actions=[null]"])
    assert refusals()[-1].startswith("refused a malformed block_actions request")


def test_the_throttle_leaves_other_lines_alone() -> None:
    clock = Seconds(100.0)
    throttle = RefusalThrottle(60, clock=clock)

    def record(msg: str, *args: object) -> logging.LogRecord:
        return logging.LogRecord("bot.slack.wsgi", logging.WARNING, "x", 1, msg, args, None)

    assert [throttle.filter(record("database %s", "stalled")) for _ in range(3)] == [True] * 3
    assert [throttle.filter(record("refused a request: %s", "bad")) for _ in range(3)] == [
        True,
        False,
        False,
    ]
    clock.now += 60
    passed = record("refused a request: %s (100%% sure)", "bad")
    assert throttle.filter(passed)
    assert passed.getMessage() == (
        "refused a request: bad (100% sure) (and 2 more like it in the last 60 s)"
    )
