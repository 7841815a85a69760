"""One client floods the HTTP front with connections; Slack's requests still get in.

The flood comes from 127.0.0.2 and Slack from 127.0.0.1 (both loopback), so the
per-address cap can tell them apart. The app runs with the connection limit waitress
had before (1,000): without the cap, 1,500 connections from one client fill it and
waitress stops accepting anyone.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import resource
import select
import socket
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.slack.http_guard import GuardedServer
from bot.slack.http_server import (
    DESCRIPTOR_TARGET,
    RESERVED_DESCRIPTORS,
    HttpLimits,
    raise_descriptor_limit,
)
from bot.testing.slack_api import FakeSlack
from bot.testing.waiting import wait_until
from tests.slack.harness import Slack, running, settings_for

FLOOD_FROM = "127.0.0.2"
FLOOD_SIZE = 1500
CAP = 50
#: Slack's own limit on an answer; the only timing this file asserts.
SLACK_LIMIT = 3.0
#: Headers that never end: a slowloris request.
HALF_SENT = b"POST /slack/events HTTP/1.1\r\nHost: app\r\nContent-Length: 40\r\nX-Slow: "

#: Waiting until the server's event loop has caught up with what the test sent.
SERVER_BEHIND = "the server did not see the connections"


@pytest.fixture
def descriptors() -> Iterator[None]:
    """Room for the flood's both ends in this one process."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = 4 * FLOOD_SIZE
    if soft != resource.RLIM_INFINITY and soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            pytest.skip(f"needs {needed} open files; the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


class Flood:
    """``size`` connections from `FLOOD_FROM`, each sending ``payload`` (or nothing),
    reopened whenever the server closes one, until `stop()`."""

    def __init__(self, port: int, size: int, payload: bytes) -> None:
        self.port = port
        self.size = size
        self.payload = payload
        self.half_open = threading.Event()
        self.all_open = threading.Event()
        self.reopened = 0
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._socks: dict[int, socket.socket] = {}
        self._thread = threading.Thread(target=self._run, name="flood", daemon=True)

    def __enter__(self) -> Flood:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)
        for sock in self._socks.values():
            sock.close()

    def _open(self, poller: select.poll) -> None:
        sock = socket.socket()
        sock.bind((FLOOD_FROM, 0))
        try:
            sock.connect(("127.0.0.1", self.port))
            if self.payload:
                sock.sendall(self.payload)
        except OSError:  # refused or closed at once: the cap at work; open another
            sock.close()
            return
        self._socks[sock.fileno()] = sock
        poller.register(sock, select.POLLIN)

    def _run(self) -> None:
        try:
            self._flood()
        except BaseException as exc:  # shown by check(), not lost in a thread
            self.error = exc
            self.half_open.set()
            self.all_open.set()

    def check(self) -> None:
        if self.error is not None:
            raise AssertionError(f"the flood failed: {self.error!r}") from self.error

    def _flood(self) -> None:
        poller = select.poll()
        while len(self._socks) < self.size and not self._stop.is_set():
            self._open(poller)
            if len(self._socks) >= self.size // 2:
                self.half_open.set()
        self.half_open.set()
        self.all_open.set()
        while not self._stop.is_set():
            for fd, _ in poller.poll(50):  # readable: the server closed it
                sock = self._socks.pop(fd)
                poller.unregister(fd)
                sock.close()
                self.reopened += 1
                self._open(poller)


def in_time(call: Callable[[], tuple[int, bytes]]) -> tuple[int, bytes]:
    began = time.monotonic()
    result = call()
    took = time.monotonic() - began
    assert took < SLACK_LIMIT, f"answered after {took:.2f}s, past Slack's {SLACK_LIMIT}s"
    return result


def healthz(slack: Slack) -> tuple[int, bytes]:
    with urllib.request.urlopen(slack.apps[0].base_url + "/healthz", timeout=30) as response:
        return response.status, response.read()


