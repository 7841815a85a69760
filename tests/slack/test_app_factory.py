"""create_app: how the Bolt app is built."""

from __future__ import annotations

import gc
import logging
import os
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from bot.cli.cpu import allowed_cpus
from bot.slack.app import create_app
from bot.slack.keepalive import KeepAliveWebClient
from bot.slack.token_health import TokenHealth
from bot.testing.slack_api import FakeSlack
from tests.slack.harness import processes, settings_for, text_of


def test_no_false_alarm_about_the_token_from_the_environment(
    fake: FakeSlack, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Deployed, SLACK_BOT_TOKEN is in the environment; Bolt reads it too and would warn
    at every start that it goes unused because we hand it a client."""
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-from-the-environment")
    client = KeepAliveWebClient(token="xoxb-test", base_url=fake.base_url)
    client.proxy = None
    with caplog.at_level(logging.INFO):
        moves = SimpleNamespace(command="/llm-cost")
        app = create_app(
            client=client,
            signing_secret="secret",
            moves=moves,  # type: ignore[arg-type]
            people=SimpleNamespace(),  # type: ignore[arg-type]
            token=TokenHealth(),
        )
    assert app.client is client
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
    # Other warnings still get through.
    app.logger.warning("something else")
    assert "something else" in caplog.text


def test_a_tuned_server_leaves_its_startup_heap_out_of_collections(
    fake: FakeSlack, tmp_path: Path
) -> None:
    """`python -m bot run` tunes the process once its runtime has started: full
    collections must not walk the startup heap again (they paused every thread for tens
    of ms), and threads switch at the interval measured best (`SWITCH_INTERVAL`)."""
    from bot.cli.app import SWITCH_INTERVAL, tune_long_running_process
    from bot.slack.runtime import Runtime

    runtime = Runtime.create(settings_for(fake, tmp_path / "data"))
    interval = sys.getswitchinterval()
    try:
        gc.unfreeze()
        sys.setswitchinterval(SWITCH_INTERVAL / 3)  # not what it sets
        tune_long_running_process()
        assert gc.get_freeze_count() > 10_000  # flows, Bolt, SQLAlchemy: the objects so far
        assert sys.getswitchinterval() == SWITCH_INTERVAL
    finally:
        gc.unfreeze()
        sys.setswitchinterval(interval)
        runtime.stop()


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or len(allowed_cpus()) < 2,
    reason="needs Linux and a process allowed on two CPUs or more",
)
@pytest.mark.parametrize("setting", ["auto", "last"])
def test_a_served_process_keeps_every_thread_on_one_cpu(
    setting: str, fake: FakeSlack, tmp_path: Path
) -> None:
    """`python -m bot run` with SERVER_CPU (the default, and a CPU named): each thread it
    runs (request threads, the outbox's senders, the loop) stays on one CPU while it
    serves a conversation. Its temp directory is its own, so no other test's server
    holds a CPU claim there."""
    chosen = str(max(allowed_cpus())) if setting == "last" else setting
    url = f"sqlite:///{tmp_path / 'bot.sqlite3'}"
    env = {"SERVER_CPU": chosen, "TMPDIR": str(tmp_path)}
    with processes(fake, url, tmp_path, copies=1, **env) as slack:
        status, body = slack.command()
        assert status == 200, body
        slack.settle()
        assert "Training" in text_of(slack.current())
        pid = slack.apps[0].process.pid
        allowed = {
            tid: _cpus_allowed(f"/proc/{pid}/task/{tid}/status")
            for tid in os.listdir(f"/proc/{pid}/task")
        }
    assert len(allowed) > 8  # waitress's request threads at least
    cpus = set(allowed.values())
    assert len(cpus) == 1 and cpus.pop().isdigit(), allowed
    if setting == "last":
        assert set(allowed.values()) == {chosen}, allowed


def _cpus_allowed(status: str) -> str:
    with open(status, encoding="ascii") as f:
        return next(line.split()[1] for line in f if line.startswith("Cpus_allowed_list:"))
