"""Fairness (issue 21 item 7): repeated starts by one person are rate-limited per
person (and channel), with a private note saying when they can start again."""

from __future__ import annotations

import json
from pathlib import Path

from bot.slack.start_limit import StartLimit, too_soon
from bot.testing.slack_api import FakeSlack
from tests.slack.fake_clock import Seconds
from tests.slack.harness import BOB, CHANNEL, running, settings_for


def test_a_burst_then_one_start_per_interval_per_person() -> None:
    clock = Seconds(1000.0)
    starts = StartLimit(burst=2, every=30, clock=clock)
    assert starts.take("T", "C", "A") == 0
    assert starts.take("T", "C", "A") == 0
    assert starts.take("T", "C", "A") == 30  # the third waits for the bucket to refill
    assert starts.take("T", "C", "B") == 0  # someone else is not held up
    assert starts.take("T", "C2", "A") == 0  # nor the person in another channel
    assert starts.take("T2", "C", "A") == 0  # nor the same ids in another workspace
    clock.now += 10
    assert starts.take("T", "C", "A") == 20  # a refused start takes nothing
    clock.now += 20
    assert starts.take("T", "C", "A") == 0
    assert starts.take("T", "C", "A") == 30
    clock.now += 3600
    assert [starts.take("T", "C", "A") for _ in range(3)] == [0, 0, 30]  # at most burst


def test_the_people_remembered_are_bounded() -> None:
    clock = Seconds(1000.0)
    starts = StartLimit(burst=1, every=60, clock=clock, max_people=2)
    for user in ("A", "B", "C"):
        assert starts.take("T", "C", user) == 0
    assert starts.take("T", "C", "A") == 0  # A was forgotten first: only ever sooner
    assert starts.take("T", "C", "C") == 60


def test_the_note_says_when() -> None:
    assert "start again in 42 seconds with `/llm-cost`" in too_soon(41.2, "/llm-cost")
    assert "start again in 3 minutes" in too_soon(150, "/llm-cost")


def test_a_start_over_the_limit_gets_a_private_note_and_posts_nothing(
    fake: FakeSlack, tmp_path: Path
) -> None:
    settings = settings_for(fake, tmp_path / "data", start_limit_burst=2, start_limit_seconds=3600)
    with running(settings, fake) as slack:
        # `new`: start afresh each time (a bare start with a plan open asks first).
        for token in ("r1", "r2"):
            status, body = slack.command("new", response_token=token)
            assert status == 200 and not (body and json.loads(body).get("text"))
            slack.settle()
        posts = len(fake.calls("chat.postMessage"))
        status, body = slack.command("new", response_token="r3")
        assert status == 200
        note = json.loads(body)
        assert note["response_type"] == "ephemeral"
        assert "start again in 60 minutes" in note["text"]
        slack.settle()
        assert len(fake.calls("chat.postMessage")) == posts  # nothing posted for it
        # Another person in the same channel starts at once.
        roots = len([m for m in fake.messages(CHANNEL) if not m.get("thread_ts")])
        status, body = slack.command(user=BOB, response_token="r4")
        assert status == 200 and not (body and json.loads(body).get("text"))
        slack.settle()
        assert len([m for m in fake.messages(CHANNEL) if not m.get("thread_ts")]) == roots + 1