def answered(slack: Slack, channel: str) -> None:
    """A signed slash command and /healthz, both answered within Slack's limit."""
    status, body = in_time(lambda: slack.command(channel=channel))
    assert status == 200 and not (body and json.loads(body).get("text")), body
    assert in_time(lambda: healthz(slack))[0] == 200


@pytest.mark.parametrize("payload", [b"", HALF_SENT], ids=["idle", "slowloris"])
def test_one_address_cannot_starve_slack(
    fake: FakeSlack, tmp_path: Path, descriptors: None, payload: bytes
) -> None:
    settings = settings_for(
        fake,
        tmp_path / "data",
        http_connection_limit=1000,
        http_connections_per_address=CAP,
    )
    with running(settings, fake) as slack:
        server = slack.apps[0].server
        assert isinstance(server, GuardedServer)
        slack.client.timeout = 30  # a starved request shows as a failed 3 s check
        with Flood(int(server.effective_port), FLOOD_SIZE, payload) as flood:
            assert flood.half_open.wait(120)
            flood.check()
            answered(slack, "CFLOOD1")
            assert flood.all_open.wait(120)
            flood.check()
            answered(slack, "CFLOOD2")
            answered(slack, "CFLOOD3")
            assert server.peers[FLOOD_FROM] <= CAP
            assert flood.reopened > 0, "the flood never had a connection closed"
            flood.check()
        # Every connection that closed, on either side, was counted off its address.
        wait_until(lambda: server.peers[FLOOD_FROM] == 0, 30, SERVER_BEHIND)
        slack.settle(timeout=30)
        for channel in ("CFLOOD1", "CFLOOD2", "CFLOOD3"):
            assert "training or inference" in json.dumps(slack.current(channel))


def test_requests_that_never_complete_are_closed_idle_keepalives_are_not(
    fake: FakeSlack, tmp_path: Path
) -> None:
    """`HTTP_REQUEST_TIMEOUT` closes a connection still sending its request (however
    recently it sent a byte) or that never sent one; an idle keep-alive connection
    waits for `HTTP_IDLE_TIMEOUT`. The server's maintenance pass is run with a clock
    eleven seconds ahead instead of waiting for it."""
    settings = settings_for(
        fake, tmp_path / "data", http_request_timeout=10, http_idle_timeout=3600
    )
    with running(settings, fake) as slack:
        server = slack.apps[0].server
        assert isinstance(server, GuardedServer)
        port = int(server.effective_port)
        kept = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        kept.request("GET", "/healthz")
        assert kept.getresponse().read()
        partial = socket.create_connection(("127.0.0.1", port), timeout=30)
        partial.sendall(HALF_SENT)
        silent = socket.create_connection(("127.0.0.1", port), timeout=30)
        wait_until(lambda: len(server.active_channels) == 3, 30, SERVER_BEHIND)
        requests = server.active_channels.values
        wait_until(lambda: any(c.request is not None for c in requests()), 30, SERVER_BEHIND)
        server.maintenance(time.time() + 11)
        assert partial.recv(1) == b""
        assert silent.recv(1) == b""
        kept.request("GET", "/healthz")
        assert kept.getresponse().status == 200
        with contextlib.suppress(OSError):
            kept.close()
        partial.close()
        silent.close()


def test_the_connection_limit_is_sized_to_the_descriptors(descriptors: None) -> None:
    """Start-up lifts the soft open-file limit towards the hard one, and the server
    takes every descriptor but a reserve for connections, unless told a number."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))
    raised = raise_descriptor_limit()
    expected = DESCRIPTOR_TARGET if hard == resource.RLIM_INFINITY else min(hard, DESCRIPTOR_TARGET)
    assert raised == expected == resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    assert HttpLimits().connections() == raised - RESERVED_DESCRIPTORS
    assert HttpLimits(connection_limit=500).connections() == 500
