"""The HTTP front's loop leaves a response to its request thread while the thread
writes (`GuardedChannel.writable`), yet every response still arrives whole: one
larger than the socket's buffers, and one over the output buffer's high watermark
(where the thread may wait for the loop to drain it)."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from waitress import wasyncore
from waitress.adjustments import Adjustments
from waitress.task import ThreadedTaskDispatcher

from bot.slack.http_guard import FloodLimits, GuardedChannel, GuardedServer

CHUNK = b"x" * 65536
CHUNKS = 64  # 4 MiB: far more than a loopback socket buffers


def _app(environ: dict, start_response) -> Iterator[bytes]:
    start_response("200 OK", [("Content-Length", str(len(CHUNK) * CHUNKS))])
    for _ in range(CHUNKS):
        yield CHUNK


@contextmanager
def _serving(**adjust: int) -> Iterator[GuardedServer]:
    adj = Adjustments(host="127.0.0.1", port=0, threads=2, **adjust)
    dispatcher = ThreadedTaskDispatcher()
    dispatcher.set_thread_count(adj.threads)
    server = GuardedServer(
        _app, {}, dispatcher=dispatcher, adj=adj, sockinfo=adj.listen[0], limits=FloodLimits()
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.task_dispatcher.shutdown(cancel_pending=True, timeout=5)
        # Closed by the loop's own thread, so its select never meets a closed socket.
        server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
        thread.join(timeout=10)


@pytest.mark.parametrize(
    "adjust",
    [{}, {"outbuf_high_watermark": 4 * len(CHUNK)}],
    ids=["bigger-than-socket-buffers", "over-the-high-watermark"],
)
def test_a_large_response_arrives_whole(adjust: dict[str, int]) -> None:
    with _serving(**adjust) as server:
        for _ in range(2):  # and the keep-alive connection serves the next one too
            conn = http.client.HTTPConnection("127.0.0.1", server.effective_port, timeout=30)
            conn.request("GET", "/")
            response = conn.getresponse()
            assert response.status == 200
            assert response.read() == CHUNK * CHUNKS
            conn.close()


class _Channel(GuardedChannel):
    """Only the state `writable` reads."""

    def __init__(self, *, requests: int, buffered: int, closing: bool = False) -> None:
        self.requests = [object()] * requests
        self.total_outbufs_len = buffered
        self.will_close = closing
        self.close_when_flushed = False
        self.adj = Adjustments(outbuf_high_watermark=100)


def test_the_loop_writes_only_when_no_thread_is_writing_or_it_must() -> None:
    assert not _Channel(requests=1, buffered=10).writable()  # the thread sends it
    assert _Channel(requests=0, buffered=10).writable()  # left over: the loop sends it
    assert _Channel(requests=1, buffered=101).writable()  # the thread waits for the loop
    assert _Channel(requests=1, buffered=0, closing=True).writable()
    assert not _Channel(requests=0, buffered=0).writable()
