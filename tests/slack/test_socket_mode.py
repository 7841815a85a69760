"""Socket Mode (the Procfile's `worker`): `python -m bot run` with SLACK_APP_TOKEN opens
a WebSocket to Slack and gets the same commands, clicks and messages as envelopes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qsl

import pytest

from bot.testing.slack_api import FakeSlack
from bot.testing.slack_requests import block_actions_payload, message_event, slash_command_body
from bot.testing.socket_mode import FakeSocketMode
from bot.testing.waiting import wait_until
from tests.slack.harness import ALICE, CHANNEL, SECRET, TEAM, click_fields, text_of
from tests.slack.test_scenarios import headline

REPO = Path(__file__).parents[2]


@pytest.fixture
def socket_mode_app(fake: FakeSlack, tmp_path: Path):
    with socket_mode_process(fake, tmp_path, SLACK_BOT_TOKEN="xoxb-test-token") as socket_mode:
        yield socket_mode


@contextmanager
def socket_mode_process(fake: FakeSlack, tmp_path: Path, **env_vars: str):
    """`python -m bot run` in Socket Mode against the fake (``env_vars`` on top), once
    it has connected; stopped afterwards."""
    with FakeSocketMode() as socket_mode:
        fake.socket_mode_url = socket_mode.url
        env = {k: v for k, v in os.environ.items() if "PROXY" not in k.upper()}
        env.pop("SLACK_BOT_TOKEN", None)
        env.update(
            SLACK_APP_TOKEN="xapp-1-A0001-1-test",
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL=fake.base_url,
            DATA_DIR=str(tmp_path / "data"),
            DATABASE_URL="",
            LOG_LEVEL="INFO",
            TMPDIR=str(tmp_path),  # its CPU claim (SERVER_CPU=auto) is its own
            **env_vars,
        )
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            env=env,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            try:
                socket_mode.wait_connected(timeout=30)
            except AssertionError:
                process.kill()
                raise AssertionError(process.communicate()[1][-3000:]) from None
            yield socket_mode
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_a_whole_conversation_over_socket_mode(
    fake: FakeSlack, socket_mode_app: FakeSocketMode
) -> None:
    socket_mode = socket_mode_app
    assert [c.token for c in fake.calls("apps.connections.open")] == ["xapp-1-A0001-1-test"]

    command = dict(
        parse_qsl(
            slash_command_body(
                team_id=TEAM,
                channel_id=CHANNEL,
                user_id=ALICE,
                response_url=fake.response_url("sm"),
            ).decode()
        )
    )
    ack = socket_mode.wait_ack(socket_mode.send("slash_commands", command))
    assert not (ack.get("payload") or {}).get("text"), ack  # acked quietly, no error text
    question = wait_for_question(fake, "training or inference")
    root = next(m for m in fake.messages(CHANNEL) if not m.get("thread_ts"))
    assert question["thread_ts"] == root["ts"]

    click(fake, socket_mode, question, "Training")
    question = wait_for_question(fake, "How large is the model")

    typed = message_event(
        text="we fine-tune a 7B model",
        user_id=ALICE,
        channel_id=CHANNEL,
        ts=f"{time.time():.6f}",
        thread_ts=root["ts"],
        team_id=TEAM,
    )
    socket_mode.wait_ack(socket_mode.send("events_api", typed))
    question = wait_for_question(fake, "raw performance or the lowest cost")

    click(fake, socket_mode, question, "Cost")
    question = wait_for_question(fake, "Which storage need")
    click(fake, socket_mode, question, "Active")

    title = headline("P4d", "EBS")
    wait_until(lambda: title in text_of(root_of(fake)), timeout=15)
    wait_until(lambda: root["ts"] in fake.pins(CHANNEL), timeout=15)
    assert title in text_of(fake.messages_in_thread(CHANNEL, root["ts"])[-1])


def click(fake: FakeSlack, socket_mode: FakeSocketMode, message: dict, label: str) -> None:
    fields = click_fields(
        message,
        label,
        user=ALICE,
        channel=CHANNEL,
        team=TEAM,
        response_url=fake.response_url("sm-click"),
    )
    payload = block_actions_payload(**fields)
    socket_mode.wait_ack(socket_mode.send("interactive", payload))


def root_of(fake: FakeSlack) -> dict:
    return next(m for m in fake.messages(CHANNEL) if not m.get("thread_ts"))


def wait_for_question(fake: FakeSlack, words: str) -> dict:
    """The newest thread message with buttons, once it asks ``words``."""
    found: list[dict] = []

    def asked() -> bool:
        for message in reversed(fake.messages(CHANNEL)):
            if message.get("thread_ts") and any(
                b.get("type") == "actions" for b in message.get("blocks") or []
            ):
                found[:] = [message]
                return words.lower() in text_of(message).lower()
        return False

    wait_until(asked, timeout=15)
    return found[0]
