"""A post whose connection dies after the request was sent appears exactly once.

A loopback HTTP hop in front of the fake Slack reads the first chat.postMessage
request, passes it on to the fake (Slack posted it) or not (Slack never saw it), and
hangs up without answering. Nothing under the outbox may resend that request on its
own (slack_sdk's retry handlers, a keep-alive reconnect); the outbox looks for the
post by its marker before it tries again.
"""

from __future__ import annotations

import http.client
import socket
import threading
from pathlib import Path

import pytest

from bot.testing.slack_api import FakeSlack
from tests.slack.harness import CHANNEL, running, settings_for, text_of


class HangUpOnFirstPost:
    """An HTTP/1.1 hop to ``target``; the first call of ``method`` gets no answer."""

    def __init__(
        self, target: FakeSlack, forward_it: bool, method: str = "chat.postMessage"
    ) -> None:
        self.target = target
        self.forward_it = forward_it
        self.method = method
        self.hung_up = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def close(self) -> None:
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        reader = client.makefile("rb")
        with client, reader:
            while request := _read_request(reader):
                method, path, headers, body = request
                first_post = path.endswith(self.method) and not self.hung_up.is_set()
                if first_post and not self.forward_it:
                    self.hung_up.set()
                    return
                status, reply_headers, reply = self._forward(method, path, headers, body)
                if first_post:
                    self.hung_up.set()
                    return  # Slack did it; the answer is lost on the way back
                head = f"HTTP/1.1 {status} X\r\n" + "".join(
                    f"{k}: {v}\r\n" for k, v in reply_headers if k.lower() != "content-length"
                )
                client.sendall(head.encode() + f"Content-Length: {len(reply)}\r\n\r\n".encode())
                client.sendall(reply)

    def _forward(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.target.port, timeout=10)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            conn.close()


def _read_request(reader) -> tuple[str, str, dict[str, str], bytes] | None:
    line = reader.readline()
    if not line:
        return None
    method, path, _ = line.decode().split(" ", 2)
    headers: dict[str, str] = {}
    while (header := reader.readline()) not in (b"\r\n", b""):
        name, value = header.decode().split(":", 1)
        headers[name.strip()] = value.strip()
    length = int(headers.get("Content-Length", "0"))
    return method, path, headers, reader.read(length)


@pytest.mark.parametrize("forward_it", [True, False], ids=["slack-posted-it", "slack-never-saw-it"])
def test_a_post_whose_answer_is_lost_appears_exactly_once(
    fake: FakeSlack, tmp_path: Path, forward_it: bool
) -> None:
    hop = HangUpOnFirstPost(fake, forward_it)
    settings = settings_for(fake, tmp_path / "data", slack_api_timeout=1.0)
    settings = settings.model_copy(update={"slack_api_url": hop.base_url})
    try:
        with running(settings, fake) as slack:
            status, _ = slack.command()
            assert status == 200
            assert hop.hung_up.wait(10), "the app never posted"
            slack.settle(timeout=30)
            roots = [m for m in fake.messages(CHANNEL) if not m.get("thread_ts")]
            assert len(roots) == 1, [text_of(m) for m in roots]
            assert "training or inference" in text_of(slack.current())
            posts = fake.calls("chat.postMessage")
            assert len(posts) == 2, [c.params for c in posts]  # the root once, then q1
    finally:
        hop.close()
