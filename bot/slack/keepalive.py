"""A slack_sdk WebClient that keeps its HTTP connections open (one per thread).

slack_sdk's sync client opens a new connection, and over HTTPS a new TLS
handshake, for every call. The outbox sends several messages per step, so this
client reuses one connection per thread and host instead. It replaces only the
transport (`_perform_urllib_http_request_internal`); slack_sdk still builds the
request and parses the answer, including 429s and errors (raised here as
`HTTPError`, exactly as urllib does). With a proxy configured it falls back to
urllib. It sends each request once: a connection the server closed while idle is
replaced before sending, and slack_sdk's own retry handlers are off, so that only
the outbox's retry policy ever repeats a call (after looking for an uncertain post).
"""

from __future__ import annotations

import http.client
import io
import logging
import select
import ssl
import threading
from typing import Any
from urllib.error import HTTPError
from urllib.parse import urlsplit
from urllib.request import Request

from slack_sdk import WebClient


def _dropped(conn: http.client.HTTPConnection) -> bool:
    """True when an idle connection can no longer be used: the server closed it (a
    readable idle socket means end-of-file, or bytes nobody asked for). Checked before
    a request is sent, so a request is only ever sent once: a failure after sending is
    reported, never retried here."""
    sock = conn.sock
    if sock is None:
        return True
    poller = select.poll()  # not select(): descriptors past 1024 are common in a server
    try:
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(0))
    except (OSError, ValueError):
        return True


def _api_logger() -> logging.Logger:
    """A logger for API calls with its level set. slack_sdk formats every request
    body into a debug message whenever its logger's own level is unset (it tests
    ``logger.level``, not whether debug is on): a fifth of each call's CPU."""
    api_log = logging.getLogger("bot.slack.api")
    if api_log.level == logging.NOTSET:
        debug = logging.getLogger().isEnabledFor(logging.DEBUG)
        api_log.setLevel(logging.DEBUG if debug else logging.INFO)
    return api_log


class KeepAliveWebClient(WebClient):
    """`WebClient` with persistent connections; otherwise identical."""

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("logger", _api_logger())
        kwargs["retry_handlers"] = []  # see the module docstring
        super().__init__(*args, **kwargs)
        self._local = threading.local()

    def _perform_urllib_http_request_internal(self, url: str, req: Request) -> dict[str, Any]:
        if self.proxy:
            return super()._perform_urllib_http_request_internal(url, req)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return super()._perform_urllib_http_request_internal(url, req)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        headers = dict(req.header_items())
        key = (parts.scheme, parts.hostname, parts.port)
        conn = self._connection(*key)
        try:
            conn.request(req.get_method(), path, body=req.data, headers=headers)
            response = conn.getresponse()
            body = response.read()
        except BaseException:
            # The request may have reached Slack (a post may exist): never resent here.
            # The outbox's retry policy decides, after looking for the post.
            self._drop(*key)
            raise
        if response.will_close:
            self._drop(*key)
        if response.status >= 400:
            raise HTTPError(url, response.status, response.reason, response.msg, io.BytesIO(body))
        charset = response.msg.get_content_charset() or "utf-8"
        return {"status": response.status, "headers": response.msg, "body": body.decode(charset)}

    def _connection(self, scheme: str, host: str, port: int | None) -> http.client.HTTPConnection:
        """This thread's open connection to the host, or a new one."""
        pool: dict[tuple[str, str, int | None], http.client.HTTPConnection] = (
            self._local.__dict__.setdefault("pool", {})
        )
        key = (scheme, host, port)
        conn = pool.get(key)
        if conn is not None and not _dropped(conn):
            return conn
        if conn is not None:
            conn.close()  # the server closed it while idle: nothing was sent on it
        if scheme == "https":
            context = self.ssl or ssl.create_default_context()
            conn = http.client.HTTPSConnection(host, port, timeout=self.timeout, context=context)
        else:
            conn = http.client.HTTPConnection(host, port, timeout=self.timeout)
        pool[key] = conn
        return conn

    def _drop(self, scheme: str, host: str, port: int | None) -> None:
        conn = self._local.__dict__.get("pool", {}).pop((scheme, host, port), None)
        if conn is not None:
            conn.close()
