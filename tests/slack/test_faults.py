"""Fault injection: Slack failing for a while, the database going away, a process killed."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from bot.settings import Settings
from bot.testing.slack_api import FakeSlack
from tests.pg_server_lock import ServerLock
from tests.slack.harness import ALICE, CHANNEL, processes, running, settings_for, text_of
from tests.slack.tcp_proxy import TcpProxy
from tests.slack.test_scenarios import assert_finished, start


@pytest.mark.realtime  # Slack fails for 1.5 s of real time
def test_slack_500s_and_timeouts_for_a_while_then_recovers(fake: FakeSlack, tmp_path: Path) -> None:
    settings = settings_for(fake, tmp_path / "data", slack_api_timeout=0.3)
    with running(settings, fake) as slack:
        root = start(slack)
        fake.fail_for("chat.postMessage", 1.5, status=500)
        fake.fail_for("chat.update", 1.5, status=503)
        slack.answer("Training")
        fake.fail_next("chat.postMessage", delay=0.6, error="internal_error", times=2)
        slack.say("7B", thread_ts=root["ts"])
        slack.settle(timeout=30)
        slack.answer("Cost")
        slack.answer("Active")
        slack.settle(timeout=30)
        assert_finished(slack, "P4d", "EBS")
        assert not slack.apps[0].runtime.store.failed_outbox()
        statuses = {c.status for c in fake.calls() if c.method.startswith("chat.")}
        assert {503, 200} <= statuses
        assert any(c.error == "internal_error" for c in fake.calls("chat.postMessage"))
        questions = [m for m in slack.thread() if "buttons" not in m and "?" in text_of(m)]
        assert len({text_of(q).split("\n")[0] for q in questions}) == len(questions), (
            "a question was posted twice"
        )


@pytest.mark.postgres
def test_database_unreachable_then_back(fake: FakeSlack, tmp_path: Path, pg_url: str) -> None:
    """The network to PostgreSQL is cut (connections reset, new ones refused), then
    restored."""
    parts = urlsplit(pg_url)
    proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    via_proxy = urlunsplit(parts._replace(netloc=f"{parts.username}@127.0.0.1:{proxy.port}"))
    try:
        settings = settings_for(fake, tmp_path / "d", database_url=via_proxy)
        outage_scenario(settings, fake, proxy.cut, proxy.restore)
    finally:
        proxy.close()


@pytest.mark.postgres
def test_postgresql_stopped_then_started(
    fake: FakeSlack, tmp_path: Path, pg_url: str, pg_server_lock: ServerLock
) -> None:
    """The PostgreSQL server itself is stopped (it terminates every session) and started
    again. This stops the whole cluster, so it runs only where TEST_PG_CLUSTER names one
    that may be stopped ("<version> <name>", as for pg_ctlcluster; .ci/run sets it), and
    only while no other xdist worker's test is using it (tests/pg_server_lock.py)."""
    cluster = os.environ.get("TEST_PG_CLUSTER", "").split()
    if len(cluster) != 2 or not shutil.which("pg_ctlcluster"):
        pytest.skip(
            "set TEST_PG_CLUSTER='<version> <name>' (pg_ctlcluster) to let this test stop "
            "and start that PostgreSQL cluster"
        )

    def pg_ctl(action: str, *extra: str) -> None:
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", *cluster, action, *extra],
            check=True,
            capture_output=True,
            timeout=60,
        )

    def start_and_wait() -> None:
        pg_ctl("start")
        deadline = time.monotonic() + 30
        while subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1"], check=False).returncode:
            assert time.monotonic() < deadline, "PostgreSQL did not come back"
            time.sleep(0.2)

    with pg_server_lock.exclusive():
        try:
            settings = settings_for(fake, tmp_path / "d", database_url=pg_url)
            outage_scenario(settings, fake, lambda: pg_ctl("stop", "-m", "fast"), start_and_wait)
        finally:
            if subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1"], check=False).returncode:
                start_and_wait()  # never leave the suite without its database


