"""KeepAliveWebClient: one connection reused, idle closes survived, errors as slack_sdk's."""

from __future__ import annotations

import socket
import threading

import pytest
from slack_sdk.errors import SlackApiError

from bot.slack.keepalive import KeepAliveWebClient
from bot.testing.slack_api import FakeSlack


def client_for(base_url: str) -> KeepAliveWebClient:
    client = KeepAliveWebClient(token="xoxb-test", base_url=base_url, timeout=5)
    client.proxy = None
    return client


def test_calls_reuse_one_connection(fake: FakeSlack) -> None:
    client = client_for(fake.base_url)
    for n in range(5):
        assert client.chat_postMessage(channel="C1", text=f"hello {n}")["ok"]
    pool = client._local.pool
    assert len(pool) == 1
    assert len(fake.calls("chat.postMessage")) == 5


def test_429_and_errors_surface_as_slack_sdk_does(fake: FakeSlack) -> None:
    client = client_for(fake.base_url)
    fake.fail_next("chat.postMessage", status=429, retry_after=3)
    with pytest.raises(SlackApiError) as caught:
        client.chat_postMessage(channel="C1", text="hi")
    assert caught.value.response.status_code == 429
    assert caught.value.response.headers["Retry-After"] == "3"
    fake.fail_next("chat.postMessage", error="not_in_channel")
    with pytest.raises(SlackApiError) as caught:
        client.chat_postMessage(channel="C1", text="hi")
    assert caught.value.response["error"] == "not_in_channel"
    assert client.chat_postMessage(channel="C1", text="after")["ok"]


def test_a_connection_the_server_closed_while_idle_is_replaced() -> None:
    """A server that closes every connection after one answer (as a load balancer
    closing idle connections would): each call still succeeds, on a new connection."""
    body = b'{"ok": true, "channel": "C1", "ts": "1.0"}'
    served = []
    closed = threading.Semaphore(0)

    def serve(listener: socket.socket) -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                if not conn.recv(65536):
                    continue
                served.append(1)  # counted before answering: the client cannot outrun it
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
                )
            closed.release()  # idle and closed before the client's next call

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    threading.Thread(target=serve, args=(listener,), daemon=True).start()
    try:
        client = client_for(f"http://127.0.0.1:{listener.getsockname()[1]}/api/")
        for _ in range(3):
            assert client.chat_postMessage(channel="C1", text="hi")["ts"] == "1.0"
            assert closed.acquire(timeout=10)
        assert len(served) == 3
    finally:
        listener.close()
