"""The HTTP front: waitress, chosen because it holds up against slow and hostile clients.

waitress reads every request whole on its event loop (headers and body) before a
request thread sees it, so connections that send a partial request, or nothing,
cost a socket and a little memory but never a thread: `/healthz` and Slack's own
requests keep being answered. A body over `MAX_BODY` gets 413 as soon as its
declared length (or a chunked body's running size) passes the limit, without being
read into memory; idle connections are closed after `IDLE_TIMEOUT`.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable, Iterable
from types import FrameType

from waitress.server import BaseWSGIServer, MultiSocketServer, create_server

log = logging.getLogger(__name__)

#: Slack's payloads are a few kB; a message with 50 blocks stays well under this.
MAX_BODY = 1 << 20
#: Seconds a connection may sit without sending or receiving before it is closed.
IDLE_TIMEOUT = 30
#: Open connections at most (idle, partial and working ones); past this the server
#: stops accepting until some close. poll() has no select()'s 1024-descriptor bound.
CONNECTION_LIMIT = 1000

Wsgi = Callable[[dict, Callable], Iterable[bytes]]
Server = BaseWSGIServer | MultiSocketServer


def make_server(app: Wsgi, host: str, port: int, threads: int) -> Server:
    """A waitress server bound to ``host:port`` (0: any free port), not yet running."""
    return create_server(
        app,
        host=host,
        port=port,
        threads=threads,
        max_request_body_size=MAX_BODY,
        channel_timeout=IDLE_TIMEOUT,
        cleanup_interval=max(1, IDLE_TIMEOUT // 3),
        connection_limit=CONNECTION_LIMIT,
        asyncore_use_poll=True,
        expose_tracebacks=False,
        ident="llm-cost-bot",
        clear_untrusted_proxy_headers=True,
    )


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
