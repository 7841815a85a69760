"""A slack_sdk WebClient that keeps its HTTP connections open (one per thread).

slack_sdk's sync client opens a new connection, and over HTTPS a new TLS
handshake, for every call. The outbox sends several messages per step, so this
client reuses one connection per thread and host instead. It replaces only the
transport (`_perform_urllib_http_request_internal`); slack_sdk still builds the
request and parses the answer, including 429s and errors (raised here as
`HTTPError`, exactly as urllib does). With a proxy configured it falls back to
urllib.
"""

from __future__ import annotations

import http.client
import io
import logging
import ssl
import threading
from typing import Any
from urllib.error import HTTPError
from urllib.parse import urlsplit
from urllib.request import Request

from slack_sdk import WebClient

_STALE = (
    http.client.RemoteDisconnected,
    ConnectionResetError,
    BrokenPipeError,
    http.client.CannotSendRequest,
)


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
        for attempt in (0, 1):
            conn, reused = self._connection(parts.scheme, parts.hostname, parts.port)
            try:
                conn.request(req.get_method(), path, body=req.data, headers=headers)
                response = conn.getresponse()
                body = response.read()
            except _STALE:
                self._drop(parts.scheme, parts.hostname, parts.port)
                if reused and attempt == 0:
                    continue  # the server closed an idle connection: once more on a new one
                raise
            except BaseException:
                self._drop(parts.scheme, parts.hostname, parts.port)
                raise
            if response.will_close:
                self._drop(parts.scheme, parts.hostname, parts.port)
            if response.status >= 400:
                raise HTTPError(
                    url, response.status, response.reason, response.msg, io.BytesIO(body)
                )
            charset = response.msg.get_content_charset() or "utf-8"
            return {
                "status": response.status,
                "headers": response.msg,
                "body": body.decode(charset),
            }
        raise AssertionError("unreachable")

    def _connection(
        self, scheme: str, host: str, port: int | None
    ) -> tuple[http.client.HTTPConnection, bool]:
        pool: dict[tuple[str, str, int | None], http.client.HTTPConnection] = (
            self._local.__dict__.setdefault("pool", {})
        )
        key = (scheme, host, port)
        conn = pool.get(key)
        if conn is not None:
            return conn, True
        if scheme == "https":
            context = self.ssl or ssl.create_default_context()
            conn = http.client.HTTPSConnection(host, port, timeout=self.timeout, context=context)
        else:
            conn = http.client.HTTPConnection(host, port, timeout=self.timeout)
        pool[key] = conn
        return conn, False

    def _drop(self, scheme: str, host: str, port: int | None) -> None:
        conn = self._local.__dict__.get("pool", {}).pop((scheme, host, port), None)
        if conn is not None:
            conn.close()
