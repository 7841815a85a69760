"""OAuth mode in Socket Mode (issue 20): events come over the socket, installs over
the HTTP server that runs beside it, and each call goes with its workspace's token."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl

from bot.testing.slack_api import FakeSlack
from bot.testing.slack_requests import slash_command_body
from bot.testing.waiting import wait_until
from tests.slack.harness import ALICE
from tests.slack.ports import reserve_port
from tests.slack.test_oauth import CHANNEL_OF, A, install
from tests.slack.test_socket_mode import socket_mode_process


def test_socket_mode_with_oauth(fake: FakeSlack, tmp_path: Path) -> None:
    held = reserve_port()  # the install pages' port, until the app has stopped
    port = held.getsockname()[1]
    oauth = {
        "SLACK_CLIENT_ID": fake.oauth.client_id,
        "SLACK_CLIENT_SECRET": fake.oauth.client_secret,
        "HOST": "127.0.0.1",
        "PORT": str(port),
    }
    with held, socket_mode_process(fake, tmp_path, **oauth) as socket_mode:
        install(f"http://127.0.0.1:{port}", A, fake=fake)
        token = f"xoxb-{A}-1"
        command = dict(
            parse_qsl(
                slash_command_body(
                    team_id=A,
                    channel_id=CHANNEL_OF[A],
                    user_id=ALICE,
                    response_url=fake.response_url("sm"),
                ).decode()
            )
        )
        socket_mode.wait_ack(socket_mode.send("slash_commands", command))
        wait_until(lambda: len(fake.calls("chat.postMessage")) >= 2, timeout=15)
        posts = fake.calls("chat.postMessage")
        assert {c.token for c in posts} == {token}
        assert {c.params["channel"] for c in posts} == {CHANNEL_OF[A]}
