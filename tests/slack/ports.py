"""Loopback ports held for a test's listener, which no other worker can take meanwhile."""

from __future__ import annotations

import socket


def reserve_port() -> socket.socket:
    """A loopback port for a listener (an app process, the TCP proxy), held by a bound
    socket (its port: ``getsockname()[1]``) that the caller closes once the listener is
    gone for good.

    A port found by binding port 0 and closing the socket was free for anyone until the
    app bound it, seconds later: under xdist another worker's server could be given it
    in between, and then this test's health check and requests reached that server
    while its own app failed to start. A socket bound with SO_REUSEADDR, never
    listening, keeps the port from every other bind to port 0 and from connect()'s
    choice of a local port (net.ipv4.ip_autobind_reuse, off by default), while the
    app, which binds with SO_REUSEADDR too (waitress does), may still bind and listen
    on it (Linux socket(7): only a listening socket on the address stops such a bind).
    """
    held = socket.socket()
    held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    held.bind(("127.0.0.1", 0))
    return held