def outage_scenario(
    settings: Settings, fake: FakeSlack, go_down: Callable[[], None], come_back: Callable[[], None]
) -> None:
    """While the database is down people are told to try again; nothing crashes, and
    afterwards the conversation continues from where it was."""
    with running(settings, fake) as slack:
        root = start(slack)
        question = slack.current()
        go_down()
        status, body = slack.command()
        assert status == 200 and "try again in a minute" in json.loads(body)["text"]
        assert slack.click(question, "Inference")[0] == 200
        assert "try again" in fake.calls("response_url")[-1].params["text"]
        assert slack.say("inference", thread_ts=root["ts"])[0] == 200
        assert any("try again" in text_of(e) for e in fake.ephemerals(CHANNEL, ALICE))
        health = slack.apps[0].url.replace("/slack/events", "/healthz")
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(health, timeout=10)
        assert caught.value.code == 503
        time.sleep(0.5)  # the deliverer keeps running through the outage
        come_back()
        slack.answer("Inference")
        for label in ("Ultra-low <100ms", "Medium", "No Cache"):
            slack.answer(label)
        assert_finished(slack, "P5eInf", "Direct")
        # Four clicks, each editing the one message: into the next question, the last
        # into the result.
        assert len(slack.thread()) == 1


@pytest.mark.postgres
@pytest.mark.realtime  # the survivor takes over once the victim's 2 s lease runs out
def test_one_of_two_processes_killed_mid_run(fake: FakeSlack, tmp_path: Path, pg_url: str) -> None:
    """SIGKILL one app process while conversations are under way: none is lost or stuck;
    the survivor takes over its undelivered messages once their lease runs out."""
    with processes(fake, pg_url, tmp_path / "d", OUTBOX_LEASE_SECONDS="2") as slack:
        channels = [f"CKILL{i}" for i in range(6)]
        for channel in channels:
            start(slack, channel=channel)
            slack.answer("Training", channel=channel)
        victim, survivor = slack.apps
        for channel in channels:  # clicks land on both processes, alternately
            slack.click(slack.current(channel), "10-100B params", channel=channel)
        os.kill(victim.process.pid, signal.SIGKILL)
        victim.process.wait(timeout=10)
        slack.apps = [survivor]
        slack.settle(timeout=30)
        for channel in channels:
            current = slack.current(channel)
            if "How large is the model" in text_of(current):  # that click died with the victim
                slack.answer("10-100B params", channel=channel)
            slack.answer("Checkpoints", channel=channel)
        for channel in channels:
            assert_finished(slack, "P5en", "S3Std", channel)


def test_a_post_that_timed_out_but_went_through_is_not_posted_twice(
    fake: FakeSlack, tmp_path: Path
) -> None:
    """Slack is slow: the app gives up waiting, yet the message was posted. Before trying
    again the app looks for it (by the marker in its metadata) and keeps that one."""
    settings = settings_for(fake, tmp_path / "data", slack_api_timeout=0.3)
    with running(settings, fake) as slack:
        fake.fail_next("chat.postMessage", delay=0.45)  # the root: a slow success
        start(slack)
        slack.settle(timeout=30)
        assert len([m for m in fake.messages(CHANNEL) if not m.get("thread_ts")]) == 1
        assert fake.calls("conversations.history")
        fake.fail_next("chat.postMessage", delay=0.45)  # the next question, likewise
        slack.say("training", thread_ts=slack.root()["ts"])  # typed: posted under the reply
        slack.settle(timeout=30)
        asked = [m for m in slack.thread() if "How large is the model" in text_of(m)]
        assert len(asked) == 1, "the question was posted twice"
        assert fake.calls("conversations.replies")
        for label in ("1-10B params", "Cost", "Active"):
            slack.answer(label)
        assert_finished(slack, "P4d", "EBS")
        questions = [m for m in slack.thread() if "?" in text_of(m).split("\n")[0]]
        assert len({text_of(q).split("\n")[0] for q in questions}) == len(questions)
