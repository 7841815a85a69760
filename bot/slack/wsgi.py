"""WSGI entry point: POST /slack/events (Bolt) and GET /healthz.

gunicorn imports `bot.slack.wsgi:application`; each worker builds its own
runtime (store, client, outbox deliverer thread) on its first request.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable, Iterator

from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot.slack.runtime import Runtime

Wsgi = Callable[[dict, Callable], Iterable[bytes]]
EVENTS_PATH = "/slack/events"
log = logging.getLogger(__name__)


def make_wsgi(runtime: Runtime) -> Wsgi:
    """Route requests to Bolt or the health check; everything else is a 404."""
    bolt = SlackRequestHandler(runtime.app, path=EVENTS_PATH)

    def application(environ: dict, start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == EVENTS_PATH and method == "POST":
            deliverer = runtime.deliverer
            deliverer.hold()  # messages go once the ack is on its way (see _ThenLetGo)
            try:
                return _ThenLetGo(bolt(environ, start_response), deliverer.let_go)
            except Exception as exc:  # a malformed body must not be a 5xx
                deliverer.let_go()
                log.warning("unreadable request refused: %s", type(exc).__name__)
                return _json(start_response, "400 Bad Request", {"error": "bad request"})
        if path == "/healthz" and method in ("GET", "HEAD"):
            ok = runtime.store.healthy()
            return _json(
                start_response,
                "200 OK" if ok else "503 Service Unavailable",
                {"ok": ok, "database": "ok" if ok else "unreachable"},
            )
        return _json(start_response, "404 Not Found", {"error": "not found"})

    return application


class _ThenLetGo:
    """A response body whose ``close()`` (which the server calls after writing the
    response, PEP 3333) hands this request's messages to the sender threads."""

    def __init__(self, body: Iterable[bytes], after: Callable[[], None]) -> None:
        self._body = body
        self._after = after

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._body)

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            self._after()


def _json(start_response: Callable, status: str, data: dict) -> list[bytes]:
    body = json.dumps(data).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]


_lock = threading.Lock()
_app: Wsgi | None = None


def warm() -> Wsgi:
    """Build this process's runtime once (gunicorn calls it as each worker starts)."""
    global _app
    if _app is None:
        with _lock:
            if _app is None:
                from bot.cli_app import build_runtime

                _app = make_wsgi(build_runtime().start().settle())
    return _app


def application(environ: dict, start_response: Callable) -> Iterable[bytes]:
    """The gunicorn entry point."""
    return (_app or warm())(environ, start_response)
