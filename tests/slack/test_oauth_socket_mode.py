"""OAuth mode in Socket Mode (issue 20): events come over the socket, installs over
the HTTP server that runs beside it, and each call goes with its workspace's token."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qsl

from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_requests import slash_command_body
from tests.fakes.socket_mode import FakeSocketMode, wait_until
from tests.slack.harness import ALICE, SECRET, free_port
from tests.slack.test_oauth import CHANNEL_OF, A, install

REPO = Path(__file__).parents[2]


def test_socket_mode_with_oauth(fake: FakeSlack, tmp_path: Path) -> None:
    port = free_port()
    with FakeSocketMode() as socket_mode:
        fake.socket_mode_url = socket_mode.url
        env = {k: v for k, v in os.environ.items() if "PROXY" not in k.upper()}
        env.pop("SLACK_BOT_TOKEN", None)
        env.update(
            SLACK_APP_TOKEN="xapp-1-A0001-1-test",
            SLACK_CLIENT_ID=fake.oauth.client_id,
            SLACK_CLIENT_SECRET=fake.oauth.client_secret,
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL=fake.base_url,
            DATA_DIR=str(tmp_path / "data"),
            DATABASE_URL="",
            HOST="127.0.0.1",
            PORT=str(port),
            LOG_LEVEL="INFO",
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
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
