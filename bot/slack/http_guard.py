"""What waitress lacks against connection floods, added to its own server and channel.

waitress reads requests on one event loop and hands only complete ones to threads, so
slow clients never hold a thread. But every connection holds a slot: at
`connection_limit` it stops accepting, and then nobody (Slack included) gets in. Its
`channel_timeout` counts from the last byte received, so a client sending one byte every
few seconds (slowloris) is never timed out, and it has no per-client cap. So:

* `GuardedServer.handle_accept` closes a new connection at once when its client address
  already has `per_address` open (0: no cap; behind a load balancer every client has the
  balancer's address, so the cap must be off there, see README).
* `GuardedServer.maintenance` (waitress calls it every `cleanup_interval` seconds) closes
  a connection whose request is still incomplete `request_timeout` seconds after the
  connection became ready for it: opened, or done with its previous response. Idle
  keep-alive connections keep waitress's own `channel_timeout`.
* `GuardedChannel.writable` keeps the event loop from spinning on a connection whose
  request thread is sending the response (see there): a sixth of the app's CPU under
  load.

Only the TCP peer address counts: X-Forwarded-For is a header, unknown at accept time,
and anyone can write it.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from waitress.channel import HTTPChannel
from waitress.server import TcpWSGIServer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FloodLimits:
    """The front's limits against floods; see `bot.slack.http_server.http_limits`."""

    #: Seconds a connection may take to send a whole request (headers and body).
    request_timeout: float = 10.0
    #: Open connections per client address at most (0: no cap).
    per_address: int = 64


class GuardedChannel(HTTPChannel):
    """A waitress channel that knows since when its current request has been arriving,
    and counts itself against its client address."""

    server: GuardedServer

    def __init__(self, server: GuardedServer, sock: Any, addr: Any, adj: Any, map: Any = None):
        self.peer = _host(addr)
        self.started_any = False
        self.partial_since = 0.0
        super().__init__(server, sock, addr, adj, map)

    def add_channel(self, map: Any = None) -> None:
        super().add_channel(map)
        self.server.peers[self.peer] += 1

    def del_channel(self, map: Any = None) -> None:
        counted = self._fileno in self.server.active_channels
        super().del_channel(map)
        if counted:
            peers = self.server.peers
            peers[self.peer] -= 1
            if peers[self.peer] <= 0:
                del peers[self.peer]

    def writable(self) -> bool:
        """Not while a request thread is answering, unless the loop must act.

        With waitress's default ``send_bytes=1`` that thread sends what it writes
        itself, under the output buffer's lock; the loop asking to write meanwhile
        finds the socket writable at once and the lock taken, and turns again: measured
        under load, ten empty turns per request over every open connection, about a
        sixth of the app's CPU. The loop still writes when the connection is to close,
        when the thread waits for it (output over the high watermark), and when the
        thread is done (waitress wakes the loop then)."""
        if (
            self.requests
            and not self.will_close
            and not self.close_when_flushed
            and self.total_outbufs_len <= self.adj.outbuf_high_watermark
        ):
            return False
        return bool(super().writable())

    def received(self, data: bytes) -> bool:
        if data and self.request is None:
            self.partial_since = time.time()  # a new request's first bytes
            self.started_any = True
        return super().received(data)

    def request_overdue(self, cutoff: float) -> bool:
        """True when a request began arriving before ``cutoff`` and is still incomplete,
        or the connection sent nothing at all since before ``cutoff``."""
        if self.requests or self.will_close:
            return False  # being answered, or closing anyway
        if self.request is not None:
            return self.partial_since < cutoff
        if not self.started_any:
            return self.creation_time < cutoff
        return False  # idle between requests: waitress's channel_timeout applies


class GuardedServer(TcpWSGIServer):
    """waitress's TCP server with a per-address cap and a request timeout."""

    channel_class = GuardedChannel

    def __init__(self, *args: Any, limits: FloodLimits, **kw: Any) -> None:
        self.limits = limits
        self.peers: Counter[str] = Counter()
        self._refused = 0
        self._reported_at = 0.0
        super().__init__(*args, **kw)

    def handle_accept(self) -> None:
        try:
            accepted = self.accept()
        except OSError:
            return
        if accepted is None:
            return
        conn, addr = accepted
        try:
            self.set_socket_options(conn)
        except OSError:  # the client already went away
            conn.close()
            return
        cap = self.limits.per_address
        if cap and self.peers[_host(addr)] >= cap:
            conn.close()
            self._report_refusal(_host(addr))
            return
        self.channel_class(self, conn, self.fix_addr(addr), self.adj, map=self._map)

    def maintenance(self, now: float) -> None:
        super().maintenance(now)
        cutoff = now - self.limits.request_timeout
        for channel in list(self.active_channels.values()):
            if isinstance(channel, GuardedChannel) and channel.request_overdue(cutoff):
                channel.will_close = True

    def _report_refusal(self, host: str) -> None:
        """One WARNING a minute at most, however many connections were refused."""
        self._refused += 1
        now = time.monotonic()
        if now - self._reported_at >= 60:
            log.warning(
                "refused %d connection(s) over HTTP_CONNECTIONS_PER_ADDRESS=%d (latest "
                "from %s); behind a load balancer set it to 0",
                self._refused,
                self.limits.per_address,
                host,
            )
            self._refused = 0
            self._reported_at = now


def _host(addr: Any) -> str:
    return str(addr[0]) if isinstance(addr, tuple) and addr else str(addr)
