"""PostgreSQL stalls under the running app: the network to it freezes (sockets open,
nothing moves), then either thaws or fails over (old connections hang for good, new
ones work). Every request is answered within Slack's 3 s meanwhile, and afterwards the
conversations go on with nothing lost and nothing sent twice.

The proxy orders the test: `freeze()` returns once nothing moves, and `held` says that
a request really waited on the frozen network.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

import pytest

from bot.settings import Settings
from bot.testing.slack_api import FakeSlack
from bot.testing.slack_requests import SlackClientSim, slash_command_body
from bot.testing.waiting import wait_until
from tests.slack.harness import (
    ALICE,
    CHANNEL,
    SECRET,
    TEAM,
    Slack,
    running,
    settings_for,
    text_of,
)
from tests.slack.tcp_proxy import TcpProxy
from tests.slack.test_scenarios import assert_finished

#: Slack's own limit on an answer; the only timing this file asserts.
SLACK_LIMIT = 3.0
OTHER = "C0OTHER"
TRY_AGAIN = "try again in a minute"

T = TypeVar("T")


def in_time(call: Callable[[], T]) -> T:
    """``call()``, which must return within Slack's limit."""
    began = time.monotonic()
    result = call()
    took = time.monotonic() - began
    assert took < SLACK_LIMIT, f"answered after {took:.2f}s, past Slack's {SLACK_LIMIT}s"
    return result


def health(slack: Slack) -> int:
    url = slack.apps[0].base_url + "/healthz"
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.fixture
def proxy(pg_url: str) -> Iterator[TcpProxy]:
    parts = urlsplit(pg_url)
    forwarder = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    yield forwarder
    forwarder.close()


def through(proxy: TcpProxy, pg_url: str) -> str:
    parts = urlsplit(pg_url)
    return urlunsplit(parts._replace(netloc=f"{parts.username}@127.0.0.1:{proxy.port}"))


def stall_settings(fake: FakeSlack, tmp_path: Path, url: str, **extra: float) -> Settings:
    """Limits shorter than production's so the tests are quick: sender threads stuck on
    a hung connection give up after 3 s, and a session a hung client left inside a
    transaction is ended by PostgreSQL after 2 s. A request waits 0.5 s for the database
    (2 s in production), so that a loaded machine's scheduling, not the app, never
    decides whether an answer beats Slack's 3 s."""
    extra.setdefault("db_request_timeout", 0.5)
    return settings_for(
        fake,
        tmp_path / "d",
        database_url=url,
        db_background_timeout=3,
        db_idle_in_transaction_timeout=2,
        db_lock_timeout=1,
        **extra,
    )


def tried_again(fake: FakeSlack) -> int:
    """How many times the app has told someone to try again (any channel)."""
    replies = [c for c in fake.calls("response_url") if TRY_AGAIN in str(c.params.get("text"))]
    notes = [e for e in fake.ephemerals() if TRY_AGAIN in text_of(e)]
    return len(replies) + len(notes)


def until(done: Callable[[], bool], failure: str) -> None:
    """Call ``done`` again, as a person tries again, until it says so. After a probe of a
    silent database failed, the app waits as long as that probe took before it lets a
    request check again (bot/store/breaker.py), so the first tries after the database
    is back may still be told to try again."""
    wait_until(done, 30, failure, every=0.05)


def start_until_saved(
    slack: Slack, channel: str = CHANNEL, failure: str = "the conversation was never started"
) -> dict:
    """Start a conversation, again while told to try again (before any stall too: a
    request waits only 0.5 s for the database here, `stall_settings`, which a loaded
    machine can take on a healthy one through the proxy). The thread's root."""

    def started() -> bool:
        status, body = in_time(lambda: slack.command(channel=channel))
        assert status == 200
        text = json.loads(body).get("text") if body else None
        assert not text or TRY_AGAIN in text, text
        return not text

    until(started, failure)
    slack.settle(timeout=30)
    return slack.root(channel)


def saved(slack: Slack, act: Callable[[], tuple[int, bytes]]) -> bool:
    """Do ``act`` (a request, answered 200 in time): False when it was told to try again."""
    before = tried_again(slack.fake)
    assert in_time(act)[0] == 200
    return tried_again(slack.fake) == before


def say_until_saved(slack: Slack, text: str, thread_ts: str) -> None:
    """Type ``text`` into the thread, again while told to try again (as above)."""
    say = partial(slack.say, text, thread_ts=thread_ts)
    until(lambda: saved(slack, say), f"{text!r} was never saved")


def click_until_saved(slack: Slack, label: str, channel: str = CHANNEL) -> None:
    """Click ``label`` as a person would: again while told to try again, each click
    answered in time."""
    question = slack.current(channel)
    click = partial(slack.click, question, label, channel=channel)
    until(lambda: saved(slack, click), f"the click on {label!r} was never saved")
    slack.settle(timeout=30)


