"""create_app: how the Bolt app is built."""

from __future__ import annotations

import gc
import logging
from pathlib import Path
from types import SimpleNamespace

import pytest

from bot.slack.app import create_app
from bot.slack.keepalive import KeepAliveWebClient
from bot.slack.token_health import TokenHealth
from bot.testing.slack_api import FakeSlack
from tests.slack.harness import settings_for


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
    import sys

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
