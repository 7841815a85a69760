"""The HTTP front: waitress, with a per-address cap and a request timeout added.

waitress reads every request whole on its event loop (headers and body) before a
request thread sees it, so connections that send a partial request, or nothing,
cost a socket and a little memory but never a thread. A body over `MAX_BODY` gets
413 as soon as its declared length (or a chunked body's running size) passes the
limit, without being read into memory.

A socket is still a slot, and waitress stops accepting at its connection limit, so
one client holding a thousand sockets used to take the app off the air. Three limits
keep the slots for Slack (`HttpLimits`; `bot.slack.http_guard` adds the two that
waitress lacks):

* a cap on open connections per client address (`HTTP_CONNECTIONS_PER_ADDRESS`);
* a request must arrive whole within `HTTP_REQUEST_TIMEOUT` of its first byte (or of
  the connection, if it sends nothing), whatever it trickles in meanwhile; idle
  keep-alive connections close after `HTTP_IDLE_TIMEOUT`;
* the connection limit is sized to the file descriptors the process may open
  (`raise_descriptor_limit` lifts the soft limit to the hard one first).
"""

from __future__ import annotations

import logging
import resource
import signal
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import FrameType

from waitress.adjustments import Adjustments
from waitress.server import MultiSocketServer
from waitress.task import ThreadedTaskDispatcher

from bot.settings import Settings
from bot.slack.http_guard import FloodLimits, GuardedServer

log = logging.getLogger(__name__)

#: Slack's payloads are a few kB; a message with 50 blocks stays well under this.
MAX_BODY = 1 << 20
#: Descriptors kept for everything but HTTP connections: database and Slack API
#: connections, log and SQLite files, the server's own sockets.
RESERVED_DESCRIPTORS = 256
#: The soft descriptor limit is raised at most this far (when the hard one allows).
DESCRIPTOR_TARGET = 65536

Wsgi = Callable[[dict, Callable], Iterable[bytes]]
Server = GuardedServer | MultiSocketServer


@dataclass(frozen=True)
class HttpLimits:
    """The front's limits (seconds and counts); settings `HTTP_*` in .env.example."""

    #: Request threads. A thread only ever sees a request whose body has arrived whole.
    threads: int = 8
    #: Seconds a keep-alive connection may sit idle between requests.
    idle_timeout: float = 30.0
    #: Seconds a request may take to arrive whole, from its first byte.
    request_timeout: float = 10.0
    #: Open connections per client address (0: no cap, as behind a load balancer).
    per_address: int = 64
    #: Open connections in all (0: what the file descriptors allow).
    connection_limit: int = 0

    @classmethod
    def from_settings(cls, settings: Settings) -> HttpLimits:
        return cls(
            threads=settings.http_threads,
            idle_timeout=settings.http_idle_timeout,
            request_timeout=settings.http_request_timeout,
            per_address=settings.http_connections_per_address,
            connection_limit=settings.http_connection_limit,
        )

    def connections(self) -> int:
        """The connection limit: as set, or the soft descriptor limit less a reserve."""
        if self.connection_limit:
            return self.connection_limit
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft == resource.RLIM_INFINITY:
            soft = DESCRIPTOR_TARGET
        return max(64, soft - RESERVED_DESCRIPTORS)


def raise_descriptor_limit() -> int:
    """Lift the soft limit on open files towards the hard one (up to
    `DESCRIPTOR_TARGET`); return the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = DESCRIPTOR_TARGET if hard == resource.RLIM_INFINITY else min(hard, DESCRIPTOR_TARGET)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            log.warning("could not raise the open-file limit from %d to %d", soft, target)
    return soft


def make_server(app: Wsgi, host: str, port: int, limits: HttpLimits | None = None) -> Server:
    """A guarded waitress server bound to ``host:port`` (0: any free port), not yet
    running; one listening socket per address ``host`` resolves to."""
    limits = limits or HttpLimits()
    adj = Adjustments(
        host=host,
        port=port,
        threads=limits.threads,
        max_request_body_size=MAX_BODY,
        channel_timeout=limits.idle_timeout,
        cleanup_interval=max(1, round(min(limits.idle_timeout, limits.request_timeout) / 4)),
        connection_limit=limits.connections(),
        asyncore_use_poll=True,  # poll() has no select()'s 1024-descriptor bound
        expose_tracebacks=False,
        ident="llm-cost-bot",
        clear_untrusted_proxy_headers=True,
    )
    flood = FloodLimits(request_timeout=limits.request_timeout, per_address=limits.per_address)
    dispatcher = ThreadedTaskDispatcher()
    dispatcher.set_thread_count(adj.threads)
    socket_map: dict = {}
    servers = [
        GuardedServer(app, socket_map, dispatcher=dispatcher, adj=adj, sockinfo=info, limits=flood)
        for info in adj.listen
    ]
    if len(servers) == 1:
        return servers[0]
    listening = [(s.effective_host, s.effective_port) for s in servers]
    return MultiSocketServer(socket_map, adj, listening, dispatcher, servers[-1].log_info)


def serve_forever(server: Server) -> None:
    """Serve until SIGTERM or SIGINT; requests under way are finished first."""

    def stop(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    log.info("serving HTTP on %s", _address(server))
    server.run()  # returns after closing its sockets on SystemExit / KeyboardInterrupt


def _address(server: Server) -> str:
    if isinstance(server, MultiSocketServer):
        return ", ".join(f"{h}:{p}" for h, p in server.effective_listen)
    host, port = server.effective_host, server.effective_port
    return f"{host}:{port}"