@pytest.mark.postgres
@pytest.mark.realtime  # the database's deadlines (shortened in stall_settings) run out
@pytest.mark.parametrize("recovery", ["thaw", "failover"])
def test_every_request_answered_in_time_through_a_frozen_database(
    fake: FakeSlack, tmp_path: Path, pg_url: str, proxy: TcpProxy, recovery: str
) -> None:
    settings = stall_settings(fake, tmp_path, through(proxy, pg_url))
    with running(settings, fake) as slack:
        root = start_until_saved(slack)
        question = slack.current()
        assert health(slack) == 200

        proxy.freeze()
        status, body = in_time(lambda: slack.command(channel=OTHER))
        assert status == 200 and TRY_AGAIN in json.loads(body)["text"]
        assert proxy.held.is_set(), "the request did not reach the frozen network"
        assert in_time(lambda: slack.click(question, "Inference"))[0] == 200
        assert TRY_AGAIN in fake.calls("response_url")[-1].params["text"]
        assert in_time(lambda: slack.say("inference", thread_ts=root["ts"]))[0] == 200
        assert any(TRY_AGAIN in text_of(e) for e in fake.ephemerals(CHANNEL, ALICE))
        assert in_time(lambda: health(slack)) == 503

        if recovery == "thaw":
            proxy.thaw()
        else:
            proxy.failover()
        # The app finds out for itself that the database is back: /healthz turns 200.
        until(
            lambda: in_time(lambda: health(slack)) == 200,
            "/healthz stayed 503 after the database came back",
        )
        click_until_saved(slack, "Inference")
        for label in ("Ultra-low <100ms", "Medium", "No Cache"):
            click_until_saved(slack, label)
        assert_finished(slack, "P5eInf", "Direct")
        # Each question was posted once: by buttons the thread is one message, each
        # question edited into the next and the last into the result.
        assert len(slack.thread()) == 1

        # The conversation refused during the freeze can be started now.
        status, body = in_time(lambda: slack.command(channel=OTHER))
        assert status == 200 and not (body and json.loads(body).get("text")), body
        slack.settle(timeout=30)
        assert "training or inference" in text_of(slack.current(OTHER))
        assert not slack.apps[0].runtime.store.failed_outbox()


@pytest.mark.postgres
@pytest.mark.parametrize("recovery", ["thaw", "failover"])
def test_a_delivery_under_way_waits_out_the_stall_and_sends_once(
    fake: FakeSlack, tmp_path: Path, pg_url: str, proxy: TcpProxy, recovery: str
) -> None:
    """The database freezes while a sender thread is posting the next question: the
    post goes through, recording it waits on the frozen database. Once the database
    is back the question is in the thread exactly once and the conversation goes on."""
    settings = stall_settings(
        fake, tmp_path, through(proxy, pg_url), outbox_lease_seconds=3, slack_api_timeout=1
    )
    with running(settings, fake) as slack:
        root = start_until_saved(slack)
        posted = len(fake.calls("chat.postMessage"))
        hold = fake.hold_next("chat.postMessage")
        # A typed reply: the next question is a new post under it (a click edits in place).
        say_until_saved(slack, "training", root["ts"])
        assert hold.arrived.wait(30), "no sender thread posted the next question"
        proxy.freeze()
        proxy.wait_holding(0)  # the claim loop now waits on the frozen network
        waiting = proxy.holding()
        hold.release()  # Slack takes the post ...
        fake.wait_for("chat.postMessage", count=posted + 1, timeout=30)
        proxy.wait_holding(waiting)  # ... and recording it waits on the frozen database
        if recovery == "thaw":
            proxy.thaw()
        else:
            proxy.failover()
        slack.settle(timeout=60)
        asked = [m for m in slack.thread() if "How large is the model" in text_of(m)]
        assert len(asked) == 1, f"the question was posted {len(asked)} times"
        for label in ("1-10B params", "Cost", "Active"):
            click_until_saved(slack, label)
        assert_finished(slack, "P4d", "EBS")
        questions = [m for m in slack.thread() if "?" in text_of(m).split("\n")[0]]
        assert len({text_of(q).split("\n")[0] for q in questions}) == len(questions)
        assert not slack.apps[0].runtime.store.failed_outbox()


def command_on_its_own_connection(slack: Slack, channel: str) -> tuple[int, bytes, float]:
    """A signed slash command from its own connection: (status, body, seconds taken)."""
    body = slash_command_body(
        text="",
        user_id=ALICE,
        channel_id=channel,
        team_id=TEAM,
        response_url=slack.fake.response_url(channel),
    )
    with SlackClientSim(timeout=30) as client:
        began = time.monotonic()
        status, _, data = client.post(slack.apps[0].url, body, secret=SECRET)
        return status, data, time.monotonic() - began


@pytest.mark.postgres
def test_many_requests_at_once_through_a_frozen_database(
    fake: FakeSlack, tmp_path: Path, pg_url: str, proxy: TcpProxy
) -> None:
    """Eight slash commands at once on two request threads: one request at a time waits
    to find out whether the database is back, the others are told at once, so none
    waits in line past Slack's 3 s."""
    settings = stall_settings(fake, tmp_path, through(proxy, pg_url), http_threads=2)
    with running(settings, fake) as slack:
        start_until_saved(slack)
        proxy.freeze()
        channels = [f"CBUSY{i}" for i in range(8)]
        with ThreadPoolExecutor(len(channels)) as pool:
            answers = list(pool.map(lambda c: command_on_its_own_connection(slack, c), channels))
        for status, body, took in answers:
            assert status == 200 and TRY_AGAIN in json.loads(body)["text"]
            assert took < SLACK_LIMIT, f"answered after {took:.2f}s, past Slack's {SLACK_LIMIT}s"
        proxy.thaw()

        # The next request to check finds the database back.
        start_until_saved(slack, "CBUSY0", "requests were still refused after it came back")
        assert "training or inference" in text_of(slack.current("CBUSY0"))
