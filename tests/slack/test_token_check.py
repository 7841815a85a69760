"""Slack's word on the bot token is checked with auth.test before anything is ended
(issue 21 item 3): one invalid_auth among good answers ends nothing; a confirmed
refusal ends conversations and turns /healthz to 503; a token that works again is
said to, and /healthz turns 200."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.slack.token_health import TokenHealth, Unsure
from bot.testing.slack_api import FakeSlack
from tests.slack.fake_clock import Seconds
from tests.slack.harness import CHANNEL, running, settings_for, text_of
from tests.slack.test_edge import get
from tests.slack.test_scenarios import start


def test_a_single_invalid_auth_among_good_answers_ends_nothing(
    fake: FakeSlack, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with running(settings_for(fake, tmp_path / "data"), fake) as slack:
        checks = len(fake.calls("auth.test"))  # those of the start-up
        start(slack)
        fake.fail_next("chat.postMessage", error="invalid_auth")  # the next question's post
        for label in ("Training", "10-100B params", "Active"):
            slack.answer(label)
        # Nothing ended: nobody was told of a revoked token, and the run reached its result.
        assert not fake.calls("response_url")
        assert fake.pins(CHANNEL) == [slack.root()["ts"]]
        assert "Estimate the cost" in text_of(slack.current())
        runtime = slack.apps[0].runtime
        assert runtime.token.refused is None
        status, body = get(slack.apps[0].base_url + "/healthz")
        assert status == 200 and body["slack"] == "ok"
        start(slack, channel="C0TWO")  # a second conversation starts as usual
    failed = [c for c in fake.calls("chat.postMessage") if c.error == "invalid_auth"]
    assert len(failed) == 1
    assert len(fake.calls("auth.test")) == checks + 1  # the one check
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("auth.test accepts the bot token" in m for m in warned)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_refused_token_that_works_again_says_so_and_healthz_turns_200(
    fake: FakeSlack, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with running(settings_for(fake, tmp_path / "data"), fake) as slack:
        token = slack.apps[0].runtime.token
        fake.revoke_token("invalid_auth")
        slack.command()
        slack.settle()
        assert token.refused == "invalid_auth"
        status, body = get(slack.apps[0].base_url + "/healthz")
        assert status == 503 and body == {
            "ok": False,
            "database": "ok",
            "slack": "token refused: invalid_auth",
        }
        fake.restore_token()
        assert token.recheck(force=True)  # as the maintenance pass does, once a minute
        status, body = get(slack.apps[0].base_url + "/healthz")
        assert status == 200 and body["slack"] == "ok"
        start(slack, channel="C0TWO")  # messages flow again
    said = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("accepts the bot token for workspace T0001 again" in m for m in said)


def test_token_health_asks_once_for_failures_together_and_rechecks_at_most_each_interval() -> None:
    answers: list[str | Exception | None] = [None, "invalid_auth", "invalid_auth", None]
    asked: list[float] = []
    clock = Seconds(0.0)

    def check() -> str | None:
        asked.append(clock.now)
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    token = TokenHealth("T1", check=check, clock=clock, recheck_every=60, fresh_for=2)
    assert not token.confirm("invalid_auth")  # auth.test accepts: nothing ends
    assert not token.confirm("invalid_auth")  # a second thread, same moment: no new ask
    assert asked == [0.0]
    clock.now = 5
    assert token.confirm("token_revoked")  # auth.test refuses too: confirmed
    assert token.refused == "invalid_auth"
    clock.now = 30
    assert not token.recheck()  # not due yet: no call
    assert asked == [0.0, 5]
    clock.now = 65
    assert not token.recheck()  # due: still refused
    clock.now = 100
    assert not token.recheck()  # not due again until 125
    clock.now = 125
    assert token.recheck() and token.refused is None
    assert asked == [0.0, 5, 65, 125]


def test_an_unclear_auth_test_decides_nothing() -> None:
    def check() -> str | None:
        raise Unsure("http_500")

    token = TokenHealth("T1", check=check)
    assert not token.confirm("invalid_auth")
    assert token.refused is None


def test_without_a_check_a_dead_token_answer_is_taken_at_its_word() -> None:
    token = TokenHealth("T1")
    assert token.confirm("token_revoked") and token.refused == "token_revoked"
