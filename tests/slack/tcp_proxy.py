"""A loopback TCP forwarder that a test can break the ways a network to a database breaks.

* `cut()`: every connection is reset and new ones are refused; `restore()` listens again,
  on the same port, which the proxy holds until `close()` (`reserve_port`).
* `freeze()`: a partition. Sockets stay open, connections are still accepted, and nothing
  moves either way until `thaw()`, when what was held back is delivered in order.
* `failover()`: the connections open now hang for good (what they send is swallowed, the
  database side is left open, as a server behind a dead primary would be); connections
  made afterwards work.

The test is ordered by events, not sleeps: `held` is set once some bytes were held back
or swallowed, i.e. a client is now waiting on the broken network; `holding()` counts
such chunks and `wait_holding(n)` waits for more than ``n`` (the next client to wait).
"""

from __future__ import annotations

import contextlib
import socket
import threading

from tests.slack.ports import reserve_port


class _Link:
    """One proxied connection; ``hung`` once a failover left it behind."""

    def __init__(self, client: socket.socket, upstream: socket.socket) -> None:
        self.client = client
        self.upstream = upstream
        self.hung = False


class TcpProxy:
    """Forwards 127.0.0.1:<port> to a target; see the module doc for the faults."""

    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self._reserved = reserve_port()
        self.port: int = self._reserved.getsockname()[1]
        self.held = threading.Event()
        self._held_chunks = 0
        self._server: socket.socket | None = None
        self._links: list[_Link] = []
        self._frozen = False
        self._cond = threading.Condition()
        self.restore()

    def restore(self) -> None:
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen(64)
        self._server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()

    def cut(self) -> None:
        with self._cond:
            server, self._server = self._server, None
            links, self._links = self._links, []
            self._frozen = False
            self._cond.notify_all()
        if server is not None:
            server.close()
        for link in links:
            for sock in (link.client, link.upstream):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()

    def close(self) -> None:
        """Cut every connection and give the port up."""
        self.cut()
        self._reserved.close()

    def freeze(self) -> None:
        """From now on nothing is forwarded (returns once that holds)."""
        with self._cond:
            self.held.clear()
            self._frozen = True

    def thaw(self) -> None:
        """Forward again, starting with what was held back."""
        with self._cond:
            self._frozen = False
            self._cond.notify_all()

    def failover(self) -> None:
        """Connections open now hang for good; new ones work (and nothing is frozen)."""
        with self._cond:
            self.held.clear()
            for link in self._links:
                link.hung = True
            self._frozen = False
            self._cond.notify_all()

    def connections(self) -> int:
        """Connections that still forward (neither hung nor closed)."""
        with self._cond:
            return sum(1 for link in self._links if not link.hung)

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            link = _Link(client, upstream)
            with self._cond:
                if self._server is not server:
                    client.close()
                    upstream.close()
                    return
                self._links.append(link)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(link, a, b), daemon=True).start()

    def holding(self) -> int:
        """Chunks held back or swallowed so far."""
        with self._cond:
            return self._held_chunks

    def wait_holding(self, more_than: int, timeout: float = 30.0) -> None:
        """Until more than ``more_than`` chunks were held back or swallowed."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._held_chunks > more_than, timeout):
                raise AssertionError("no client sent anything into the broken network")

    def _hold(self) -> None:
        self._held_chunks += 1
        self.held.set()
        self._cond.notify_all()

    def _pass(self, link: _Link) -> bool:
        """Wait out a freeze; False when ``link`` hangs (what it carries is swallowed)."""
        with self._cond:
            if self._frozen and not link.hung:
                self._hold()
                while self._frozen and not link.hung:
                    self._cond.wait()
            if link.hung:
                self._hold()
                return False
            return True

    def _pipe(self, link: _Link, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not self._pass(link):
                    if not data:
                        return  # the other side stays open: a hung peer never says goodbye
                    continue
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
