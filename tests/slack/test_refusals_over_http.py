"""The refusals that reached nobody (issue 21 item 6), over HTTP against the real app:
channel_not_found on pins.add reaches the person in the thread; on chat.getPermalink,
views.publish and conversations.open (which nobody else sees) it is one WARNING line
with the method, the error and what to do."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from bot.slack.home import SHORTCUT_CALLBACK
from bot.slack.refusal_table import refusal_for
from bot.testing.slack_api import FakeSlack
from bot.testing.slack_requests import app_home_opened_body
from tests.slack.harness import ALICE, CHANNEL, TEAM, Slack, running, settings_for, text_of
from tests.slack.test_scenarios import start


@pytest.fixture
def app(fake: FakeSlack, tmp_path: Path) -> Any:
    with running(settings_for(fake, tmp_path / "data"), fake) as slack:
        yield slack


def warned(caplog: pytest.LogCaptureFixture, method: str) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and r.getMessage().startswith(f"Slack refused {method}")
    ]


def assert_one_actionable_line(caplog: pytest.LogCaptureFixture, method: str) -> None:
    (line,) = warned(caplog, method)
    assert "with channel_not_found" in line
    assert line.endswith("to fix: " + refusal_for(method, "channel_not_found").fix)
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_pins_add_channel_not_found_tells_the_person_in_the_thread(app: Slack) -> None:
    app.fake.fail_next("pins.add", error="channel_not_found")
    start(app)
    for label in ("Training", "10-100B params", "Active"):
        app.answer(label)
    assert app.fake.pins(CHANNEL) == []
    note = text_of(app.thread()[-1])
    assert "couldn't pin the recommendation" in note and "invite me back" in note


def test_get_permalink_channel_not_found_is_one_actionable_line(
    app: Slack, caplog: pytest.LogCaptureFixture
) -> None:
    app.fake.fail_next("chat.getPermalink", error="channel_not_found")
    start(app)
    app.fake.wait_for("chat.getPermalink")
    app.settle()
    assert_one_actionable_line(caplog, "chat.getPermalink")
    app.answer("Training")  # the conversation goes on
    assert "How large is the model" in text_of(app.current())


def test_views_publish_channel_not_found_is_one_actionable_line(
    app: Slack, caplog: pytest.LogCaptureFixture
) -> None:
    app.fake.fail_next("views.publish", error="channel_not_found")
    status, _ = app.post(app_home_opened_body(user_id=ALICE, channel_id=f"D{ALICE}", team_id=TEAM))
    assert status == 200
    app.fake.wait_for("views.publish")
    app.settle()
    assert_one_actionable_line(caplog, "views.publish")


def test_conversations_open_channel_not_found_is_one_actionable_line(
    app: Slack, caplog: pytest.LogCaptureFixture
) -> None:
    app.fake.fail_next("conversations.open", error="channel_not_found")
    status, body = app.shortcut(SHORTCUT_CALLBACK)
    assert status == 200 and not (body and json.loads(body).get("text"))
    app.fake.wait_for("conversations.open")
    app.settle()
    assert_one_actionable_line(caplog, "conversations.open")
