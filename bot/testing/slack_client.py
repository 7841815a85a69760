"""Sending a request as Slack does: `sign` adds Slack's signature headers, and
`SlackClientSim` posts signed bodies over keep-alive connections (as Slack's own
senders do), so a test or a benchmark reaches the app the way Slack reaches it."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import socket
import time
from urllib.parse import urlsplit

__all__ = ["SlackClientSim", "sign"]


def sign(body: bytes, secret: str, timestamp: int | None = None) -> dict[str, str]:
    """Headers Slack adds to a request: signature, timestamp and Content-Type."""
    ts = str(int(time.time()) if timestamp is None else int(timestamp))
    base = b"v0:" + ts.encode() + b":" + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    is_json = body.lstrip()[:1] in (b"{", b"[")
    return {
        "Content-Type": "application/json" if is_json else "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": f"v0={digest}",
    }


class SlackClientSim:
    """Posts signed requests like Slack, over persistent keep-alive connections.

    ``post`` returns ``(status, headers, body)`` with lower-cased header names.
    A connection the server closed while idle is reopened once (only when no
    byte of the response arrived).
    """

    def __init__(self, timeout: float = 10.0) -> None:
        self.timeout = timeout
        self._conns: dict[tuple[str, int], http.client.HTTPConnection] = {}
        self.connects = 0  # connections opened, for keep-alive checks

    def _conn(self, host: str, port: int, fresh: bool = False) -> http.client.HTTPConnection:
        conn = self._conns.get((host, port))
        if conn is None or fresh:
            if conn is not None:
                conn.close()
            conn = http.client.HTTPConnection(host, port, timeout=self.timeout)
            self._conns[(host, port)] = conn
        if conn.sock is None:
            conn.connect()
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.connects += 1
        return conn

    def post(
        self,
        url: str,
        body: bytes,
        *,
        secret: str,
        headers_extra: dict[str, str] | None = None,
        timestamp: int | None = None,
        retry_num: int | None = None,
        retry_reason: str | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(url)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        headers = sign(body, secret, timestamp)
        headers["User-Agent"] = "Slackbot 1.0 (+https://api.slack.com/robots)"
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
        if retry_reason is not None:
            headers["X-Slack-Retry-Reason"] = retry_reason
        if headers_extra:
            headers.update(headers_extra)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        for attempt in (0, 1):
            before = self.connects
            conn = self._conn(host, port, fresh=attempt > 0)
            opened_now = self.connects != before
            try:
                conn.request("POST", path, body=body, headers=headers)
                resp = conn.getresponse()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                conn.close()
                if attempt or opened_now:
                    raise
                continue
            data = resp.read()
            out_headers = {k.lower(): v for k, v in resp.getheaders()}
            if resp.will_close:
                conn.close()
            return resp.status, out_headers, data
        raise AssertionError("unreachable")

    def close(self) -> None:
        for conn in self._conns.values():
            conn.close()
        self._conns.clear()

    def __enter__(self) -> SlackClientSim:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
